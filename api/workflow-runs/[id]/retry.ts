import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { retryRun } from '../../../lib/workflows/service.js';
import { workflowRunDetailWire } from '../../../lib/workflows/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/workflow-runs/{id}/retry – run a failed run again from the step that failed
export const POST = route({ action: 'workflows.manage', params: idParams, responses: { 200: workflowRunDetailWire } }, ({ ctx, params }) =>
  retryRun(ctx, params.id),
);
