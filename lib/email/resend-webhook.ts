// Resend's delivery reports (api/webhooks/resend.ts): the Svix signature is checked on the raw body,
// the event is stored once in app.webhook_events (svix-id is the dedupe key), and the outbound message
// it reports on (found by the provider's email id) moves forward with the owning organization's system
// claims: sent, delivered, opened (read), bounced, failed; complaints and bounces also mark the
// recipient contact. The status trigger ignores reports that arrive out of order.
import { Webhook, WebhookVerificationError } from 'svix/dist/webhook.js';
import * as z from 'zod';
import { config } from '../config.js';
import { asSystem, type Ctx, type QueuedJob } from '../context.js';
import { db } from '../db/client.js';
import { AppError } from '../errors.js';
import { errorResponse } from '../http/errors.js';
import { readBody, requestIdOf, toErrorResponse } from '../http/route.js';
import { finishWebhookEvent, storeWebhookEvent } from '../http/webhook-events.js';
import { publishJobs } from '../jobs/publish.js';
import { log } from '../log.js';
import { recordChange, topics } from '../realtime.js';
import { normalizeMessageId } from './message-id.js';
import { announceMessage } from '../messages/announce.js';

const recipients = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));

/** The parts of a Resend email event we act on; everything else is kept in the stored payload. */
export const resendEvent = z
  .object({
    type: z.string().min(1).max(100),
    created_at: z.string().optional(),
    data: z
      .object({
        email_id: z.string().min(1).max(200).optional(),
        message_id: z.string().max(1000).optional(),
        created_at: z.string().optional(),
        to: recipients.optional(),
        tags: z.union([z.record(z.string(), z.string()), z.array(z.object({ name: z.string(), value: z.string() }))]).optional(),
        bounce: z.object({ message: z.string().optional(), type: z.string().optional(), subType: z.string().optional() }).loose().optional(),
        failed: z.object({ reason: z.string().optional() }).loose().optional(),
        suppressed: z.object({ message: z.string().optional(), type: z.string().optional() }).loose().optional(),
      })
      .loose(),
  })
  .loose();
export type ResendEvent = z.infer<typeof resendEvent>;

type Outcome = 'processed' | 'ignored' | 'duplicate';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function unauthorized(message: string): AppError {
  return new AppError('unauthorized', message);
}

/** Verifies svix-id / svix-timestamp / svix-signature over the raw body (five minutes' tolerance). */
export function verifyResendSignature(raw: string, headers: Headers, secret: string | undefined): void {
  // Reject by default: without a configured secret no report is believed.
  if (!secret) throw unauthorized('Resend webhooks are not configured (RESEND_WEBHOOK_SECRET is unset)');
  const id = headers.get('svix-id');
  const timestamp = headers.get('svix-timestamp');
  const signature = headers.get('svix-signature');
  if (!id || !timestamp || !signature) throw unauthorized('Missing svix-id, svix-timestamp or svix-signature');
  try {
    new Webhook(secret).verify(raw, { 'svix-id': id, 'svix-timestamp': timestamp, 'svix-signature': signature });
  } catch (error) {
    if (error instanceof WebhookVerificationError) throw unauthorized(`Invalid webhook signature: ${error.message}`);
    throw unauthorized('Invalid webhook signature');
  }
}

function tagsOf(event: ResendEvent): Record<string, string> {
  const tags = event.data.tags;
  if (!tags) return {};
  return Array.isArray(tags) ? Object.fromEntries(tags.map((t) => [t.name, t.value])) : tags;
}

/** The outbound message an event reports on, across organizations (as the owner: no claims yet). */
async function findMessage(event: ResendEvent): Promise<{ id: string; orgId: string } | undefined> {
  const sql = await db();
  const emailId = event.data.email_id;
  if (emailId) {
    const [row] = await sql<{ id: string; orgId: string }[]>`
      select id, org_id from app.messages where external_ids @> ${[emailId]}::text[] and direction = 'outbound' limit 1`;
    if (row) return row;
  }
  // A report that overtakes the send's own commit: our tags name the message and its organization.
  const tags = tagsOf(event);
  if (tags.message_id && tags.org_id && UUID.test(tags.message_id) && UUID.test(tags.org_id)) {
    const [row] = await sql<{ id: string; orgId: string }[]>`
      select id, org_id from app.messages where id = ${tags.message_id} and org_id = ${tags.org_id} and direction = 'outbound'`;
    return row;
  }
  return undefined;
}

const STATUS_FOR: Record<string, { status: string; at?: 'sent_at' | 'delivered_at' | 'read_at'; failure?: boolean }> = {
  'email.sent': { status: 'sent', at: 'sent_at' },
  'email.delivered': { status: 'delivered', at: 'delivered_at' },
  'email.opened': { status: 'read', at: 'read_at' },
  'email.bounced': { status: 'bounced', failure: true },
  'email.failed': { status: 'failed', failure: true },
  'email.suppressed': { status: 'failed', failure: true },
};

function failureOf(event: ResendEvent): { code: string; message: string } {
  const d = event.data;
  if (event.type === 'email.bounced') {
    const code = ['bounced', d.bounce?.type, d.bounce?.subType].filter(Boolean).join(':').toLowerCase().replace(/\s+/g, '_');
    return { code, message: d.bounce?.message ?? 'The recipient server rejected the message' };
  }
  if (event.type === 'email.suppressed') {
    return { code: 'suppressed', message: d.suppressed?.message ?? 'Resend did not send to a suppressed recipient' };
  }
  return { code: 'provider_failed', message: d.failed?.reason ?? 'Resend could not send the message' };
}

/** The recipients a bounce or complaint is about: those its text names, else the only recipient. */
function affectedRecipients(event: ResendEvent): string[] {
  const to = (event.data.to ?? []).map((a) => (/<([^>]+)>/.exec(a)?.[1] ?? a).trim().toLowerCase()).filter((a) => a.includes('@'));
  const text = `${event.data.bounce?.message ?? ''} ${event.data.suppressed?.message ?? ''}`.toLowerCase();
  const named = to.filter((a) => text.includes(a));
  if (named.length) return named;
  return to.length === 1 ? to : [];
}

async function markContacts(ctx: Ctx, addresses: string[], status: 'bounced' | 'complained'): Promise<void> {
  if (addresses.length === 0) return;
  // A complaint outranks a bounce: a bounce never overwrites it.
  const rows = await ctx.sql<{ id: string }[]>`
    update app.contacts set email_status = ${status}
    where org_id = ${ctx.orgId} and email = any(${addresses}::text[]) and deleted_at is null
      and ${status === 'bounced' ? ctx.sql`email_status = 'ok'` : ctx.sql`email_status <> 'complained'`}
    returning id`;
  if (rows.length === 0) return;
  // Loaded on demand: the contacts service brings phone-number metadata the webhook rarely needs.
  const { getContact } = await import('../contacts/service.js');
  for (const { id } of rows) {
    await recordChange(ctx, {
      event: 'contact.updated',
      topics: [topics.org(ctx.orgId)],
      data: await getContact(ctx, id),
      audit: { action: `contact.email_${status}`, entityType: 'contact', entityId: id, data: { source: 'resend' } },
    });
  }
}

/** Applies one event to its message under the organization's system claims; 'ignored' when it changes nothing we track. */
export async function applyResendEvent(ctx: Ctx, messageId: string, event: ResendEvent): Promise<'processed' | 'ignored'> {
  const sql = ctx.sql;
  const at = new Date(event.created_at ?? event.data.created_at ?? Date.now());
  const when = Number.isNaN(at.getTime()) ? new Date() : at;
  // Every id the message is known by: the provider's, and the Message-ID as the provider rewrote it.
  const ids = [event.data.email_id, normalizeMessageId(event.data.message_id)].filter((x): x is string => !!x);
  const [before] = await sql<{ status: string; threadId: string }[]>`
    select status, thread_id from app.messages where id = ${messageId} and org_id = ${ctx.orgId} for update`;
  if (!before) return 'ignored';
  await sql`
    update app.messages set external_ids = array(
      select x from unnest(external_ids || ${ids}::text[]) with ordinality as e(x, n) group by x order by min(n))
    where id = ${messageId} and not (external_ids @> ${ids}::text[])`;

  const mapping = STATUS_FOR[event.type];
  if (mapping) {
    const [after] = await sql<{ status: string }[]>`
      update app.messages set status = ${mapping.status}
        ${mapping.at ? sql`, ${sql(mapping.at)} = coalesce(${sql(mapping.at)}, ${when})` : sql``}
      where id = ${messageId} returning status`;
    const changed = after!.status === mapping.status && before.status !== mapping.status;
    if (changed && mapping.failure) {
      const failure = failureOf(event);
      await sql`
        update app.messages set failed_at = ${when}, error_code = ${failure.code.slice(0, 100)}, error_message = ${failure.message.slice(0, 1000)}
        where id = ${messageId}`;
    }
    if (event.type === 'email.bounced') await markContacts(ctx, affectedRecipients(event), 'bounced');
    if (changed) await announceMessage(ctx, messageId, { action: `message.${mapping.status}`, data: { provider: 'resend', event: event.type } });
    return 'processed';
  }
  if (event.type === 'email.complained' || event.type === 'email.delivery_delayed') {
    // The status stays; the report is kept on the message for the people reading it.
    const key = event.type === 'email.complained' ? 'complainedAt' : 'deliveryDelayedAt';
    await sql`update app.messages set metadata = metadata || ${sql.json({ [key]: when.toISOString() })} where id = ${messageId}`;
    if (event.type === 'email.complained') await markContacts(ctx, affectedRecipients(event), 'complained');
    await announceMessage(ctx, messageId, { action: event.type.replace('email.', 'message.'), data: { provider: 'resend' } });
    return 'processed';
  }
  return 'ignored';
}

/** POST /api/webhooks/resend: verify, store once, apply. 200 when done or when it can never apply. */
export async function receiveResendWebhook(request: Request): Promise<Response> {
  const requestId = requestIdOf(request);
  const headers = new Headers({ 'x-request-id': requestId });
  const reply = (outcome: Outcome) => Response.json({ outcome }, { headers });
  try {
    const raw = await readBody(request, config().maxBodyBytes);
    verifyResendSignature(raw, request.headers, config().email.resendWebhookSecret);
    const svixId = request.headers.get('svix-id')!;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const parsed = resendEvent.safeParse(json);
    const stored = await storeWebhookEvent({
      provider: 'resend',
      dedupeKey: svixId,
      kind: parsed.success ? parsed.data.type : 'invalid',
      headers: { 'svix-id': svixId, 'svix-timestamp': request.headers.get('svix-timestamp'), 'user-agent': request.headers.get('user-agent') },
      payload: json,
      rawBody: raw,
    });
    if (stored === 'duplicate') return reply('duplicate');
    if (!parsed.success) {
      log.warn('resend webhook: payload is not an event', { requestId, svixId });
      await finishWebhookEvent(stored.id, 'ignored', { error: 'payload is not a Resend event' });
      return reply('ignored');
    }
    const event = parsed.data;
    const target = event.type.startsWith('email.') ? await findMessage(event) : undefined;
    if (!target) {
      await finishWebhookEvent(stored.id, 'ignored', { error: event.type.startsWith('email.') ? 'no message with this email id' : 'not an email event' });
      return reply('ignored');
    }
    const jobs: QueuedJob[] = [];
    let outcome: 'processed' | 'ignored';
    try {
      outcome = await asSystem(target.orgId, requestId, jobs, (ctx) => applyResendEvent(ctx, target.id, event));
    } catch (error) {
      await finishWebhookEvent(stored.id, 'failed', { orgId: target.orgId, error });
      throw error;
    }
    await finishWebhookEvent(stored.id, outcome, { orgId: target.orgId });
    if (jobs.length) await publishJobs(jobs);
    log.info('resend webhook', { requestId, svixId, type: event.type, outcome, orgId: target.orgId, messageId: target.id });
    return reply(outcome);
  } catch (error) {
    if (error instanceof AppError) return errorResponse(error, requestId, headers);
    return toErrorResponse(error, requestId, request, headers);
  }
}
