import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { deleteEndpoint, endpointUpdate, getEndpoint, updateEndpoint } from '../../lib/webhooks/service.js';
import { webhookEndpointWire } from '../../lib/workflows/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/webhook-endpoints/{id} – one endpoint
export const GET = route({ action: 'workflows.manage', params: idParams, responses: { 200: webhookEndpointWire } }, ({ ctx, params }) =>
  getEndpoint(ctx, params.id),
);

// PATCH /api/webhook-endpoints/{id} – change its URL or description, disable or enable it
export const PATCH = route(
  { action: 'workflows.manage', params: idParams, body: endpointUpdate, responses: { 200: webhookEndpointWire } },
  ({ ctx, params, body }) => updateEndpoint(ctx, params.id, body),
);

// DELETE /api/webhook-endpoints/{id} – delete an endpoint and its delivery log
export const DELETE = route({ action: 'workflows.manage', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteEndpoint(ctx, params.id));
