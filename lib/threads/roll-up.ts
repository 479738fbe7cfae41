// The one rule for what a new message does to its thread, on every channel (email, WhatsApp, SMS,
// calls) and every way in (ingest, webhook, reply, call): which thread it continues, how the thread's
// counts, timestamps and snippet roll up, when it reopens, and the `thread.*` event that says so.
import type { Ctx } from '../context.js';
import { isFiltered, type Filtered } from '../sender-rules/verdict.js';
import { notify } from '../notifications/notify.js';
import { applyServiceLevel } from '../sla/clock.js';
import { now } from '../time.js';
import { announceThreadView, threadView, threadViewColumns, type ThreadView } from './view.js';

/** A thread stays "recently resolved" this long: a customer's new message reopens it instead of starting anew. */
export const REOPEN_RESOLVED_DAYS = 30;

/** Statuses a customer's new message reopens. */
const REOPENS = ['pending', 'snoozed', 'resolved'];

/**
 * Whether a customer's message at `at` continues this thread. A closed thread is over; a resolved one
 * continues (and reopens) for REOPEN_RESOLVED_DAYS after it was resolved, measured from the message's
 * own time so an archive import decides as the live inbox would have. Mail kept out of the inbox
 * (`filter`: spam or bulk, lib/sender-rules/verdict.ts) continues only a thread kept out too, and
 * inbox mail never continues one: each starts its own thread instead.
 */
export function continuesThread(thread: { status: string; resolvedAt: Date | null }, at: Date, filter: Filtered | null = null): boolean {
  if (isFiltered(thread.status) || filter) return isFiltered(thread.status) && filter !== null;
  if (thread.status === 'closed') return false;
  if (thread.status !== 'resolved') return true;
  return thread.resolvedAt !== null && thread.resolvedAt.getTime() >= at.getTime() - REOPEN_RESOLVED_DAYS * 86_400_000;
}

export interface Arrival {
  threadId: string;
  messageId: string;
  at: Date;
  snippet: string;
  direction: 'inbound' | 'outbound';
  /**
   * Machine-made mail (auto-replies, bounces, reports): kept on the thread but never work: it does not
   * reopen the thread, move it up the inbox, mark it unread, or touch the response clocks.
   */
  automated?: boolean;
  /**
   * Mail kept out of the inbox (spam, bulk) on its own thread: it moves that thread up its list like
   * any message, but never reopens it nor counts as the customer's (no response clock).
   */
  filtered?: boolean;
  /** Whether the thread was made for this message (the event is then `thread.created`). */
  created?: boolean;
  /** Where the message came from, for the creation's audit row (`email`, `whatsapp`, `reply` ...). */
  source: string;
  /** What the message says about the thread's parties and channel, filled in where the thread has none. */
  fills?: { customerId?: string | null; contactId?: string | null; counterpart?: string | null; channelId?: string | null };
}

/** Rolls one new message into its thread, reopens it when the rule says so, and announces the thread. */
export async function rollUp(ctx: Ctx, m: Arrival): Promise<{ reopened: boolean }> {
  const sql = ctx.sql;
  const human = !m.automated;
  const inbound = m.direction === 'inbound' && human && !m.filtered;
  const outbound = m.direction === 'outbound' && human;
  const f = m.fills ?? {};
  // One statement: lock the row (reading its status before), roll up, and read the event view back.
  const [row] = await sql<(ThreadView & { before: string })[]>`
    with b as (select id, status as before from app.threads where id = ${m.threadId} and org_id = ${ctx.orgId} for update),
    u as (
    update app.threads t set
      message_count = t.message_count + 1,
      last_message_at = case when ${human} or t.last_message_at is null then greatest(t.last_message_at, ${m.at}) else t.last_message_at end,
      last_activity_at = case when ${human} then greatest(t.last_activity_at, ${m.at}) else t.last_activity_at end,
      snippet = case when t.last_message_at is null or (${human} and t.last_message_at <= ${m.at}) then ${m.snippet} else t.snippet end,
      first_inbound_at = case when ${inbound} then least(t.first_inbound_at, ${m.at}) else t.first_inbound_at end,
      last_inbound_at = case when ${inbound} then greatest(t.last_inbound_at, ${m.at}) else t.last_inbound_at end,
      first_outbound_at = case when ${outbound} then least(t.first_outbound_at, ${m.at}) else t.first_outbound_at end,
      last_outbound_at = case when ${outbound} then greatest(t.last_outbound_at, ${m.at}) else t.last_outbound_at end,
      customer_id = coalesce(t.customer_id, ${f.customerId ?? null}::uuid),
      contact_id = coalesce(t.contact_id, ${f.contactId ?? null}::uuid),
      counterpart = coalesce(t.counterpart, ${f.counterpart ?? null}),
      channel_id = coalesce(t.channel_id, ${f.channelId ?? null}::uuid),
      status = case when ${inbound} and t.status = any(${REOPENS}::text[]) then 'open' else t.status end,
      snoozed_until = case when ${inbound} and t.status = any(${REOPENS}::text[]) then null else t.snoozed_until end,
      resolved_at = case when ${inbound} and t.status = any(${REOPENS}::text[]) then null else t.resolved_at end
    from b
    where t.id = b.id
    returning t.*
    )
    select ${threadViewColumns(sql)}, b.before
    from u as t join b on b.id = t.id left join app.customers c on c.id = t.customer_id`;
  if (!row) return { reopened: false };
  const { before, ...rolled } = row;
  const reopened = inbound && REOPENS.includes(before);
  // The clocks (lib/sla/clock.ts); the view is read again only when they moved.
  const thread = (await applyServiceLevel(ctx, m.threadId)) ? ((await threadView(ctx, m.threadId)) ?? rolled) : rolled;
  await announceThreadView(
    ctx,
    m.created ? 'thread.created' : 'thread.updated',
    thread as ThreadView,
    m.created
      ? { action: 'thread.created', data: { source: m.source, messageId: m.messageId } }
      : reopened
        ? { action: 'thread.reopened', data: { source: m.source, messageId: m.messageId, from: before } }
        : undefined,
  );
  if (inbound) await notifyAssigneeOfArrival(ctx, thread as ThreadView, m);
  return { reopened };
}

/** A customer's message older than this (an archive import, a mailbox caught up after weeks) tells nobody. */
const NOTIFY_ARRIVALS_WITHIN_MS = 24 * 3_600_000;

/**
 * A customer's new message on a thread assigned to a member tells that member (notifications/notify.ts).
 * Incoming calls tell only when missed (lib/exotel/inbound.ts: `missed_call`).
 */
async function notifyAssigneeOfArrival(ctx: Ctx, thread: ThreadView, m: Arrival) {
  const assigneeId = thread.assigneeId as string | null;
  if (!assigneeId || m.source === 'exotel.voice' || m.at.getTime() < now().getTime() - NOTIFY_ARRIVALS_WITHIN_MS) return;
  await notify(ctx, [assigneeId], {
    type: 'inbound_message',
    title: `New message: ${String(thread.subject || '(no subject)').slice(0, 200)}`,
    body: m.snippet,
    threadId: m.threadId,
    entityType: 'message',
    entityId: m.messageId,
  });
}

/** The thread's sentiment and urgency look at inbound messages this recent. */
const ANALYSIS_DAYS = 7;

/**
 * The thread's intent is its latest analysed inbound message's; its sentiment the worst, and its urgency
 * the highest, among analysed inbound messages of the last 7 days (the latest one alone when none is that
 * recent, e.g. after an archive import). Machine-made mail never counts. Without any analysed message
 * the thread is left as it is, unless `clear` (its messages moved away) empties the fields. Whether the
 * thread was written.
 */
export async function rollUpAnalysis(ctx: Ctx, threadId: string, { clear = false } = {}): Promise<boolean> {
  const [thread] = await ctx.sql`
    with analysed as (
      select intent, sentiment, sentiment_score, urgency, occurred_at, arrival, id
      from app.messages
      where org_id = ${ctx.orgId} and thread_id = ${threadId} and direction = 'inbound' and analyzed_at is not null
        and not is_auto_reply and not is_bounce
    ),
    latest as (select * from analysed order by occurred_at desc, arrival desc limit 1),
    recent as (
      select * from analysed where occurred_at > now() - make_interval(days => ${ANALYSIS_DAYS})
      union all
      select * from latest where not exists (select 1 from analysed where occurred_at > now() - make_interval(days => ${ANALYSIS_DAYS}))
    ),
    worst as (
      select sentiment, sentiment_score from recent
      order by case sentiment when 'negative' then 0 when 'neutral' then 1 else 2 end, sentiment_score nulls last, occurred_at desc
      limit 1
    ),
    highest as (
      select urgency from recent
      order by case urgency when 'critical' then 0 when 'high' then 1 when 'normal' then 2 else 3 end, occurred_at desc
      limit 1
    )
    update app.threads t set
      intent = (select intent from latest),
      sentiment = (select sentiment from worst),
      sentiment_score = (select sentiment_score from worst),
      urgency = (select urgency from highest)
    where t.id = ${threadId} and t.org_id = ${ctx.orgId} and (${clear} or exists (select 1 from latest))
    returning t.id`;
  return thread !== undefined;
}

/**
 * Recomputes a thread's roll-up from the messages it holds now, after messages moved in or out (a
 * merge, a split, a move): what rollUp would have left had they arrived on it. Drafts are not
 * messages yet; machine-made mail (auto-replies, bounces) counts as a message but never as activity:
 * it sets lastMessageAt and the snippet only on a thread with nothing else, as its first message did.
 * The thread's latest note counts as activity too (writing one moves the thread up the inbox). The
 * status is left alone: moving messages is a correction, not news from the customer.
 */
export async function recomputeThread(ctx: Ctx, threadId: string): Promise<void> {
  const sql = ctx.sql;
  await sql`
    with m as (
      select occurred_at, arrival, direction, snippet, not (is_auto_reply or is_bounce) as human
      from app.messages where org_id = ${ctx.orgId} and thread_id = ${threadId} and status <> 'draft'
    ),
    latest as (select occurred_at, snippet from m where human order by occurred_at desc, arrival desc limit 1),
    first_automated as (select occurred_at, snippet from m where not human order by arrival limit 1),
    noted as (select max(created_at) as at from app.notes where org_id = ${ctx.orgId} and thread_id = ${threadId} and deleted_at is null)
    update app.threads t set
      message_count = (select count(*) from m),
      last_message_at = coalesce((select occurred_at from latest), (select occurred_at from first_automated)),
      snippet = coalesce((select snippet from latest), (select snippet from first_automated), ''),
      first_inbound_at = (select min(occurred_at) from m where human and direction = 'inbound'),
      last_inbound_at = (select max(occurred_at) from m where human and direction = 'inbound'),
      first_outbound_at = (select min(occurred_at) from m where human and direction = 'outbound'),
      last_outbound_at = (select max(occurred_at) from m where human and direction = 'outbound'),
      last_activity_at = coalesce(greatest((select occurred_at from latest), (select at from noted)), (select occurred_at from first_automated), t.last_activity_at)
    where t.id = ${threadId} and t.org_id = ${ctx.orgId}`;
  await rollUpAnalysis(ctx, threadId, { clear: true });
  await applyServiceLevel(ctx, threadId);
}
