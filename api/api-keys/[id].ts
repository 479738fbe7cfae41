import { apiKeyWire, revokeApiKey } from '../../lib/api-keys/service.js';
import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';

export { OPTIONS } from '../../lib/http/cors.js';

// DELETE /api/api-keys/{id} – revoke a key: the next request with it is refused (401)
export const DELETE = route({ action: 'api_keys.manage', params: idParams, responses: { 200: apiKeyWire } }, ({ ctx, params }) => revokeApiKey(ctx, params.id));
