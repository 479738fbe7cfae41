import { route } from '../../lib/http/route.js';
import { createWorkflow, listWorkflows, workflowCreate, workflowListQuery } from '../../lib/workflows/service.js';
import { workflowPageWire, workflowWire } from '../../lib/workflows/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/workflows – the organization's workflows in priority order; filter trigger, enabled
export const GET = route({ action: 'workflows.manage', query: workflowListQuery, responses: { 200: workflowPageWire } }, ({ ctx, query }) =>
  listWorkflows(ctx, query),
);

// POST /api/workflows – a workflow (trigger, conditions, steps; version 1), disabled unless enabled: true
export const POST = route({ action: 'workflows.manage', body: workflowCreate, status: 201, responses: { 201: workflowWire } }, ({ ctx, body }) =>
  createWorkflow(ctx, body),
);
