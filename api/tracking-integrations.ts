import { route } from '../lib/http/route.js';
import { createTrackingIntegration, listTrackingIntegrations, trackingIntegrationCreate } from '../lib/tracking/service.js';
import { trackingIntegrationListWire, trackingIntegrationWire } from '../lib/tracking/wire.js';

export { OPTIONS } from '../lib/http/cors.js';

// GET /api/tracking-integrations – the organization's tracking integrations (never their secrets)
export const GET = route({ action: 'channels.read', responses: { 200: trackingIntegrationListWire } }, ({ ctx }) => listTrackingIntegrations(ctx));

// POST /api/tracking-integrations – add a Terminal49 integration (API key and webhook secret, sealed)
export const POST = route(
  { action: 'channels.manage', body: trackingIntegrationCreate, status: 201, responses: { 201: trackingIntegrationWire } },
  ({ ctx, body }) => createTrackingIntegration(ctx, body),
);
