import { receiveResendWebhook } from '../../lib/email/resend-webhook.js';

// POST /api/webhooks/resend – Resend delivery reports (Svix signature verified on the raw body)
export const POST = (request: Request) => receiveResendWebhook(request);
