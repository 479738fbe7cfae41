import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { deleteTemplate, getTemplate, templateUpdate, updateTemplate } from '../../lib/templates/service.js';
import { replyTemplateWire } from '../../lib/templates/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/templates/{id} – one reply template
export const GET = route({ action: 'threads.read', params: idParams, responses: { 200: replyTemplateWire } }, ({ ctx, params }) => getTemplate(ctx, params.id));

// PATCH /api/templates/{id} – change a template (a shared one needs templates.manage)
export const PATCH = route(
  { action: 'threads.write', params: idParams, body: templateUpdate, responses: { 200: replyTemplateWire } },
  ({ ctx, params, body }) => updateTemplate(ctx, params.id, body),
);

// DELETE /api/templates/{id} – delete a template (a shared one needs templates.manage)
export const DELETE = route({ action: 'threads.write', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteTemplate(ctx, params.id));
