import { webhookOutcomeWire } from '../../../lib/http/provider-wire.js';
import { describe } from '../../../lib/http/responses.js';
import { receiveTrackingWebhook } from '../../../lib/tracking/service.js';

// POST /api/webhooks/tracking/{integrationId} – Terminal49 webhook notifications (X-T49-Webhook-Signature)
export const POST = describe((request: Request) => receiveTrackingWebhook(request), {
  auth: 'signature',
  authNote: "Terminal49's X-T49-Webhook-Signature (HMAC-SHA256 of the raw body with the integration's webhook secret)",
  responses: { 200: webhookOutcomeWire },
});
