import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { listThreadRuns, runListQuery } from '../../../lib/workflows/service.js';
import { workflowRunPageWire } from '../../../lib/workflows/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/threads/{id}/workflow-runs – the workflow runs on this thread, newest first; filter status
export const GET = route({ action: 'threads.read', params: idParams, query: runListQuery, responses: { 200: workflowRunPageWire } }, ({ ctx, params, query }) =>
  listThreadRuns(ctx, params.id, query),
);
