import { receiveExotelWebhook } from '../../../lib/exotel/webhook.js';

// GET /api/webhooks/exotel/{channelId}?token= – incoming SMS and Passthru (incoming calls); channel webhook secret
export const GET = (request: Request) => receiveExotelWebhook(request);

// HEAD /api/webhooks/exotel/{channelId}?token= – Exotel's check before an incoming-SMS GET
export const HEAD = (request: Request) => receiveExotelWebhook(request);

// POST /api/webhooks/exotel/{channelId}?token= – WhatsApp messages and delivery reports (JSON), SMS status (form), call status (JSON, multipart, form)
export const POST = (request: Request) => receiveExotelWebhook(request);
