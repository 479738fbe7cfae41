// Channels as the API answers them (wire form, never their secrets). The fields every channel has are
// declared strictly; each kind adds its own settings (an email channel its IMAP server, folders and
// sending domain; a WhatsApp, SMS or voice channel its Exotel settings), kept open here.
import * as z from 'zod';
import { SENDING_DOMAIN_STATUSES } from '../email/outbound.js';
import { pageOf, wireId, wireInstant } from '../wire.js';
import { CHANNEL_KINDS, CHANNEL_STATUSES } from './mailboxes.js';

export const channelWire = z
  .looseObject({
    id: wireId,
    kind: z.enum(CHANNEL_KINDS),
    name: z.string(),
    address: z.string().nullable(),
    status: z.enum(CHANNEL_STATUSES),
    lastError: z.string().nullable(),
    lastSyncedAt: wireInstant.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
    /** Email only: whether the email provider has verified the sending address's domain. */
    sendingDomainStatus: z.enum(SENDING_DOMAIN_STATUSES).optional(),
  })
  .meta({ id: 'Channel' });

export const channelPageWire = pageOf(channelWire);

/** Where Exotel should call, with the secret in it: shown once, on creation and rotation. */
const webhookOnceWire = z.looseObject({ secret: z.string(), url: z.string(), previousSecretExpiresAt: wireInstant.nullable().optional() });

/** POST /api/channels/{id}/rotate-webhook-secret. */
export const webhookSecretRotatedWire = z.strictObject({ id: wireId, webhook: webhookOnceWire }).meta({ id: 'ChannelWebhookSecret' });

/** POST /api/channels/{id}/test: logged in and listed the folders, or why not. */
export const channelTestWire = z
  .union([
    z.strictObject({ ok: z.literal(true), folders: z.array(z.string()), missingFolders: z.array(z.string()) }),
    z.strictObject({ ok: z.literal(false), reason: z.enum(['auth', 'connection', 'tls', 'refused', 'secret']), error: z.string() }),
  ])
  .meta({ id: 'ChannelTest' });

/** POST /api/channels/{id}/verify-domain. */
export const sendingDomainWire = z
  .strictObject({ channelId: wireId, domain: z.string(), status: z.enum(SENDING_DOMAIN_STATUSES) })
  .meta({ id: 'SendingDomainStatus' });
