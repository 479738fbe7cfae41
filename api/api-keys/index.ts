import { apiKeyCreate, apiKeyCreatedWire, apiKeyListQuery, apiKeyListWire, createApiKey, listApiKeys } from '../../lib/api-keys/service.js';
import { route } from '../../lib/http/route.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/api-keys – the organization's API keys (?status=active (default), revoked, expired or all), newest first; never the key itself
export const GET = route({ action: 'api_keys.manage', query: apiKeyListQuery, responses: { 200: apiKeyListWire } }, ({ ctx, query }) =>
  listApiKeys(ctx, query),
);

// POST /api/api-keys – create a key (role at most your own, default agent; optional scopes and expiry); the answer shows the key once
export const POST = route({ action: 'api_keys.manage', body: apiKeyCreate, status: 201, responses: { 201: apiKeyCreatedWire } }, ({ ctx, body }) =>
  createApiKey(ctx, body),
);
