import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { getRun } from '../../lib/workflows/service.js';
import { workflowRunDetailWire } from '../../lib/workflows/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/workflow-runs/{id} – a run with each step's status, input, output, error and attempts
export const GET = route({ action: 'threads.read', params: idParams, responses: { 200: workflowRunDetailWire } }, ({ ctx, params }) => getRun(ctx, params.id));
