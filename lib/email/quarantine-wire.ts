// The mail quarantine as the admin routes answer it (wire form).
import * as z from 'zod';
import { pageOf, wireId, wireInstant } from '../wire.js';

export const quarantinedWire = z
  .strictObject({
    id: wireId,
    channelId: wireId.nullable(),
    channelName: z.string().nullable(),
    folder: z.string().nullable(),
    uid: z.number().int().nullable(),
    uidValidity: z.number().int().nullable(),
    error: z.string(),
    attempts: z.number().int(),
    lastAttemptAt: wireInstant.nullable(),
    createdAt: wireInstant,
    status: z.enum(['open', 'reprocessed', 'discarded']),
    resolvedAt: wireInstant.nullable(),
    resolvedBy: wireId.nullable(),
    messageId: wireId.nullable(),
    /** The raw source: its size, and whether it is kept. */
    raw: z.strictObject({ size: z.number().int().nullable(), stored: z.boolean() }),
  })
  .meta({ id: 'QuarantinedMessage' });

/** In the list and GET: with a short-lived signed link to the raw source (null when none is kept or storage cannot sign one). */
export const quarantinedWithDownloadWire = quarantinedWire
  .extend({
    raw: z.strictObject({
      size: z.number().int().nullable(),
      stored: z.boolean(),
      download: z.strictObject({ url: z.string(), expiresAt: wireInstant }).nullable(),
    }),
  })
  .meta({ id: 'QuarantinedMessageWithDownload' });

export const quarantinePageWire = pageOf(quarantinedWithDownloadWire);

/** POST /api/admin/mail-quarantine/{id}/reprocess: stored (or found a duplicate), or failed again. */
export const reprocessWire = z
  .union([
    z.strictObject({ outcome: z.enum(['stored', 'duplicate']), messageId: wireId, threadId: wireId, quarantine: quarantinedWire }),
    z.strictObject({ outcome: z.literal('failed'), error: z.string(), quarantine: quarantinedWire }),
  ])
  .meta({ id: 'QuarantineReprocess' });
