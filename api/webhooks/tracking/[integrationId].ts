import { receiveTrackingWebhook } from '../../../lib/tracking/service.js';

// POST /api/webhooks/tracking/{integrationId} – Terminal49 webhook notifications (X-T49-Webhook-Signature)
export const POST = (request: Request) => receiveTrackingWebhook(request);
