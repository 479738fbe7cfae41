// Exotel jobs: copying media and call recordings into storage (only from Exotel's hosts over https,
// never a private address), sending queued WhatsApp messages (files as image and document messages)
// and SMS, and placing click-to-call calls. Each WhatsApp message or SMS leaves at most once (an
// attempt committed before each call, reconciled on a retry); a refusal no retry can fix marks the
// message failed at once.
import { enqueueTranscription, jobSpecs } from '../jobs/specs.js';
import { config } from '../config.js';
import type { Ctx } from '../context.js';
import { storeInboundAttachment } from '../attachments/service.js';
import { storage } from '../storage/index.js';
import { HostRefusedError, publicFetch } from '../channels/net-guard.js';
import { readCapped } from '../http/body.js';
import { deadReason, markSendFailed, requeueFailedMessage } from '../email/send-job.js';
import { announceMessage } from '../messages/announce.js';
import { defineJob, PermanentJobError, type Transact } from '../jobs/registry.js';
import { abandonOpenAttempts, beginAttempt, settleAttempt, type SendAttempt } from '../jobs/send-attempts.js';
import { log } from '../log.js';
import { ExotelError, exotelAdapter, type ExotelCredentials, type SmsDetails, type SmsSend, type WhatsAppContent, type WhatsAppSend } from './adapter.js';
import { applyDeliveryReport, fetchFailure } from './inbound.js';
import { dltTemplateFor } from './dlt.js';
import { whatsAppMediaParts, whatsAppMediaRefusal, whatsAppMediaType, WHATSAPP_MEDIA_LINK_SECONDS } from './whatsapp-media.js';
import { smsReportStatus } from './webhook.js';
import { credentialsOf, loadExotelChannel, normalizePhone, statusCallbackFor, type ExotelChannel, type ExotelSettings } from './common.js';

class Refused extends PermanentJobError {
  constructor(code: string, message: string) {
    super(`[${code}] ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Media and recordings
// ---------------------------------------------------------------------------------------------

const PROVIDER_DOMAINS = ['exotel.com', 'exotel.in'];
const RECORDING_BUCKET = 'exotelrecordings';

/**
 * Why a media URL may not be fetched, or null when it may: https on *.exotel.com / *.exotel.in, Exotel's
 * recording bucket on S3, or a configured extra host. Whether the host is public is checked by publicFetch, at the address it dials.
 */
/**
 * Exotel's recording bucket on S3, where its callbacks' RecordingUrl points
 * (`https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/<account>/<call>.mp3`), path-style or
 * virtual-hosted, in any region. Only that bucket: other S3 buckets are anyone's.
 */
function isExotelRecordingBucket(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  const s3 = /^s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$/;
  if (s3.test(host)) return url.pathname.startsWith(`/${RECORDING_BUCKET}/`);
  return host.startsWith(`${RECORDING_BUCKET}.`) && s3.test(host.slice(RECORDING_BUCKET.length + 1));
}

export function mediaUrlRefusal(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const extra = config().exotel.mediaHosts;
  const listed = extra.includes(host) || extra.includes(url.host.toLowerCase());
  const provider = PROVIDER_DOMAINS.some((d) => host === d || host.endsWith(`.${d}`));
  if (!provider && !listed && !isExotelRecordingBucket(url)) return `${host} is not an Exotel host`;
  if (url.protocol !== 'https:' && !(listed && url.protocol === 'http:')) return 'must be https';
  if (url.username || url.password) return 'must not carry credentials';
  return null;
}

async function readLimited(res: Response, max: number): Promise<Buffer> {
  return readCapped(res, max, () => new Refused('media_too_large', `The file is larger than ${max} bytes`));
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'application/pdf': 'pdf',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'video/mp4': 'mp4',
};

/**
 * Why a message has no copy of its media file (metadata.media.fetchError) or call recording
 * (metadata.recordingError), shown as the message's `mediaError`, with `message.updated` so the web app
 * learns it at once.
 */
async function recordFetchFailure(ctx: Ctx, messageId: string, purpose: 'media' | 'recording', reason: string, attempts?: number) {
  const failure = { ...fetchFailure(reason), ...(attempts ? { attempts } : {}) };
  const rows =
    purpose === 'media'
      ? await ctx.sql`
          update app.messages set metadata = jsonb_set(metadata, '{media}', coalesce(metadata -> 'media', '{}'::jsonb) || ${ctx.sql.json({ fetchError: failure })}::jsonb)
          where id = ${messageId} and org_id = ${ctx.orgId} returning id`
      : await ctx.sql`
          update app.messages set metadata = metadata || ${ctx.sql.json({ recordingError: failure })}::jsonb
          where id = ${messageId} and org_id = ${ctx.orgId} returning id`;
  if (rows.length === 0) return;
  log.warn('exotel media: not fetched', { messageId, purpose, reason });
  await announceMessage(ctx, messageId, { action: 'message.media_failed', data: { purpose, reason: failure.reason } });
}

/** A job's last error as a person reads it: "HostRefusedError: x does not resolve (ENOTFOUND)" without the class name. */
const readable = (error: string) => error.replace(/^[A-Za-z]*Error: /, '').replace(/^\[[a-z_]+\] /, '');

/**
 * Copies an inbound media file or call recording into storage. Temporary failures are thrown and
 * retried by the job system with backoff: a name that does not resolve (getaddrinfo ENOTFOUND or
 * EAI_AGAIN: DNS can fail for a while), a refused or reset connection, a timeout, a 5xx. A URL that may
 * not be fetched at all (not an Exotel host, a private address) is recorded at once; what no retry can
 * fix (404, 403, 410, a redirect, too large) ends the job dead, and a job that is dead either way records
 * its last error on the message (onDead).
 */
export const fetchMediaJob = defineJob({
  ...jobSpecs.exotelMediaFetch,
  async handle({ ctx, payload }) {
    const [m] = await ctx.sql<{ id: string; threadId: string; channelId: string | null; metadata: Record<string, any> }[]>`
      select id, thread_id, channel_id, metadata from app.messages where id = ${payload.messageId} and org_id = ${ctx.orgId}`;
    if (!m) return;
    const refusal = mediaUrlRefusal(payload.url);
    if (refusal) return recordFetchFailure(ctx, m.id, payload.purpose, `not fetched: ${refusal}`);
    const headers: Record<string, string> = {};
    const channel = await loadExotelChannel(ctx, m.channelId);
    // Exotel's own hosts take the account's key; S3 takes none (a recording link there is presigned or public).
    if (channel && !isExotelRecordingBucket(new URL(payload.url))) {
      try {
        const creds = credentialsOf(channel);
        headers.authorization = `Basic ${Buffer.from(`${creds.apiKey}:${creds.apiToken}`).toString('base64')}`;
      } catch {
        // Public media needs no login.
      }
    }
    let res: Response;
    try {
      res = await publicFetch(payload.url, { headers, timeoutMs: 30_000 });
    } catch (error) {
      if (error instanceof HostRefusedError && error.reason === 'private')
        return recordFetchFailure(ctx, m.id, payload.purpose, `not fetched: ${error.message}`);
      throw error;
    }
    if (res.status >= 300 && res.status < 400) throw new Refused('media_redirect', `The provider redirected (${res.status}); redirects are not followed`);
    if (res.status === 404 || res.status === 410 || res.status === 403) throw new Refused('media_unavailable', `The provider answered ${res.status}`);
    if (!res.ok) throw new Error(`The provider answered ${res.status}`);
    const content = await readLimited(res, config().storage.maxAttachmentBytes);
    const contentType = (res.headers.get('content-type') ?? m.metadata?.media?.mimeType ?? 'application/octet-stream').split(';')[0]!.trim();
    const last = decodeURIComponent(new URL(payload.url).pathname.split('/').pop() ?? '');
    const filename =
      m.metadata?.media?.filename ??
      (last && /\.[a-z0-9]{2,5}$/i.test(last) ? last : `${payload.purpose}-${m.id.slice(0, 8)}.${EXTENSIONS[contentType] ?? 'bin'}`);
    const attachment = await storeInboundAttachment(ctx, {
      messageId: m.id,
      threadId: m.threadId,
      filename,
      contentType,
      content,
      // A customer's WhatsApp document or photo is read and filed; a call recording is not.
      document: payload.purpose === 'media' ? 'whatsapp' : undefined,
    });
    // A copy made after all (a person retried the dead job) clears the failure recorded before.
    await ctx.sql`update app.messages set metadata = (metadata #- '{media,fetchError}'::text[]) - 'recordingError'::text where id = ${m.id}`;
    if (payload.purpose === 'recording') {
      await ctx.sql`
        update app.messages set recording_path = (select storage_path from app.attachments where id = ${attachment.id})
        where id = ${m.id}`;
      await enqueueTranscription(ctx, m.id);
    }
    await announceMessage(ctx, m.id);
  },
  async onDead({ ctx, payload, job, error }) {
    await recordFetchFailure(ctx, payload.messageId, payload.purpose, readable(error), job.attempts);
  },
});

// ---------------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------------

interface OutboundRow {
  id: string;
  threadId: string;
  channel: string;
  channelId: string | null;
  kind: string;
  direction: string;
  status: string;
  toRecipients: { address?: string }[] | null;
  bodyText: string | null;
  template: { name: string; language: string; parameters: string[] } | null;
  providerMessageId: string | null;
  externalIds: string[] | null;
  metadata: { dltTemplateId?: string } | null;
}

interface OutboundFile {
  id: string;
  filename: string;
  contentType: string;
  sizeBytes: number | null;
  storagePath: string;
}

/**
 * How long a send whose outcome was never learnt (its run stopped after calling Exotel, before the
 * answer was recorded) waits for Exotel's status callback, which names our custom data, before a
 * person must decide. Exotel documents no lookup by custom data, and no WhatsApp details API.
 */
export const REPORT_WAIT_MS = 5 * 60_000;

/** A retry that must not send yet: an earlier call may have been accepted and Exotel has not said. */
class AwaitingExotelReport extends Error {
  override name = 'AwaitingExotelReport';
}

type Outbound = { kind: 'whatsapp'; request: WhatsAppSend } | { kind: 'sms'; request: SmsSend };

/**
 * One call to Exotel a message goes out as: an SMS, a WhatsApp text or template, or one WhatsApp
 * message per file (its text as the first one's caption, or a text message of its own before them).
 * Each part has its own attempts in app.send_attempts, under the message id for the first part and
 * `<message id>:<n>` for the n-th; every part carries the message id as Exotel's custom data, so each
 * part's status callback reports on the message.
 */
type Part = { key: string; label: string } & ({ content: WhatsAppContent } | { file: OutboundFile; caption: string | null } | { sms: true });

/** Where a run is in a message's parts. */
interface Progress {
  parts: Part[];
  /** The first part not yet accepted, -1 when every part is. */
  next: number;
  /** Exotel's sid for each accepted part, by key. */
  accepted: Map<string, string>;
  /** The latest attempt of the next part. */
  attempt: SendAttempt | null;
  /** A sid Exotel reported for this message (a status callback) that no accepted part accounts for. */
  reportedSid: string | null;
}

type Plan =
  | { step: 'done' }
  | { step: 'send'; attemptId: string; creds: ExotelCredentials; from: string; outbound: Outbound; part: Part; last: boolean; firstSid: string | null }
  | {
      step: 'reconcile';
      attempt: SendAttempt | null;
      sid: string | null;
      creds: ExotelCredentials;
      from: string;
      kind: 'whatsapp' | 'sms';
      channel: ExotelChannel;
      part: Part;
      last: boolean;
      firstSid: string | null;
      /** A status callback has already moved the message on: no need to ask Exotel about the sid. */
      reported: boolean;
    };

/** Marks a queued message sent under Exotel's sid (nothing when a status callback got there first). */
async function markExotelSent(ctx: Ctx, messageId: string, from: string, sid: string): Promise<void> {
  const rows = await ctx.sql`
    update app.messages set status = 'sent', sent_at = coalesce(sent_at, now()), error_code = null, error_message = null,
      from_address = ${from}, provider_message_id = ${sid},
      external_ids = case when external_ids @> array[${sid}]::text[] then external_ids else external_ids || array[${sid}]::text[] end
    where id = ${messageId} and org_id = ${ctx.orgId} and status = 'queued' returning id`;
  if (rows.length) await announceMessage(ctx, messageId, { action: 'message.sent', data: { provider: 'exotel', sid } });
}

/** Records that Exotel accepted a part under this sid (its open attempt, or a new one when it has none). */
async function acceptPart(ctx: Ctx, messageId: string, part: Part, attempt: SendAttempt | null, sid: string): Promise<void> {
  const open = attempt && (attempt.state === 'calling' || attempt.state === 'abandoned') ? attempt.id : null;
  const id = open ?? (await beginAttempt(ctx, { messageId, provider: exotelAdapter().kind, idempotencyKey: part.key }));
  await settleAttempt(ctx, id, { state: 'accepted', providerMessageId: sid });
  await noteSid(ctx, messageId, sid);
}

/** Keeps each sid Exotel gave a part among the message's ids (a part's status callback names it). */
async function noteSid(ctx: Ctx, messageId: string, sid: string): Promise<void> {
  await ctx.sql`
    update app.messages set external_ids = case when external_ids @> array[${sid}]::text[] then external_ids else external_ids || array[${sid}]::text[] end
    where id = ${messageId} and org_id = ${ctx.orgId}`;
}

function whatsAppContent(m: OutboundRow): WhatsAppContent {
  return m.template
    ? {
        recipient_type: 'individual',
        type: 'template',
        template: {
          name: m.template.name,
          language: { code: m.template.language, policy: 'deterministic' },
          components: m.template.parameters.length ? [{ type: 'body', parameters: m.template.parameters.map((text) => ({ type: 'text', text })) }] : [],
        },
      }
    : { recipient_type: 'individual', type: 'text', text: { body: m.bodyText ?? '' } };
}

/** The parts of a message, in the order they are sent (see Part). */
async function partsOf(ctx: Ctx, m: OutboundRow): Promise<Part[]> {
  if (m.channel === 'sms') return [{ key: m.id, label: 'the SMS', sms: true }];
  const files = m.template
    ? []
    : await ctx.sql<OutboundFile[]>`
        select id, filename, content_type, size_bytes::float8 as size_bytes, storage_path from app.attachments
        where org_id = ${ctx.orgId} and message_id = ${m.id} and status = 'ready' order by created_at, id`;
  if (!files.length) return [{ key: m.id, label: 'the WhatsApp message', content: whatsAppContent(m) }];
  const pieces = whatsAppMediaParts(m.bodyText, files);
  return pieces.map((p, i) => {
    const key = i === 0 ? m.id : `${m.id}:${i + 1}`;
    const label = `WhatsApp message ${i + 1} of ${pieces.length}${'file' in p ? ` (${p.file.filename})` : ' (the text)'}`;
    return 'file' in p
      ? { key, label, file: p.file, caption: p.caption }
      : { key, label, content: { recipient_type: 'individual', type: 'text', text: { body: p.text } } };
  });
}

/** A file as a WhatsApp image or document, linked through a short-lived signed URL to the stored object. */
async function mediaContent(file: OutboundFile, caption: string | null, part: Part): Promise<WhatsAppContent> {
  const type = whatsAppMediaType(file.contentType);
  const refusal = whatsAppMediaRefusal(file);
  if (!type || refusal) throw new Refused('media_unsupported', `${part.label} ${refusal ?? 'is not a file WhatsApp carries'}`);
  const { url } = await storage().createSignedDownloadUrl(file.storagePath, { expiresIn: WHATSAPP_MEDIA_LINK_SECONDS, filename: file.filename });
  const withCaption = caption ? { caption } : {};
  return type === 'image'
    ? { recipient_type: 'individual', type: 'image', image: { link: url, ...withCaption } }
    : { recipient_type: 'individual', type: 'document', document: { link: url, filename: file.filename, ...withCaption } };
}

/** Which parts Exotel accepted, which comes next, and what is known about it. */
async function progressOf(ctx: Ctx, m: OutboundRow): Promise<Progress> {
  const parts = await partsOf(ctx, m);
  const attempts = await ctx.sql<SendAttempt[]>`
    select id, provider, idempotency_key, state, provider_message_id, error, started_at
    from app.send_attempts where org_id = ${ctx.orgId} and message_id = ${m.id} order by started_at, id`;
  const accepted = new Map<string, string>();
  const latest = new Map<string, SendAttempt>();
  for (const a of attempts) {
    latest.set(a.idempotencyKey, a);
    if (a.state === 'accepted' && a.providerMessageId) accepted.set(a.idempotencyKey, a.providerMessageId);
  }
  const next = parts.findIndex((p) => !accepted.has(p.key));
  const known = new Set(accepted.values());
  // A status callback records its sid on the message (provider_message_id, external_ids). The parts
  // go out one after another, so a sid no accepted part accounts for is the next part's. An SMS is
  // one part: only its provider_message_id counts (a sid Exotel disowned is cleared from there).
  const reported = [m.providerMessageId, ...(parts.length > 1 ? (m.externalIds ?? []) : [])];
  const reportedSid = reported.find((s): s is string => !!s && !known.has(s)) ?? null;
  return { parts, next, accepted, attempt: next >= 0 ? (latest.get(parts[next]!.key) ?? null) : null, reportedSid };
}

/**
 * Decides, under the message's row lock, what this run does next: nothing (every part sent, or the
 * message failed), reconcile a part whose earlier call's answer was never recorded, or send the next
 * part (its attempt is recorded and committed first).
 */
async function planSend(ctx: Ctx, messageId: string): Promise<Plan> {
  const sql = ctx.sql;
  const [m] = await sql<OutboundRow[]>`
    select id, thread_id, channel, channel_id, kind, direction, status, to_recipients, body_text, template, provider_message_id,
      external_ids, metadata
    from app.messages where id = ${messageId} and org_id = ${ctx.orgId} for update`;
  if (!m) return { step: 'done' };
  if (m.direction !== 'outbound' || m.kind !== 'message' || (m.channel !== 'whatsapp' && m.channel !== 'sms')) {
    if (m.status !== 'queued') return { step: 'done' };
    throw new Refused('not_outbound', 'Only outbound WhatsApp messages and SMS are sent by this job');
  }
  const progress = await progressOf(ctx, m);
  const { parts, next, attempt, reportedSid } = progress;
  if (m.status !== 'queued') {
    // A status callback (it names our custom data) told the outcome before this run. A message of
    // several parts goes on with the rest while its reports say sent, delivered or read.
    const goesOn = parts.length > 1 && next >= 0 && ['sent', 'delivered', 'read'].includes(m.status);
    if (!goesOn) {
      if (next >= 0 && attempt?.state === 'calling' && reportedSid) await acceptPart(ctx, m.id, parts[next]!, attempt, reportedSid);
      return { step: 'done' };
    }
  }
  const channel = await loadExotelChannel(ctx, m.channelId);
  if (!channel || channel.kind !== m.channel) throw new Refused('no_channel', `The message has no ${m.channel} channel to send from`);
  if (channel.status === 'disabled') throw new Refused('channel_disabled', `The channel ${channel.name} is disabled`);
  const to = normalizePhone(m.toRecipients?.[0]?.address);
  if (!to) throw new Refused('invalid_recipient', 'The recipient is not a phone number');
  let creds: ExotelCredentials;
  try {
    creds = credentialsOf(channel);
  } catch (error) {
    throw new Refused('credentials_unavailable', `${(error as Error).message}; enter the Exotel credentials again`);
  }
  const firstSid = progress.accepted.get(parts[0]!.key) ?? null;
  // Every part accepted (a run stopped before it marked the message): finish that.
  if (next < 0) {
    await markExotelSent(ctx, m.id, channel.address, firstSid!);
    return { step: 'done' };
  }
  const part = parts[next]!;
  const last = next === parts.length - 1;
  // Exotel reported on an earlier call of this part (a status callback, which may come after the
  // message failed and a person put it back in the queue), or its answer was never recorded: reconcile.
  if (reportedSid || attempt?.state === 'calling') {
    const reported = m.status !== 'queued';
    return { step: 'reconcile', attempt, sid: reportedSid, creds, from: channel.address, kind: m.channel, channel, part, last, firstSid, reported };
  }
  const statusCallback = statusCallbackFor(channel);
  let outbound: Outbound;
  if (m.channel === 'whatsapp') {
    const content = 'file' in part ? await mediaContent(part.file, part.caption, part) : 'content' in part ? part.content : whatsAppContent(m);
    outbound = { kind: 'whatsapp', request: { from: channel.address, to, content, statusCallback, customData: m.id, reference: part.key } };
  } else {
    const settings = channel.settings as ExotelSettings;
    if (!settings.dltEntityId) throw new Refused('dlt_missing', 'The SMS channel has no DLT entity id');
    // The DLT template was chosen when the message was queued (lib/exotel/senders.ts), where a text
    // that matches none is the agent's 422; one queued before that was recorded is matched now.
    const templateId = m.metadata?.dltTemplateId ?? dltTemplateFor(settings.smsTemplates ?? [], m.bodyText ?? '')?.id;
    if (!templateId) throw new Refused('dlt_no_template', "The SMS matches none of the channel's DLT templates");
    outbound = {
      kind: 'sms',
      request: {
        from: channel.address,
        to,
        body: m.bodyText ?? '',
        statusCallback,
        customField: m.id,
        dltEntityId: settings.dltEntityId,
        dltTemplateId: templateId,
      },
    };
  }
  // Custom data is the message id on every attempt of every part: Exotel's status callbacks name it,
  // whichever call they report on.
  const attemptId = await beginAttempt(ctx, { messageId: m.id, provider: exotelAdapter().kind, idempotencyKey: part.key });
  return { step: 'send', attemptId, creds, from: channel.address, outbound, part, last, firstSid };
}

/** What an Exotel error says about the call: an answer (refused, temporary), no connection, or unknown (null). */
function answerOf(error: unknown): { state: 'refused' | 'failed' | 'unreached'; error: string } | null {
  if (!(error instanceof ExotelError) || error.answered === null) return null;
  const text = `${error.code}: ${error.message}`;
  if (error.answered === false) return { state: 'unreached', error: text };
  return { state: error.permanent ? 'refused' : 'failed', error: text };
}

/**
 * A part's earlier call was never answered on record. With a sid (a status callback brought it), an
 * SMS is confirmed through the SMS details API and a WhatsApp message is taken as accepted (Exotel
 * documents no details API for it). Without one the run waits for Exotel's status callback rather than
 * send a second copy; when none came within REPORT_WAIT_MS a person decides. True: go on (send this
 * part anew, or the next one).
 */
async function reconcile(transact: Transact, messageId: string, plan: Extract<Plan, { step: 'reconcile' }>): Promise<boolean> {
  const { attempt, sid, part } = plan;
  if (sid) {
    let details: SmsDetails | null = null;
    if (plan.kind === 'sms' && !plan.reported) {
      details = await exotelAdapter().smsDetails(plan.creds, sid);
      if (!details) {
        // Exotel never sent an SMS by that sid: forget it, and the next round sends.
        await transact(async (ctx) => {
          if (attempt) await settleAttempt(ctx, attempt.id, { state: 'unreached', error: `Exotel knows no SMS ${sid}` });
          await ctx.sql`update app.messages set provider_message_id = null where id = ${messageId} and org_id = ${ctx.orgId} and status = 'queued'`;
        });
        return true;
      }
    }
    await transact(async (ctx) => {
      await acceptPart(ctx, messageId, part, attempt, sid);
      if (plan.last) await markExotelSent(ctx, messageId, plan.from, plan.firstSid ?? sid);
      // What the details say since (delivered, failed) moves the message on like the status callback would.
      const status = details ? smsReportStatus({ Status: details.status, DetailedStatus: details.detailedStatus ?? '' }) : null;
      if (details && status && status !== 'sent') {
        await applyDeliveryReport(ctx, plan.channel, {
          sid,
          customData: messageId,
          status,
          code: details.detailedStatusCode,
          reason: details.detailedStatus,
          at: new Date(),
        });
      }
    });
    return !plan.last;
  }
  const startedAt = attempt?.startedAt ?? new Date(0);
  const waited = Date.now() - startedAt.getTime();
  if (waited < REPORT_WAIT_MS) {
    throw new AwaitingExotelReport(
      `An earlier call (${startedAt.toISOString()}) for ${part.label} may have been accepted: waiting for Exotel's status callback for custom data ${messageId} before sending again`,
    );
  }
  throw new Refused(
    'send_outcome_unknown',
    `The run that sent ${part.label} stopped before Exotel's answer was recorded, and Exotel reported nothing within ${REPORT_WAIT_MS / 60_000} minutes: it may have reached the customer. Check with them, then retry the job to send it again`,
  );
}

/** Enough rounds for every part to be reconciled once and sent once. */
const MAX_ROUNDS = 2 * 21 + 2;

/**
 * Sends one queued WhatsApp message or SMS through Exotel, each of its parts at most once: a part's
 * attempt is committed before its call, Exotel's sid right after it (a transaction of its own), and
 * once every part is accepted the message is marked sent. A run that finds an attempt without an
 * answer reconciles instead of calling again; parts Exotel accepted are never sent again.
 */
export async function sendQueuedExotel(transact: Transact, messageId: string): Promise<'sent' | 'skipped'> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const plan = await transact((ctx) => planSend(ctx, messageId));
    if (plan.step === 'done') return 'skipped';
    if (plan.step === 'reconcile') {
      if (await reconcile(transact, messageId, plan)) continue;
      return 'sent';
    }
    let sid: string;
    try {
      const adapter = exotelAdapter();
      ({ sid } =
        plan.outbound.kind === 'whatsapp'
          ? await adapter.sendWhatsApp(plan.creds, plan.outbound.request)
          : await adapter.sendSms(plan.creds, plan.outbound.request));
    } catch (error) {
      const answer = answerOf(error);
      if (answer) await transact((ctx) => settleAttempt(ctx, plan.attemptId, answer));
      if (error instanceof ExotelError && error.permanent) {
        throw new Refused(error.code, plan.part.key === messageId && plan.last ? error.message : `${error.message} (${plan.part.label})`);
      }
      throw error;
    }
    await transact(async (ctx) => {
      await settleAttempt(ctx, plan.attemptId, { state: 'accepted', providerMessageId: sid });
      await noteSid(ctx, messageId, sid);
    });
    if (plan.last) {
      await transact((ctx) => markExotelSent(ctx, messageId, plan.from, plan.firstSid ?? sid));
      return 'sent';
    }
  }
  return 'skipped';
}

/**
 * A dead send whose message a status callback already moved on (a part of several was delivered, a
 * later one could not be sent): the message is failed all the same, naming the part.
 */
async function failUnfinishedParts(ctx: Ctx, messageId: string, reason: { code: string; message: string }): Promise<void> {
  const rows = await ctx.sql`
    update app.messages m set status = 'failed', failed_at = now(), error_code = ${reason.code}, error_message = ${reason.message}
    where m.id = ${messageId} and m.org_id = ${ctx.orgId} and m.status in ('sent', 'delivered')
      and (select a.state from app.send_attempts a where a.org_id = m.org_id and a.message_id = m.id order by a.started_at desc, a.id desc limit 1) <> 'accepted'
    returning m.id`;
  if (rows.length) await announceMessage(ctx, messageId, { action: 'message.send_failed', data: reason });
}

export const sendExotelMessageJob = defineJob({
  ...jobSpecs.exotelSend,
  async perform({ transact, payload }) {
    await sendQueuedExotel(transact, payload.messageId);
  },
  async onDead({ ctx, payload, job, error }) {
    const reason = deadReason(job, error);
    if (!(await markSendFailed(ctx, payload.messageId, reason))) await failUnfinishedParts(ctx, payload.messageId, reason);
  },
  // A person decided to send again: an earlier call whose outcome stayed unknown is abandoned (a known
  // sid is still reconciled first, so what Exotel accepted is not sent twice).
  async onRetry({ ctx, payload }) {
    if (await requeueFailedMessage(ctx, payload.messageId)) await abandonOpenAttempts(ctx, payload.messageId);
  },
});

// ---------------------------------------------------------------------------------------------
// Click-to-call
// ---------------------------------------------------------------------------------------------

async function failCall(ctx: Ctx, messageId: string, code: string, message: string) {
  const rows = await ctx.sql`
    update app.messages set status = 'failed', failed_at = now(), error_code = ${code.slice(0, 100)}, error_message = ${message.slice(0, 1000)}
    where id = ${messageId} and org_id = ${ctx.orgId} and status = 'ringing' and provider_message_id is null returning id`;
  if (rows.length) await announceMessage(ctx, messageId, { action: 'message.call_failed', data: { code } });
}

export const connectCallJob = defineJob({
  ...jobSpecs.exotelCallConnect,
  async handle({ ctx, payload }) {
    const sql = ctx.sql;
    const [m] = await sql<{ id: string; channelId: string | null; status: string; providerMessageId: string | null; metadata: Record<string, any> }[]>`
      select id, channel_id, status, provider_message_id, metadata from app.messages
      where id = ${payload.messageId} and org_id = ${ctx.orgId} and kind = 'call' for update`;
    if (!m || m.providerMessageId || m.status !== 'ringing') return;
    const channel = await loadExotelChannel(ctx, m.channelId);
    if (!channel || channel.kind !== 'voice' || channel.status === 'disabled') {
      await failCall(ctx, m.id, 'no_channel', 'No active voice channel to call from');
      return;
    }
    try {
      const creds = credentialsOf(channel);
      const { sid } = await exotelAdapter().connectCall(creds, {
        from: m.metadata.agentPhone,
        to: m.metadata.customerPhone,
        callerId: channel.address,
        record: (channel.settings as ExotelSettings).record ?? true,
        statusCallback: statusCallbackFor(channel),
        customField: m.id,
      });
      await sql`
        update app.messages set provider_message_id = ${sid},
          external_ids = case when external_ids @> array[${sid}]::text[] then external_ids else external_ids || array[${sid}]::text[] end
        where id = ${m.id}`;
      await announceMessage(ctx, m.id, { action: 'message.call_placed', data: { provider: 'exotel', sid } });
    } catch (error) {
      if (error instanceof ExotelError && !error.permanent) throw error;
      await failCall(ctx, m.id, error instanceof ExotelError ? error.code : 'call_failed', (error as Error).message);
    }
  },
  async onDead({ ctx, payload, error }) {
    await failCall(ctx, payload.messageId, 'call_failed', error.slice(0, 600));
  },
});
