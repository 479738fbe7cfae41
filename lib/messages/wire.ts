// Messages as the API answers them (wire form: instants as ISO strings). Strict objects: a column added to
// the message select must be declared here too, or every test that reads a message fails.
import * as z from 'zod';
import { analysisEntities, INTENTS, SENTIMENTS, URGENCIES } from '../ai/analysis/schema.js';
import { CHANNELS } from '../threads/service.js';
import { listOrSyncOf, wireId, wireInstant } from '../wire.js';

/** The status model (the check constraint of app.messages): inbound messages are received; outbound ones
 * move from draft through queued to sent, delivered and read, or fail or bounce; calls ring, then end. */
export const MESSAGE_STATUSES = [
  'received',
  'draft',
  'queued',
  'sent',
  'delivered',
  'read',
  'failed',
  'bounced',
  'ringing',
  'in_progress',
  'completed',
  'busy',
  'no_answer',
] as const;
export const MESSAGE_CONTENT_TYPES = ['text', 'html', 'image', 'document', 'audio', 'video', 'location', 'contacts', 'template', 'call'] as const;

/** An address on a message: email recipients carry a display name (null when none was given). */
export const recipientWire = z.strictObject({ address: z.string(), name: z.string().nullable().optional() }).meta({ id: 'Recipient' });

export const attachmentSummaryWire = z
  .strictObject({
    id: wireId,
    filename: z.string(),
    contentType: z.string(),
    sizeBytes: z.number().int().nonnegative().nullable(),
    inline: z.boolean(),
    contentId: z.string().nullable(),
    status: z.enum(['pending', 'ready', 'quarantined']),
  })
  .meta({ id: 'MessageAttachment' });

export const messageWire = z
  .strictObject({
    id: wireId,
    threadId: wireId,
    channel: z.enum(CHANNELS),
    channelId: wireId.nullable(),
    kind: z.enum(['message', 'call']),
    direction: z.enum(['inbound', 'outbound']),
    status: z.enum(MESSAGE_STATUSES),
    fromAddress: z.string().nullable(),
    fromName: z.string().nullable(),
    toRecipients: z.array(recipientWire),
    ccRecipients: z.array(recipientWire),
    bccRecipients: z.array(recipientWire),
    replyTo: z.string().nullable(),
    subject: z.string().nullable(),
    bodyText: z.string().nullable(),
    /** Sanitised HTML. */
    bodyHtml: z.string().nullable(),
    /** The new text without the quoted history. */
    bodyNewText: z.string().nullable(),
    snippet: z.string(),
    contentType: z.enum(MESSAGE_CONTENT_TYPES),
    rfcMessageId: z.string().nullable(),
    isAutoReply: z.boolean(),
    isBounce: z.boolean(),
    errorCode: z.string().nullable(),
    errorMessage: z.string().nullable(),
    callDurationSeconds: z.number().int().nonnegative().nullable(),
    /**
     * Why the message's media file or call recording could not be copied into storage (not an Exotel
     * host, the provider answered 404, its name did not resolve through every retry ...), when it could not.
     */
    mediaError: z.strictObject({ reason: z.string(), at: wireInstant, attempts: z.number().int().positive().optional() }).nullable(),
    transcript: z.string().nullable(),
    /** The approved WhatsApp template or DLT SMS template a reply was sent with. */
    template: z.strictObject({ name: z.string(), language: z.string(), parameters: z.array(z.string()) }).nullable(),
    intent: z.enum(INTENTS).nullable(),
    sentiment: z.enum(SENTIMENTS).nullable(),
    sentimentScore: z.number().nullable(),
    urgency: z.enum(URGENCIES).nullable(),
    summary: z.string().nullable(),
    language: z.string().nullable(),
    entities: analysisEntities.strict().nullable(),
    authorId: wireId.nullable(),
    occurredAt: wireInstant,
    sentAt: wireInstant.nullable(),
    deliveredAt: wireInstant.nullable(),
    readAt: wireInstant.nullable(),
    failedAt: wireInstant.nullable(),
    statusChangedAt: wireInstant,
    createdAt: wireInstant,
    updatedAt: wireInstant,
    attachments: z.array(attachmentSummaryWire),
  })
  .meta({ id: 'Message' });

/** A page of the list, or with `updatedSince` a page of changes (lib/sync.ts). */
export const messagePageWire = listOrSyncOf(messageWire);
