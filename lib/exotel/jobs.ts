// Exotel jobs: copying media and call recordings into storage (only from Exotel's hosts over https,
// never a private address), sending queued WhatsApp messages and SMS, and placing click-to-call calls.
// Each send leaves at most once per message (an attempt committed before the call, reconciled on a
// retry); a refusal no retry can fix marks the message failed at once.
import { enqueueTranscription, jobSpecs } from '../jobs/specs.js';
import { config } from '../config.js';
import type { Ctx } from '../context.js';
import { storeInboundAttachment } from '../attachments/service.js';
import { HostRefusedError, publicFetch } from '../channels/net-guard.js';
import { readCapped } from '../http/body.js';
import { deadReason, markSendFailed, requeueFailedMessage } from '../email/send-job.js';
import { announceMessage } from '../messages/announce.js';
import { defineJob, PermanentJobError, type Transact } from '../jobs/registry.js';
import { abandonOpenAttempts, beginAttempt, latestAttempt, settleAttempt, type SendAttempt } from '../jobs/send-attempts.js';
import { log } from '../log.js';
import { ExotelError, exotelAdapter, type ExotelCredentials, type SmsDetails, type SmsSend, type WhatsAppContent, type WhatsAppSend } from './adapter.js';
import { applyDeliveryReport } from './inbound.js';
import { dltTemplateFor } from './dlt.js';
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

export const fetchMediaJob = defineJob({
  ...jobSpecs.exotelMediaFetch,
  async handle({ ctx, payload }) {
    const [m] = await ctx.sql<{ id: string; threadId: string; channelId: string | null; metadata: Record<string, any> }[]>`
      select id, thread_id, channel_id, metadata from app.messages where id = ${payload.messageId} and org_id = ${ctx.orgId}`;
    if (!m) return;
    const refuse = async (reason: string) => {
      await ctx.sql`update app.messages set metadata = metadata || ${ctx.sql.json({ mediaError: `not fetched: ${reason}` })} where id = ${m.id}`;
      log.warn('exotel media: URL refused', { messageId: m.id, reason });
    };
    const refusal = mediaUrlRefusal(payload.url);
    if (refusal) return refuse(refusal);
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
      if (error instanceof HostRefusedError) return refuse(error.message);
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
    const attachment = await storeInboundAttachment(ctx, { messageId: m.id, threadId: m.threadId, filename, contentType, content });
    if (payload.purpose === 'recording') {
      await ctx.sql`
        update app.messages set recording_path = (select storage_path from app.attachments where id = ${attachment.id})
        where id = ${m.id}`;
      await enqueueTranscription(ctx, m.id);
    }
    await announceMessage(ctx, m.id);
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
  metadata: { dltTemplateId?: string } | null;
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

type Plan =
  | { step: 'done' }
  | { step: 'send'; attemptId: string; creds: ExotelCredentials; from: string; outbound: Outbound }
  | {
      step: 'reconcile';
      attempt: SendAttempt | null;
      sid: string | null;
      creds: ExotelCredentials;
      from: string;
      kind: 'whatsapp' | 'sms';
      channel: ExotelChannel;
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

/**
 * Decides, under the message's row lock, what this run does: nothing (sent already), reconcile an
 * earlier call whose answer was never recorded, or send (the attempt is recorded and committed first).
 */
async function planSend(ctx: Ctx, messageId: string): Promise<Plan> {
  const sql = ctx.sql;
  const [m] = await sql<OutboundRow[]>`
    select id, thread_id, channel, channel_id, kind, direction, status, to_recipients, body_text, template, provider_message_id, metadata
    from app.messages where id = ${messageId} and org_id = ${ctx.orgId} for update`;
  if (!m) return { step: 'done' };
  const last = await latestAttempt(ctx, m.id);
  if (m.status !== 'queued') {
    // A status callback (it names our custom data) told the outcome before this run: close the attempt.
    if (last?.state === 'calling' && m.providerMessageId) await settleAttempt(ctx, last.id, { state: 'accepted', providerMessageId: m.providerMessageId });
    return { step: 'done' };
  }
  if (m.direction !== 'outbound' || m.kind !== 'message' || (m.channel !== 'whatsapp' && m.channel !== 'sms')) {
    throw new Refused('not_outbound', 'Only outbound WhatsApp messages and SMS are sent by this job');
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
  // Exotel accepted an earlier call and its sid was recorded, but marking the message failed: finish that.
  if (last?.state === 'accepted' && last.providerMessageId) {
    await markExotelSent(ctx, m.id, channel.address, last.providerMessageId);
    return { step: 'done' };
  }
  // Exotel reported on an earlier call (a status callback, which may come after the message failed and
  // a person put it back in the queue), or an earlier call's answer was never recorded: reconcile.
  if (m.providerMessageId || last?.state === 'calling') {
    return { step: 'reconcile', attempt: last, sid: m.providerMessageId, creds, from: channel.address, kind: m.channel, channel };
  }
  const statusCallback = statusCallbackFor(channel);
  let outbound: Outbound;
  if (m.channel === 'whatsapp') {
    outbound = { kind: 'whatsapp', request: { from: channel.address, to, content: whatsAppContent(m), statusCallback, customData: m.id } };
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
  // Custom data is the message id on every attempt: Exotel's status callbacks name it, whichever call they report on.
  const attemptId = await beginAttempt(ctx, { messageId: m.id, provider: exotelAdapter().kind, idempotencyKey: m.id });
  return { step: 'send', attemptId, creds, from: channel.address, outbound };
}

/** What an Exotel error says about the call: an answer (refused, temporary), no connection, or unknown (null). */
function answerOf(error: unknown): { state: 'refused' | 'failed' | 'unreached'; error: string } | null {
  if (!(error instanceof ExotelError) || error.answered === null) return null;
  const text = `${error.code}: ${error.message}`;
  if (error.answered === false) return { state: 'unreached', error: text };
  return { state: error.permanent ? 'refused' : 'failed', error: text };
}

/**
 * An earlier call's answer was never recorded. With a sid (a status callback brought it), an SMS is
 * confirmed through the SMS details API and a WhatsApp message is taken as accepted (Exotel documents
 * no details API for it). Without one the run waits for Exotel's status callback rather than send a
 * second copy; when none came within REPORT_WAIT_MS a person decides. True: the message may be sent anew.
 */
async function reconcile(transact: Transact, messageId: string, plan: Extract<Plan, { step: 'reconcile' }>): Promise<boolean> {
  const { attempt, sid } = plan;
  const settle = (ctx: Ctx, answer: Parameters<typeof settleAttempt>[2]) => (attempt ? settleAttempt(ctx, attempt.id, answer) : Promise.resolve());
  if (sid) {
    let details: SmsDetails | null = null;
    if (plan.kind === 'sms') {
      details = await exotelAdapter().smsDetails(plan.creds, sid);
      if (!details) {
        // Exotel never sent an SMS by that sid: forget it, and the next round sends.
        await transact(async (ctx) => {
          await settle(ctx, { state: 'unreached', error: `Exotel knows no SMS ${sid}` });
          await ctx.sql`update app.messages set provider_message_id = null where id = ${messageId} and org_id = ${ctx.orgId} and status = 'queued'`;
        });
        return true;
      }
    }
    await transact(async (ctx) => {
      await settle(ctx, { state: 'accepted', providerMessageId: sid });
      await markExotelSent(ctx, messageId, plan.from, sid);
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
    return false;
  }
  const startedAt = attempt?.startedAt ?? new Date(0);
  const waited = Date.now() - startedAt.getTime();
  if (waited < REPORT_WAIT_MS) {
    throw new AwaitingExotelReport(
      `An earlier call (${startedAt.toISOString()}) may have been accepted: waiting for Exotel's status callback for custom data ${attempt?.idempotencyKey ?? messageId} before sending again`,
    );
  }
  throw new Refused(
    'send_outcome_unknown',
    `The run that sent this message stopped before Exotel's answer was recorded, and Exotel reported nothing within ${REPORT_WAIT_MS / 60_000} minutes: it may have reached the customer. Check with them, then retry the job to send it again`,
  );
}

/**
 * Sends one queued WhatsApp message or SMS through Exotel, at most once: the attempt is committed
 * before the call, Exotel's sid right after it (a transaction of its own), then the message is marked
 * sent. A run that finds an attempt without an answer reconciles instead of calling again.
 */
export async function sendQueuedExotel(transact: Transact, messageId: string): Promise<'sent' | 'skipped'> {
  for (let round = 0; round < 2; round++) {
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
      if (error instanceof ExotelError && error.permanent) throw new Refused(error.code, error.message);
      throw error;
    }
    await transact((ctx) => settleAttempt(ctx, plan.attemptId, { state: 'accepted', providerMessageId: sid }));
    await transact((ctx) => markExotelSent(ctx, messageId, plan.from, sid));
    return 'sent';
  }
  return 'skipped';
}

export const sendExotelMessageJob = defineJob({
  ...jobSpecs.exotelSend,
  async perform({ transact, payload }) {
    await sendQueuedExotel(transact, payload.messageId);
  },
  async onDead({ ctx, payload, job, error }) {
    await markSendFailed(ctx, payload.messageId, deadReason(job, error));
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
