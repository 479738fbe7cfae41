import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { deleteWorkflow, getWorkflow, updateWorkflow, workflowUpdate } from '../../lib/workflows/service.js';
import { workflowWire } from '../../lib/workflows/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/workflows/{id} – one workflow at its current version
export const GET = route({ action: 'workflows.manage', params: idParams, responses: { 200: workflowWire } }, ({ ctx, params }) => getWorkflow(ctx, params.id));

// PATCH /api/workflows/{id} – rename, enable/disable, reorder; a new trigger, conditions or steps make a new version (runs keep theirs)
export const PATCH = route({ action: 'workflows.manage', params: idParams, body: workflowUpdate, responses: { 200: workflowWire } }, ({ ctx, params, body }) =>
  updateWorkflow(ctx, params.id, body),
);

// DELETE /api/workflows/{id} – delete a workflow, its versions and its runs
export const DELETE = route({ action: 'workflows.manage', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteWorkflow(ctx, params.id));
