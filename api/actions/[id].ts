import { actionUpdate, deleteAction, getAction, updateAction } from '../../lib/actions/service.js';
import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { actionWire } from '../../lib/actions/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/actions/{id} – one action
export const GET = route({ action: 'threads.read', params: idParams, responses: { 200: actionWire } }, ({ ctx, params }) => getAction(ctx, params.id));

// PATCH /api/actions/{id} – edit, reassign (the new assignee is notified), change status (done stamps completedAt)
export const PATCH = route({ action: 'threads.write', params: idParams, body: actionUpdate, responses: { 200: actionWire } }, ({ ctx, params, body }) =>
  updateAction(ctx, params.id, body),
);

// DELETE /api/actions/{id} – delete an action
export const DELETE = route({ action: 'threads.delete', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteAction(ctx, params.id));
