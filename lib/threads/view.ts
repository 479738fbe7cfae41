// The thread as every event shows it: one shape for `thread.*` on every channel and route. Events on
// organization topics are heard by every member, so the view carries nothing about one member (their
// read state goes to `user:{id}` as `thread.read_state`); a client compares lastMessageAt with its own
// read time, or refetches the thread, to update its unread mark.
import type { Ctx } from '../context.js';
import { recordChange, topics, type Change } from '../realtime.js';
import { threadChanged } from '../workflows/emit.js';

export const threadColumns = (sql: Ctx['sql']) => sql`
  t.id, t.subject, t.status, t.priority, t.channel, t.channel_id, t.customer_id, t.contact_id, t.counterpart,
  t.assignee_id, t.team_id, t.tags, t.snoozed_until, t.snippet, t.message_count, t.first_inbound_at,
  t.last_inbound_at, t.first_outbound_at, t.last_outbound_at, t.last_message_at, t.last_activity_at,
  t.resolved_at, t.closed_at, t.previous_thread_id, t.intent, t.sentiment, t.sentiment_score, t.urgency,
  t.first_response_due_at, t.next_response_due_at, t.resolution_due_at, t.sla_breached_at, t.sla_policy_id,
  t.sla_paused_since,
  t.merged_into_thread_id, t.created_by, t.created_at, t.updated_at`;

export type ThreadView = Record<string, unknown> & { id: string };

/** The view's columns, from threads `t` (or rows aliased as t) and their customer `c`. */
export const threadViewColumns = (sql: Ctx['sql']) => sql`${threadColumns(sql)}, c.name as customer_name`;

/** The event view of one thread: its row and its customer's name. */
export async function threadView(ctx: Ctx, threadId: string): Promise<ThreadView | undefined> {
  const sql = ctx.sql;
  const [thread] = await sql<ThreadView[]>`
    select ${threadViewColumns(sql)}
    from app.threads t left join app.customers c on c.id = t.customer_id
    where t.id = ${threadId} and t.org_id = ${ctx.orgId}`;
  return thread;
}

export type ThreadEvent = 'thread.created' | 'thread.updated' | 'thread.assigned' | 'thread.unassigned';

type ThreadAudit = Omit<NonNullable<Change['audit']>, 'entityType' | 'entityId'>;

/** Announces a thread's change on the organization's and the thread's topics, with its audit row. */
export async function announceThread(ctx: Ctx, event: ThreadEvent, threadId: string, audit?: ThreadAudit) {
  const thread = await threadView(ctx, threadId);
  if (thread) await announceThreadView(ctx, event, thread, audit);
}

/** The same, for a caller that already read the view (in the statement that changed the thread). */
export async function announceThreadView(ctx: Ctx, event: ThreadEvent, thread: ThreadView, audit?: ThreadAudit) {
  await recordChange(ctx, {
    event,
    topics: [topics.org(ctx.orgId), topics.thread(ctx.orgId, thread.id)],
    data: thread,
    audit: audit && { ...audit, entityType: 'thread', entityId: thread.id },
  });
  // The workflow engine hears of it (thread.created, or thread.updated with what changed).
  await threadChanged(ctx, event, thread);
}
