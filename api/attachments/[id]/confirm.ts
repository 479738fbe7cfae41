import { confirmUpload } from '../../../lib/attachments/service.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { attachmentWire } from '../../../lib/attachments/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/attachments/{id}/confirm – after the PUT: check size and type, record the SHA-256, mark ready
export const POST = route({ action: 'threads.write', params: idParams, responses: { 200: attachmentWire } }, ({ ctx, params }) =>
  confirmUpload(ctx, params.id),
);
