import { receiveResendWebhook } from '../../lib/email/resend-webhook.js';
import { webhookOutcomeWire } from '../../lib/http/provider-wire.js';
import { describe } from '../../lib/http/responses.js';

// POST /api/webhooks/resend – Resend delivery reports (Svix signature verified on the raw body)
export const POST = describe((request: Request) => receiveResendWebhook(request), {
  auth: 'signature',
  authNote: "Resend's Svix signature (svix-id, svix-timestamp, svix-signature) over the raw body, with RESEND_WEBHOOK_SECRET",
  responses: { 200: webhookOutcomeWire },
});
