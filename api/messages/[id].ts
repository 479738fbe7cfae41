import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { deleteDraft, draftUpdate, getMessage, updateDraft } from '../../lib/messages/service.js';
import { messageWire } from '../../lib/messages/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/messages/{id} – one message with its attachments (HTML served sanitised)
export const GET = route({ action: 'threads.read', params: idParams, responses: { 200: messageWire } }, ({ ctx, params }) => getMessage(ctx, params.id));

// PATCH /api/messages/{id} – edit a draft
export const PATCH = route({ action: 'threads.write', params: idParams, body: draftUpdate, responses: { 200: messageWire } }, ({ ctx, params, body }) =>
  updateDraft(ctx, params.id, body),
);

// DELETE /api/messages/{id} – discard a draft
export const DELETE = route({ action: 'threads.write', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteDraft(ctx, params.id));
