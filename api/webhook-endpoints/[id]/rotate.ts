import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { rotateSecret } from '../../../lib/webhooks/service.js';
import { webhookEndpointWithSecretWire } from '../../../lib/workflows/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/webhook-endpoints/{id}/rotate – a new secret (shown once); the previous one keeps signing beside it for 24 hours
export const POST = route({ action: 'workflows.manage', params: idParams, responses: { 200: webhookEndpointWithSecretWire } }, ({ ctx, params }) =>
  rotateSecret(ctx, params.id),
);
