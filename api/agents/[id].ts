import { agentUpdate, agentWire, deleteAgent, updateAgent } from '../../lib/agents/service.js';
import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';

export { OPTIONS } from '../../lib/http/cors.js';

// PATCH /api/agents/{id} – change an agent (name, url, default tool, credentials, timeout, status active/disabled)
export const PATCH = route({ action: 'agents.manage', params: idParams, body: agentUpdate, responses: { 200: agentWire } }, ({ ctx, params, body }) =>
  updateAgent(ctx, params.id, body),
);

// DELETE /api/agents/{id} – remove an agent and its tasks
export const DELETE = route({ action: 'agents.manage', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteAgent(ctx, params.id));
