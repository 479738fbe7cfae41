import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { cancelRun } from '../../../lib/workflows/service.js';
import { workflowRunDetailWire } from '../../../lib/workflows/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/workflow-runs/{id}/cancel – stop a running or waiting run (its wait ends, its queued steps do nothing)
export const POST = route({ action: 'workflows.manage', params: idParams, responses: { 200: workflowRunDetailWire } }, ({ ctx, params }) =>
  cancelRun(ctx, params.id),
);
