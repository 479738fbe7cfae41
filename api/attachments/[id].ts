import { getAttachment } from '../../lib/attachments/service.js';
import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { attachmentWithDownloadWire } from '../../lib/attachments/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/attachments/{id} – an attachment; a ready one with a signed download URL valid for 5 minutes
export const GET = route({ action: 'threads.read', params: idParams, responses: { 200: attachmentWithDownloadWire } }, ({ ctx, params }) =>
  getAttachment(ctx, params.id),
);
