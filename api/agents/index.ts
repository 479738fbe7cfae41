import { agentCreate, agentListWire, agentWire, createAgent, listAgents } from '../../lib/agents/service.js';
import { route } from '../../lib/http/route.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/agents – the organization's external agents (MCP servers) to hand threads to; never their credentials
export const GET = route({ action: 'threads.read', responses: { 200: agentListWire } }, ({ ctx }) => listAgents(ctx));

// POST /api/agents – register an agent { name, url, defaultTool?, credentials? { bearerToken?, headers? }, timeoutSeconds? } (public hosts only)
export const POST = route({ action: 'agents.manage', body: agentCreate, status: 201, responses: { 201: agentWire } }, ({ ctx, body }) =>
  createAgent(ctx, body),
);
