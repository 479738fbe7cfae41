import { rotateWebhookSecret } from '../../../lib/channels/exotel-channels.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { webhookSecretRotatedWire } from '../../../lib/channels/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/channels/{id}/rotate-webhook-secret – a new webhook secret for a WhatsApp, SMS or voice channel (shown once; the old one works 24 h more)
// Not idempotent on purpose: a replayed response would keep the secret in the idempotency store.
export const POST = route({ action: 'channels.manage', params: idParams, idempotent: false, responses: { 200: webhookSecretRotatedWire } }, ({ ctx, params }) =>
  rotateWebhookSecret(ctx, params.id),
);
