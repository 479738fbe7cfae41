import { createUpload, uploadCreate } from '../../lib/attachments/service.js';
import { route } from '../../lib/http/route.js';
import { attachmentUploadWire } from '../../lib/attachments/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// POST /api/attachments/uploads – start an upload: a pending attachment and a signed URL to PUT the file to
export const POST = route({ action: 'threads.write', body: uploadCreate, status: 201, responses: { 201: attachmentUploadWire } }, ({ ctx, body }) =>
  createUpload(ctx, body),
);
