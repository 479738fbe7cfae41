import { route } from '../../lib/http/route.js';
import { createEndpoint, endpointCreate, endpointListQuery, listEndpoints } from '../../lib/webhooks/service.js';
import { webhookEndpointPageWire, webhookEndpointWithSecretWire } from '../../lib/workflows/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/webhook-endpoints – the organization's outgoing webhook endpoints (never their secrets)
export const GET = route({ action: 'workflows.manage', query: endpointListQuery, responses: { 200: webhookEndpointPageWire } }, ({ ctx, query }) =>
  listEndpoints(ctx, query),
);

// POST /api/webhook-endpoints – an endpoint (its URL must be public); answers its whsec_ secret, shown this once
export const POST = route(
  { action: 'workflows.manage', body: endpointCreate, status: 201, responses: { 201: webhookEndpointWithSecretWire } },
  ({ ctx, body }) => createEndpoint(ctx, body),
);
