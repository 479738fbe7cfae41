import { agentTaskCreate, agentTaskListWire, agentTaskWire, handThreadToAgent, listAgentTasks } from '../../../lib/agents/service.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/threads/{id}/agent-tasks – the tasks handed to agents on this thread, newest first, with status, tool calls and result
export const GET = route({ action: 'threads.read', params: idParams, responses: { 200: agentTaskListWire } }, ({ ctx, params }) =>
  listAgentTasks(ctx, params.id),
);

// POST /api/threads/{id}/agent-tasks – hand the thread to an agent's tool { agentId, tool?, instructions?, arguments?, deliverAs: note|draft }: 201 queued
export const POST = route(
  { action: 'threads.write', params: idParams, body: agentTaskCreate, status: 201, responses: { 201: agentTaskWire } },
  ({ ctx, params, body }) => handThreadToAgent(ctx, params.id, body),
);
