// Tracking integrations as the API answers them (never their secrets).
import * as z from 'zod';
import { wireId, wireInstant } from '../wire.js';

export const trackingIntegrationWire = z
  .strictObject({
    id: wireId,
    provider: z.literal('terminal49'),
    enabled: z.boolean(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
    /** The URL to give the provider for its webhooks. */
    webhookUrl: z.string(),
  })
  .meta({ id: 'TrackingIntegration' });

export const trackingIntegrationListWire = z.strictObject({ data: z.array(trackingIntegrationWire) });
