// Exotel jobs: copying media and call recordings into storage (only from Exotel's hosts over https,
// never a private address), sending queued WhatsApp messages and SMS, and placing click-to-call calls.
// Each send leaves once per message (it is marked sent with the provider's sid in the same
// transaction); a refusal no retry can fix marks the message failed at once.
import { enqueueTranscription, jobSpecs } from '../jobs/specs.js';
import { config } from '../config.js';
import type { Ctx } from '../context.js';
import { storeInboundAttachment } from '../attachments/service.js';
import { HostRefusedError, resolvePublicHost } from '../channels/net-guard.js';
import { readCapped } from '../http/body.js';
import { deadReason, markSendFailed } from '../email/send-job.js';
import { announceMessage } from '../messages/announce.js';
import { defineJob, PermanentJobError } from '../jobs/registry.js';
import { log } from '../log.js';
import { ExotelError, exotelAdapter, type WhatsAppContent } from './adapter.js';
import { credentialsOf, loadExotelChannel, normalizePhone, statusCallbackFor, type ExotelSettings } from './common.js';

class Refused extends PermanentJobError {
  constructor(code: string, message: string) {
    super(`[${code}] ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Media and recordings
// ---------------------------------------------------------------------------------------------

const PROVIDER_DOMAINS = ['exotel.com', 'exotel.in'];

/** Why a media URL may not be fetched, or null when it may: https on *.exotel.com / *.exotel.in (or a configured extra host), public addresses only. */
export async function mediaUrlRefusal(value: string): Promise<string | null> {
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
  if (!provider && !listed) return `${host} is not an Exotel host`;
  if (url.protocol !== 'https:' && !(listed && url.protocol === 'http:')) return 'must be https';
  if (url.username || url.password) return 'must not carry credentials';
  try {
    await resolvePublicHost(host);
  } catch (error) {
    if (error instanceof HostRefusedError) return error.message;
    throw error;
  }
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
    const refusal = await mediaUrlRefusal(payload.url);
    if (refusal) {
      await ctx.sql`update app.messages set metadata = metadata || ${ctx.sql.json({ mediaError: `not fetched: ${refusal}` })} where id = ${m.id}`;
      log.warn('exotel media: URL refused', { messageId: m.id, reason: refusal });
      return;
    }
    const headers: Record<string, string> = {};
    const channel = await loadExotelChannel(ctx, m.channelId);
    if (channel) {
      try {
        const creds = credentialsOf(channel);
        headers.authorization = `Basic ${Buffer.from(`${creds.apiKey}:${creds.apiToken}`).toString('base64')}`;
      } catch {
        // Public media needs no login.
      }
    }
    const res = await fetch(payload.url, { headers, redirect: 'error', signal: AbortSignal.timeout(30_000) });
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
}

/** Sends one queued WhatsApp message or SMS through Exotel. */
export async function sendQueuedExotel(ctx: Ctx, messageId: string): Promise<'sent' | 'skipped'> {
  const sql = ctx.sql;
  const [m] = await sql<OutboundRow[]>`
    select id, thread_id, channel, channel_id, kind, direction, status, to_recipients, body_text, template
    from app.messages where id = ${messageId} and org_id = ${ctx.orgId} for update`;
  if (!m || m.status !== 'queued') return 'skipped';
  if (m.direction !== 'outbound' || m.kind !== 'message' || (m.channel !== 'whatsapp' && m.channel !== 'sms')) {
    throw new Refused('not_outbound', 'Only outbound WhatsApp messages and SMS are sent by this job');
  }
  const channel = await loadExotelChannel(ctx, m.channelId);
  if (!channel || channel.kind !== m.channel) throw new Refused('no_channel', `The message has no ${m.channel} channel to send from`);
  if (channel.status === 'disabled') throw new Refused('channel_disabled', `The channel ${channel.name} is disabled`);
  const to = normalizePhone(m.toRecipients?.[0]?.address);
  if (!to) throw new Refused('invalid_recipient', 'The recipient is not a phone number');
  let creds;
  try {
    creds = credentialsOf(channel);
  } catch (error) {
    throw new Refused('credentials_unavailable', `${(error as Error).message}; enter the Exotel credentials again`);
  }
  const statusCallback = statusCallbackFor(channel);
  let sid: string;
  try {
    if (m.channel === 'whatsapp') {
      const content: WhatsAppContent = m.template
        ? {
            recipient_type: 'individual',
            type: 'template',
            template: {
              name: m.template.name,
              language: { code: m.template.language, policy: 'deterministic' },
              components: m.template.parameters.length
                ? [{ type: 'body', parameters: m.template.parameters.map((text) => ({ type: 'text', text })) }]
                : [],
            },
          }
        : { recipient_type: 'individual', type: 'text', text: { body: m.bodyText ?? '' } };
      ({ sid } = await exotelAdapter().sendWhatsApp(creds, { from: channel.address, to, content, statusCallback, customData: m.id }));
    } else {
      const settings = channel.settings as ExotelSettings;
      if (!settings.dltEntityId) throw new Refused('dlt_missing', 'The SMS channel has no DLT entity id');
      const templates = settings.smsTemplates ?? [];
      const template = m.template ? templates.find((t) => t.id === m.template!.name || t.name === m.template!.name) : templates[0];
      ({ sid } = await exotelAdapter().sendSms(creds, {
        from: channel.address,
        to,
        body: m.bodyText ?? '',
        statusCallback,
        customField: m.id,
        dltEntityId: settings.dltEntityId,
        dltTemplateId: template?.id,
      }));
    }
  } catch (error) {
    if (error instanceof ExotelError && error.permanent) throw new Refused(error.code, error.message);
    throw error;
  }
  await sql`
    update app.messages set status = 'sent', sent_at = coalesce(sent_at, now()), error_code = null, error_message = null,
      from_address = ${channel.address}, provider_message_id = ${sid},
      external_ids = case when external_ids @> array[${sid}]::text[] then external_ids else external_ids || array[${sid}]::text[] end
    where id = ${m.id}`;
  await announceMessage(ctx, m.id, { action: 'message.sent', data: { provider: 'exotel', sid } });
  return 'sent';
}

export const sendExotelMessageJob = defineJob({
  ...jobSpecs.exotelSend,
  async handle({ ctx, payload }) {
    await sendQueuedExotel(ctx, payload.messageId);
  },
  async onDead({ ctx, payload, job, error }) {
    await markSendFailed(ctx, payload.messageId, deadReason(job, error));
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
