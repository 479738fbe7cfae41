import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { listWorkflowRuns, runListQuery } from '../../../lib/workflows/service.js';
import { workflowRunPageWire } from '../../../lib/workflows/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/workflows/{id}/runs – the workflow's runs, newest first; filter status
export const GET = route(
  { action: 'workflows.manage', params: idParams, query: runListQuery, responses: { 200: workflowRunPageWire } },
  ({ ctx, params, query }) => listWorkflowRuns(ctx, params.id, query),
);
