import { receiveExotelWebhook } from '../../../lib/exotel/webhook.js';
import { exotelCallbackWire, exotelGetAnswer } from '../../../lib/http/provider-wire.js';
import { describe, rawBody } from '../../../lib/http/responses.js';

const auth = { auth: 'signature', authNote: "the channel's webhook secret in ?token= (rotated with POST /api/channels/{id}/rotate-webhook-secret)" } as const;
const everyStatus = [200, 400, 401, 404, 410, 413, 415, 422, 429, 500, 503];

// GET /api/webhooks/exotel/{channelId}?token= – incoming SMS and Passthru (incoming calls); channel webhook secret
export const GET = describe((request: Request) => receiveExotelWebhook(request), {
  ...auth,
  responses: Object.fromEntries(everyStatus.map((s) => [s, exotelGetAnswer])),
});

// HEAD /api/webhooks/exotel/{channelId}?token= – Exotel's check before an incoming-SMS GET
export const HEAD = (request: Request) => receiveExotelWebhook(request);

// POST /api/webhooks/exotel/{channelId}?token= – WhatsApp messages and delivery reports (JSON), SMS status (form), call status (JSON, multipart, form)
export const POST = describe((request: Request) => receiveExotelWebhook(request), {
  ...auth,
  body: rawBody('application/json', "Exotel's callback: JSON (WhatsApp, call status), or form fields (application/x-www-form-urlencoded, multipart/form-data)"),
  responses: { 200: exotelCallbackWire },
});
