// The `email.send` job: one queued outbound email message leaves through the configured adapter
// (Resend, or the local .eml sink) with its threading headers and thread token, exactly once per
// message id (the provider's idempotency key). Success marks it sent; a refusal no retry can fix
// marks it failed at once; anything else retries until the attempts or the deadline run out, and
// then onDead marks it failed for a person to look at.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { AppError, invalid, notFound } from '../errors.js';
import { defineJob, PermanentJobError, type JobInfo, type Transact } from '../jobs/registry.js';
import { beginAttempt, latestAttempt, NOTHING_SENT, settleAttempt, type SendAttempt } from '../jobs/send-attempts.js';
import { jobSpecs } from '../jobs/specs.js';
import { log } from '../log.js';
import { announceMessage } from '../messages/announce.js';
import { recordChange, topics } from '../realtime.js';
import { composeEmail, threadTokenMode, type ComposedAttachment, type ComposedEmail } from './compose.js';
import { normalizeMessageId } from './message-id.js';
import { mailSender, withSignatures } from './signature.js';
import { OutboundError, outboundAdapter, type SendingDomainStatus } from './outbound.js';

export { parseThreadToken, threadTokenFor } from './compose.js';

/** Resend takes 40 MB per email after base64: about 30 MB of files. */
const MAX_ATTACHMENT_BYTES = 30 * 1024 * 1024;

/** A refusal no retry can fix; `[code] message` travels to onDead through the job's last error. */
class SendRefused extends PermanentJobError {
  constructor(code: string, message: string) {
    super(`[${code}] ${message}`);
  }
}

const recipients = z.array(z.object({ address: z.string().trim().min(3).max(320), name: z.string().nullish() }).loose());

interface MessageRow {
  id: string;
  threadId: string;
  channelId: string | null;
  channel: string;
  kind: string;
  direction: string;
  status: string;
  fromName: string | null;
  toRecipients: unknown;
  ccRecipients: unknown;
  bccRecipients: unknown;
  replyTo: string | null;
  subject: string | null;
  bodyText: string | null;
  bodyHtml: string | null;
  rfcMessageId: string | null;
  inReplyTo: string | null;
  referencesIds: string[];
  occurredAt: Date;
  authorId: string | null;
  /** RFC 3834's Auto-Submitted value of an automated reply (a workflow's), else null. */
  autoSubmitted: string | null;
}

interface ChannelRow {
  id: string;
  kind: string;
  address: string;
  status: string;
  settings: Record<string, unknown> | null;
  sendingDomainStatus: SendingDomainStatus | null;
}

interface ThreadMessage {
  rfcMessageId: string;
  inReplyTo: string | null;
  referencesIds: string[];
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/**
 * Asks the provider whether the mailbox's sending domain is verified and stores the answer in
 * `channels.sending_domain_status` (`channel.updated` when it changed). The local sink always says verified.
 */
export async function refreshSendingDomainStatus(ctx: Ctx, channelId: string): Promise<{ channelId: string; domain: string; status: SendingDomainStatus }> {
  const [channel] = await ctx.sql<ChannelRow[]>`
    select id, kind, address, status, settings, sending_domain_status from app.channels where id = ${channelId} and org_id = ${ctx.orgId}`;
  if (!channel) throw notFound('Channel');
  if (channel.kind !== 'email') throw invalid('channelId', 'is not an email channel');
  const domain = domainOf(channel.address);
  let status: SendingDomainStatus;
  try {
    status = await outboundAdapter().sendingDomainStatus(domain);
  } catch (error) {
    if (error instanceof OutboundError) throw new AppError('unavailable', `Could not check ${domain} with the email provider: ${error.message}`);
    throw error;
  }
  if (status !== channel.sendingDomainStatus) {
    await ctx.sql`update app.channels set sending_domain_status = ${status} where id = ${channelId}`;
    await recordChange(ctx, {
      event: 'channel.updated',
      topics: [topics.org(ctx.orgId)],
      data: { id: channelId, sendingDomainStatus: status },
      audit: { action: 'channel.sending_domain_checked', entityType: 'channel', entityId: channelId, data: { domain, status } },
    });
  }
  return { channelId, domain, status };
}

async function loadAttachments(ctx: Ctx, messageId: string): Promise<ComposedAttachment[]> {
  const rows = await ctx.sql<
    { filename: string; contentType: string; storagePath: string; contentId: string | null; isInline: boolean; status: string; sizeBytes: number | null }[]
  >`
    select filename, content_type, storage_path, content_id, is_inline, status, size_bytes
    from app.attachments where org_id = ${ctx.orgId} and message_id = ${messageId} order by created_at, id`;
  if (rows.length === 0) return [];
  for (const a of rows) {
    if (a.status === 'quarantined') throw new SendRefused('attachment_quarantined', `The attachment ${a.filename} was quarantined and cannot be sent`);
    // Still uploading: a later attempt may find it ready.
    if (a.status !== 'ready') throw new Error(`The attachment ${a.filename} is not uploaded yet (${a.status})`);
  }
  const declared = rows.reduce((n, a) => n + Number(a.sizeBytes ?? 0), 0);
  if (declared > MAX_ATTACHMENT_BYTES) throw new SendRefused('attachments_too_large', 'The attachments exceed the 30 MB an email may carry');
  // Loaded on demand: lib/storage picks Supabase Storage or local files from the configuration.
  const { storage, StorageError } = await import('../storage/index.js');
  const out: ComposedAttachment[] = [];
  for (const a of rows) {
    let content: Buffer;
    try {
      content = await storage().getObject(a.storagePath);
    } catch (error) {
      if (error instanceof StorageError && error.kind === 'not_found') {
        throw new SendRefused('attachment_missing', `The file of the attachment ${a.filename} is missing from storage`);
      }
      throw error;
    }
    out.push({ filename: a.filename, contentType: a.contentType, content, contentId: a.isInline ? a.contentId : null });
  }
  return out;
}

/** The message a reply answers: the latest inbound one, else the latest one; and the thread's first. */
async function threadContext(ctx: Ctx, m: MessageRow): Promise<{ parent: ThreadMessage | null; root: string | null }> {
  const sql = ctx.sql;
  const earlier = () => sql`
    from app.messages
    where org_id = ${ctx.orgId} and thread_id = ${m.threadId} and id <> ${m.id} and channel = 'email'
      and rfc_message_id is not null and occurred_at <= ${m.occurredAt}
      and (direction = 'inbound' or status in ('sent', 'delivered', 'read', 'bounced'))`;
  const [root] = await sql<{ rfcMessageId: string }[]>`select rfc_message_id ${earlier()} order by occurred_at, arrival limit 1`;
  let parent: ThreadMessage | undefined;
  if (m.inReplyTo) {
    // The reply names the message it answers: use it (and its chain when we have it).
    const id = normalizeMessageId(m.inReplyTo);
    const candidates = id ? [id, `<${id}>`] : [];
    [parent] = await sql<ThreadMessage[]>`
      select rfc_message_id, in_reply_to, references_ids from app.messages
      where org_id = ${ctx.orgId} and thread_id = ${m.threadId} and id <> ${m.id}
        and (rfc_message_id = any(${candidates}::text[]) or external_ids && ${candidates}::text[])
      limit 1`;
    parent ??= { rfcMessageId: m.inReplyTo, inReplyTo: null, referencesIds: m.referencesIds };
  } else {
    [parent] = await sql<ThreadMessage[]>`
      select rfc_message_id, in_reply_to, references_ids ${earlier()}
      order by (direction = 'inbound') desc, occurred_at desc, arrival desc limit 1`;
  }
  return { parent: parent ?? null, root: root?.rfcMessageId ?? null };
}

interface PreparedEmail {
  messageId: string;
  email: ComposedEmail;
  channel: ChannelRow;
  idempotencyKey: string;
  attemptId: string;
}

/**
 * The Resend idempotency key for the next attempt. Resend keeps the key of every email it sent for 24
 * hours and answers a repeat with the first email's id, sending nothing: so a key that may have been
 * accepted (an attempt with no answer recorded, or an accepted one) is reused, and the message goes out
 * at most once. A new key only when Resend certainly sent nothing under the last one (it refused the
 * request, or no attempt reached it): the retry is then a request of its own, not a replay.
 */
export function nextIdempotencyKey(messageId: string, last: (SendAttempt & { count: number }) | null): string {
  if (!last) return messageId;
  if (NOTHING_SENT.includes(last.state)) return `${messageId}/${last.count + 1}`;
  return last.idempotencyKey;
}

/** What Resend's error answer says about the attempt: refused and temporary answers sent nothing. */
function answerOf(error: OutboundError): { state: 'refused' | 'failed' | 'accepted'; error: string } | null {
  if (error.status === null) return null; // no answer (network, timeout): the outcome stays unknown
  const text = `${error.code}: ${error.message}`;
  // The key was used before for an email Resend sent, with other content: that email went out.
  if (error.code === 'invalid_idempotent_request') return { state: 'accepted', error: text };
  return { state: error.permanent ? 'refused' : 'failed', error: text };
}

/** Loads, checks and composes a queued message and records the attempt (committed before the call). */
async function prepareEmail(ctx: Ctx, messageId: string, provider: 'resend' | 'local'): Promise<PreparedEmail | null> {
  const sql = ctx.sql;
  const [m] = await sql<MessageRow[]>`
    select id, thread_id, channel_id, channel, kind, direction, status, from_name, to_recipients, cc_recipients,
      bcc_recipients, reply_to, subject, body_text, body_html, rfc_message_id, in_reply_to, references_ids, occurred_at, author_id,
      metadata ->> 'autoSubmitted' as auto_submitted
    from app.messages where id = ${messageId} and org_id = ${ctx.orgId} for update`;
  if (!m) {
    log.warn('email.send: no such message', { messageId, orgId: ctx.orgId });
    return null;
  }
  if (m.direction !== 'outbound' || m.channel !== 'email' || m.kind !== 'message') {
    throw new SendRefused('not_outbound_email', 'Only outbound email messages are sent by email.send');
  }
  // Sent, failed or bounced already (a redelivery), or still a draft: nothing to do.
  if (m.status !== 'queued') return null;

  const [thread] = await sql<{ subject: string; channelId: string | null }[]>`
    select subject, channel_id from app.threads where id = ${m.threadId} and org_id = ${ctx.orgId}`;
  const channelId = m.channelId ?? thread?.channelId ?? null;
  const [channel] = channelId
    ? await sql<ChannelRow[]>`
        select id, kind, address, status, settings, sending_domain_status from app.channels where id = ${channelId} and org_id = ${ctx.orgId}`
    : [];
  if (!channel || channel.kind !== 'email') throw new SendRefused('no_mailbox', 'The message has no email channel to send from');
  if (channel.status === 'disabled') throw new SendRefused('mailbox_disabled', `The mailbox ${channel.address} is disabled`);

  const to = recipients.safeParse(m.toRecipients ?? []);
  const cc = recipients.safeParse(m.ccRecipients ?? []);
  const bcc = recipients.safeParse(m.bccRecipients ?? []);
  if (!to.success || !cc.success || !bcc.success) throw new SendRefused('invalid_recipients', 'The recipients are not a list of { address, name }');
  if (to.data.length + cc.data.length + bcc.data.length === 0) throw new SendRefused('no_recipients', 'The message has no recipients');

  let domainStatus = channel.sendingDomainStatus;
  if (domainStatus !== 'verified') domainStatus = (await refreshSendingDomainStatus(ctx, channel.id)).status;
  if (domainStatus !== 'verified') {
    throw new SendRefused(
      'domain_not_verified',
      `The sending domain ${domainOf(channel.address)} is not verified with Resend (${domainStatus}): add its DNS records in Resend, then send again`,
    );
  }

  const { parent, root } = await threadContext(ctx, m);
  const settings = channel.settings ?? {};
  const sender = await mailSender(ctx, m.authorId, settings);
  const html = m.bodyHtml?.trim() ? m.bodyHtml : null;
  // HTML-only replies get a text part too (loaded on demand: the HTML tooling is heavy).
  const text = m.bodyText ?? (html ? (await import('./html.js')).htmlToText(html) : '');
  const signed = withSignatures({ html, text }, sender.signatures);
  const email = composeEmail({
    messageRowId: m.id,
    orgId: ctx.orgId,
    threadId: m.threadId,
    mailbox: channel.address,
    fromName: sender.name,
    to: to.data,
    cc: cc.data,
    bcc: bcc.data,
    replyTo: m.replyTo,
    subject: m.subject ?? thread?.subject ?? '',
    text: signed.text,
    html: signed.html,
    messageId: m.rfcMessageId,
    parent: parent ? { id: parent.rfcMessageId, references: parent.referencesIds, inReplyTo: parent.inReplyTo } : null,
    rootId: root,
    tokenMode: threadTokenMode(settings),
    attachments: await loadAttachments(ctx, m.id),
    ...(m.autoSubmitted ? { headers: { 'Auto-Submitted': m.autoSubmitted } } : {}),
  });

  const idempotencyKey = nextIdempotencyKey(m.id, await latestAttempt(ctx, m.id));
  const attemptId = await beginAttempt(ctx, { messageId: m.id, provider, idempotencyKey });
  return { messageId: m.id, email, channel, idempotencyKey, attemptId };
}

/** Marks the message sent under the provider's id, with the headers it went out with. */
async function recordSent(ctx: Ctx, p: PreparedEmail, providerMessageId: string): Promise<void> {
  const { email, channel } = p;
  const ids = [email.messageId, providerMessageId];
  await ctx.sql`
    update app.messages set
      status = 'sent', sent_at = coalesce(sent_at, now()), error_code = null, error_message = null,
      rfc_message_id = ${email.messageId}, in_reply_to = ${email.inReplyTo}, references_ids = ${email.references}::text[],
      subject = ${email.subject}, reply_to = ${email.replyTo}, from_address = ${channel.address}, from_name = ${email.from.name ?? null},
      body_text = ${email.text}, body_html = ${email.html},
      channel_id = coalesce(channel_id, ${channel.id}::uuid), provider_message_id = ${providerMessageId},
      external_ids = array(
        select x from unnest(external_ids || ${ids}::text[]) with ordinality as e(x, n) group by x order by min(n))
    where id = ${p.messageId}`;
  await announceMessage(ctx, p.messageId, { action: 'message.sent', data: { providerMessageId, rfcMessageId: email.messageId } });
}

/**
 * Sends one queued outbound email message in three steps: check, compose and record the attempt
 * (committed), call the provider outside any transaction, record the answer and the sent message.
 * A crash between the call and the last commit leaves an attempt without an answer: the next run
 * reuses its idempotency key, so Resend answers with the first email and sends nothing twice.
 */
export async function sendQueuedEmail(transact: Transact, messageId: string): Promise<'sent' | 'skipped'> {
  const adapter = outboundAdapter();
  const prepared = await transact((ctx) => prepareEmail(ctx, messageId, adapter.kind));
  if (!prepared) return 'skipped';
  let providerMessageId: string;
  try {
    ({ providerMessageId } = await adapter.send(prepared.email, { idempotencyKey: prepared.idempotencyKey }));
  } catch (error) {
    const answer = error instanceof OutboundError ? answerOf(error) : null;
    if (answer) await transact((ctx) => settleAttempt(ctx, prepared.attemptId, answer));
    if (error instanceof OutboundError && error.permanent) throw new SendRefused(error.code, error.message);
    throw error;
  }
  await transact(async (ctx) => {
    await settleAttempt(ctx, prepared.attemptId, { state: 'accepted', providerMessageId });
    await recordSent(ctx, prepared, providerMessageId);
  });
  return 'sent';
}

/** Why a send job died, as the message's error_code and error_message. */
export function deadReason(job: Pick<JobInfo, 'attempts' | 'maxAttempts'>, error: string): { code: string; message: string } {
  const refused = /\[([a-z0-9_]+)\] ([\s\S]*)$/.exec(error);
  if (refused && error.startsWith('PermanentJobError')) return { code: refused[1]!, message: refused[2]!.slice(0, 1000) };
  const last = error.replace(/^[A-Za-z]*Error: /, '').slice(0, 600);
  if (job.attempts >= job.maxAttempts) {
    return { code: 'send_attempts_exhausted', message: `Not sent after ${job.attempts} attempts (last error: ${last}); needs a person` };
  }
  return { code: 'send_deadline_passed', message: `Not sent before its deadline (last error: ${last}); needs a person` };
}

/** Marks a message that will not be sent as failed (only while it is still waiting to go). */
export async function markSendFailed(ctx: Ctx, messageId: string, reason: { code: string; message: string }): Promise<boolean> {
  const rows = await ctx.sql`
    update app.messages set status = 'failed', failed_at = now(), error_code = ${reason.code}, error_message = ${reason.message}
    where id = ${messageId} and org_id = ${ctx.orgId} and status in ('draft', 'queued')
    returning id`;
  if (rows.length === 0) return false;
  await announceMessage(ctx, messageId, { action: 'message.send_failed', data: reason });
  return true;
}

/**
 * Puts a failed outbound message back in the queue, for the retry of its dead send job (the status
 * otherwise never moves backwards). False when the message is not failed (sent, bounced, a draft).
 */
export async function requeueFailedMessage(ctx: Ctx, messageId: string): Promise<boolean> {
  await ctx.sql`select set_config('app.requeue_message', ${messageId}, true)`;
  const rows = await ctx.sql`
    update app.messages set status = 'queued', failed_at = null, error_code = null, error_message = null
    where id = ${messageId} and org_id = ${ctx.orgId} and status = 'failed' and direction = 'outbound' and kind = 'message'
    returning id`;
  await ctx.sql`select set_config('app.requeue_message', '', true)`;
  if (rows.length === 0) return false;
  await announceMessage(ctx, messageId, { action: 'message.requeued' });
  return true;
}

export const sendEmail = defineJob({
  ...jobSpecs.emailSend,
  async perform({ transact, payload }) {
    await sendQueuedEmail(transact, payload.messageId);
  },
  async onDead({ ctx, payload, job, error }) {
    await markSendFailed(ctx, payload.messageId, deadReason(job, error));
  },
  async onRetry({ ctx, payload }) {
    await requeueFailedMessage(ctx, payload.messageId);
  },
});
