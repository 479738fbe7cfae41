import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { previewTemplate, templatePreviewBody } from '../../../lib/templates/service.js';
import { templatePreviewWire } from '../../../lib/templates/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/templates/{id}/preview – the template rendered on a real thread, listing the variables it has no value for
export const POST = route(
  { action: 'threads.read', params: idParams, body: templatePreviewBody, idempotent: false, responses: { 200: templatePreviewWire } },
  ({ ctx, params, body }) => previewTemplate(ctx, params.id, body),
);
