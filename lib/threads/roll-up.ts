// The one rule for what a new message does to its thread, on every channel (email, WhatsApp, SMS,
// calls) and every way in (ingest, webhook, reply, call): which thread it continues, how the thread's
// counts, timestamps and snippet roll up, when it reopens, and the `thread.*` event that says so.
import type { Ctx } from '../context.js';
import { announceThread } from './view.js';

/** A thread stays "recently resolved" this long: a customer's new message reopens it instead of starting anew. */
export const REOPEN_RESOLVED_DAYS = 30;

/** Statuses a customer's new message reopens. */
const REOPENS = ['pending', 'snoozed', 'resolved'];

/**
 * Whether a customer's message at `at` continues this thread. A closed thread is over; a resolved one
 * continues (and reopens) for REOPEN_RESOLVED_DAYS after it was resolved, measured from the message's
 * own time so an archive import decides as the live inbox would have.
 */
export function continuesThread(thread: { status: string; resolvedAt: Date | null }, at: Date): boolean {
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
  const inbound = m.direction === 'inbound' && human;
  const outbound = m.direction === 'outbound' && human;
  const f = m.fills ?? {};
  const [row] = await sql<{ before: string }[]>`
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
    from (select id, status as before from app.threads where id = ${m.threadId} and org_id = ${ctx.orgId} for update) b
    where t.id = b.id
    returning b.before`;
  const reopened = inbound && row !== undefined && REOPENS.includes(row.before);
  await announceThread(
    ctx,
    m.created ? 'thread.created' : 'thread.updated',
    m.threadId,
    m.created
      ? { action: 'thread.created', data: { source: m.source, messageId: m.messageId } }
      : reopened
        ? { action: 'thread.reopened', data: { source: m.source, messageId: m.messageId, from: row!.before } }
        : undefined,
  );
  return { reopened };
}
