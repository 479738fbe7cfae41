import { agentTaskWire, retryAgentTask } from '../../../lib/agents/service.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/agent-tasks/{id}/retry – run a failed or timed-out task again (a fresh deadline and job)
export const POST = route({ action: 'threads.write', params: idParams, responses: { 200: agentTaskWire } }, ({ ctx, params }) =>
  retryAgentTask(ctx, params.id),
);
