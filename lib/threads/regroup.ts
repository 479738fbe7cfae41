// Correcting the threading: merge two threads, split a thread from a message on, move one message to
// another thread. Messages take along everything that is theirs (their ids, by which later replies find
// their thread; attachments; the shipments they name; the call-back action of a missed call), both
// threads' roll-ups are recomputed from the messages they hold afterwards, read state follows the
// messages, and both threads are announced and audited.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { normalizeSubject } from '../email/threading.js';
import { AppError, invalid, notFound } from '../errors.js';
import { announceMessage } from '../messages/announce.js';
import { getMessage } from '../messages/service.js';
import { recordChange, topics } from '../realtime.js';
import { recomputeThread } from './roll-up.js';
import { getThread } from './service.js';
import { announceThread } from './view.js';

export const threadMerge = z.strictObject({
  /** The thread that stays: the one in the path is merged into it and kept only as a pointer. */
  into: z.uuid('must be a uuid'),
});

export const threadSplit = z.strictObject({
  /** This message and every later one (by date, then arrival) go to a new thread. */
  fromMessageId: z.uuid('must be a uuid'),
  /** The new thread's subject; by default the message's own, else the thread's. */
  subject: z.string().trim().min(1).max(1000).optional(),
});

export const messageMove = z.strictObject({
  /** The thread the message goes to. */
  threadId: z.uuid('must be a uuid'),
});

interface LockedThread {
  id: string;
  status: string;
  channel: string;
  channelId: string | null;
  customerId: string | null;
  contactId: string | null;
  counterpart: string | null;
  assigneeId: string | null;
  teamId: string | null;
  priority: string;
  subject: string;
  tags: string[];
  resolvedAt: Date | null;
  closedAt: Date | null;
  lastMessageAt: Date | null;
  mergedIntoThreadId: string | null;
}

interface MovedMessage {
  id: string;
  occurredAt: Date;
  human: boolean;
}

const PRIORITY_RANK = ['low', 'normal', 'high', 'urgent'];

/**
 * Locks the threads (row locks, in id order, so two regroupings of the same threads in opposite
 * directions queue instead of deadlocking) and returns them by id; absent ones are not in the map.
 */
async function lockThreads(ctx: Ctx, ids: string[]): Promise<Map<string, LockedThread>> {
  const rows = await ctx.sql<LockedThread[]>`
    select id, status, channel, channel_id, customer_id, contact_id, counterpart, assignee_id, team_id, priority, subject, tags,
      resolved_at, closed_at, last_message_at, merged_into_thread_id
    from app.threads where org_id = ${ctx.orgId} and id = any(${ids}::uuid[])
    order by id for update`;
  return new Map(rows.map((r) => [r.id, r]));
}

const notFoundIn = (path: string) =>
  new AppError('not_found', `${path}: no such thread in this organization`, { issues: [{ path, message: 'is not a thread of this organization' }] });

/** A merged thread is only a pointer now: nothing is merged into it, split from it or moved to it. */
function refuseMerged(thread: LockedThread): void {
  if (thread.mergedIntoThreadId) {
    throw new AppError('conflict', `Thread ${thread.id} was merged into thread ${thread.mergedIntoThreadId}`, {
      threadId: thread.id,
      mergedIntoThreadId: thread.mergedIntoThreadId,
    });
  }
}

/** Regrouping stays within one channel: replies go out on the thread's channel, and each channel threads its own way. */
function sameChannel(from: LockedThread, to: LockedThread, path: string): void {
  if (from.channel !== to.channel) {
    throw invalid(path, `is a ${to.channel} thread and this one is ${from.channel}: messages move only between threads of one channel`);
  }
}

/**
 * What moved messages take along: their attachments (and documents filed from them), the call-back
 * action a missed call opened (its description names the call: lib/exotel/inbound.ts), and the
 * shipments they name, as the thread link the old thread had for them (automatic when it had none).
 * The old thread drops an automatic link none of its remaining messages names; manual links and
 * rejections stay, being a person's word about the thread.
 */
async function carryMessageBelongings(ctx: Ctx, fromId: string, toId: string, messageIds: string[]): Promise<void> {
  const sql = ctx.sql;
  await sql`update app.attachments set thread_id = ${toId} where org_id = ${ctx.orgId} and message_id = any(${messageIds}::uuid[])`;
  await sql`
    update app.documents set thread_id = ${toId}
    where org_id = ${ctx.orgId} and thread_id = ${fromId}
      and attachment_id in (select id from app.attachments where org_id = ${ctx.orgId} and message_id = any(${messageIds}::uuid[]))`;
  await sql`
    update app.actions set thread_id = ${toId}
    where org_id = ${ctx.orgId} and thread_id = ${fromId} and type = 'call_back'
      and description = any(select 'call:' || id::text from unnest(${messageIds}::uuid[]) id)`;
  await sql`
    insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source, matched_identifier, created_by)
    select ${ctx.orgId}, ${toId}, s.shipment_id, coalesce(ts.link_source, 'automatic'), coalesce(ts.matched_identifier, s.matched), ts.created_by
    from (
      select distinct on (shipment_id) shipment_id, matched_identifier as matched from app.message_shipments
      where org_id = ${ctx.orgId} and message_id = any(${messageIds}::uuid[]) and link_source <> 'rejected'
      order by shipment_id, created_at
    ) s
    left join app.thread_shipments ts on ts.thread_id = ${fromId} and ts.shipment_id = s.shipment_id
    on conflict (thread_id, shipment_id) do nothing`;
  await sql`
    delete from app.thread_shipments ts
    where ts.org_id = ${ctx.orgId} and ts.thread_id = ${fromId} and ts.link_source = 'automatic'
      and exists (select 1 from app.message_shipments ms where ms.shipment_id = ts.shipment_id and ms.message_id = any(${messageIds}::uuid[]))
      and not exists (
        select 1 from app.message_shipments ms join app.messages m on m.id = ms.message_id
        where ms.org_id = ${ctx.orgId} and ms.shipment_id = ts.shipment_id and m.thread_id = ${fromId} and ms.link_source <> 'rejected')`;
}

/**
 * Read state follows the messages (app.carry_thread_reads): each member who had read what arrives and
 * what was there finds the destination read, the others unread; each hears it on their own topic.
 */
async function carryReadState(ctx: Ctx, fromId: string, to: { id: string; lastMessageAt: Date | null }, incoming: MovedMessage[]): Promise<void> {
  const human = incoming.filter((m) => m.human).map((m) => m.occurredAt.getTime());
  const incomingLast = human.length ? new Date(Math.max(...human)) : null;
  const members = await ctx.sql<{ userId: string }[]>`
    select reader as user_id from app.carry_thread_reads(${fromId}::uuid, ${to.id}::uuid, ${to.lastMessageAt}::timestamptz, ${incomingLast}::timestamptz)`;
  if (!members.length) return;
  // Unread as the inbox reckons it (GET /api/threads), for each member decided.
  const states = await ctx.sql<{ userId: string; unread: boolean }[]>`
    select u.user_id, (t.last_message_at is not null and (r.last_read_at is null or r.last_read_at < t.last_message_at)) as unread
    from unnest(${members.map((m) => m.userId)}::uuid[]) u(user_id)
    join app.threads t on t.id = ${to.id} and t.org_id = ${ctx.orgId}
    left join app.thread_reads r on r.thread_id = t.id and r.user_id = u.user_id`;
  await Promise.all(
    states.map((m) => recordChange(ctx, { event: 'thread.read_state', topics: [topics.user(m.userId)], data: { threadId: to.id, unread: m.unread } })),
  );
}

/** Moves the thread's messages that `where` picks and returns them in conversation order. */
async function moveMessages(ctx: Ctx, fromId: string, toId: string, where: ReturnType<Ctx['sql']>): Promise<MovedMessage[]> {
  return ctx.sql<MovedMessage[]>`
    with moved as (
      update app.messages m set thread_id = ${toId}
      where m.org_id = ${ctx.orgId} and m.thread_id = ${fromId} ${where}
      returning m.id, m.occurred_at, m.arrival, (m.status <> 'draft' and not m.is_auto_reply and not m.is_bounce) as human
    )
    select id, occurred_at, human from moved order by occurred_at, arrival`;
}

/** `message.updated` for each moved message, on the thread it left and the one it is on (pipelined: one write). */
async function announceMoved(ctx: Ctx, fromId: string, moved: MovedMessage[], audit?: { action: string; data?: unknown }): Promise<void> {
  await Promise.all(moved.map((m) => announceMessage(ctx, m.id, audit, 'message.updated', fromId)));
}

/**
 * Merges thread `id` into thread `into`: every message, note, action, attachment, shipment link, tag
 * and member's read state goes to `into`, which fills in the parties it lacks and reopens when the
 * merged thread was open (its work must not vanish). The merged thread stays, closed, as a pointer
 * (`mergedIntoThreadId`) that GET answers with and that mail naming its token follows.
 */
export async function mergeThreads(ctx: Ctx, id: string, input: z.infer<typeof threadMerge>) {
  const sql = ctx.sql;
  if (input.into === id) throw invalid('body.into', 'must be another thread than the one merged into it');
  const locked = await lockThreads(ctx, [id, input.into]);
  const from = locked.get(id);
  const to = locked.get(input.into);
  if (!from) throw notFound('Thread');
  if (!to) throw notFoundIn('body.into');
  refuseMerged(from);
  refuseMerged(to);
  sameChannel(from, to, 'body.into');
  if (from.customerId && to.customerId && from.customerId !== to.customerId) {
    throw invalid('body.into', 'belongs to another customer than this thread: only threads of one customer merge (correct the customer first if it is wrong)');
  }

  const moved = await moveMessages(ctx, id, to.id, sql``);
  const messageIds = moved.map((m) => m.id);
  await sql`update app.attachments set thread_id = ${to.id} where org_id = ${ctx.orgId} and thread_id = ${id}`;
  await sql`update app.documents set thread_id = ${to.id} where org_id = ${ctx.orgId} and thread_id = ${id}`;
  await sql`update app.notes set thread_id = ${to.id} where org_id = ${ctx.orgId} and thread_id = ${id}`;
  await sql`update app.actions set thread_id = ${to.id} where org_id = ${ctx.orgId} and thread_id = ${id}`;
  // Shipment links: the union; where both threads link a shipment, a person's word (manual, rejected)
  // beats an automatic link, and the surviving thread's own word stands.
  await sql`
    insert into app.thread_shipments as ts (org_id, thread_id, shipment_id, link_source, matched_identifier, created_by, created_at)
    select org_id, ${to.id}, shipment_id, link_source, matched_identifier, created_by, created_at
    from app.thread_shipments where org_id = ${ctx.orgId} and thread_id = ${id}
    on conflict (thread_id, shipment_id) do update
      set link_source = excluded.link_source, matched_identifier = excluded.matched_identifier, created_by = excluded.created_by, updated_at = now()
      where ts.link_source = 'automatic' and excluded.link_source <> 'automatic'`;
  await sql`delete from app.thread_shipments where org_id = ${ctx.orgId} and thread_id = ${id}`;

  const tags = [...new Set([...to.tags, ...from.tags])];
  const priority = PRIORITY_RANK.indexOf(from.priority) > PRIORITY_RANK.indexOf(to.priority) ? from.priority : to.priority;
  const reopen = from.status === 'open' && to.status !== 'open';
  await sql`
    update app.threads set
      customer_id = coalesce(customer_id, ${from.customerId}::uuid),
      contact_id = coalesce(contact_id, ${from.contactId}::uuid),
      counterpart = coalesce(counterpart, ${from.counterpart}),
      channel_id = coalesce(channel_id, ${from.channelId}::uuid),
      assignee_id = coalesce(assignee_id, ${from.assigneeId}::uuid),
      team_id = coalesce(team_id, ${from.teamId}::uuid),
      previous_thread_id = nullif(previous_thread_id, ${id}::uuid),
      ${tags.length !== to.tags.length ? sql`tags = ${tags}::text[],` : sql``}
      ${priority !== to.priority ? sql`priority = ${priority},` : sql``}
      ${reopen ? sql`status = 'open', snoozed_until = null, resolved_at = null, closed_at = null,` : sql``}
      updated_at = now()
    where id = ${to.id} and org_id = ${ctx.orgId}`;
  await recomputeThread(ctx, id);
  await recomputeThread(ctx, to.id);
  await sql`
    update app.threads set status = 'closed', snoozed_until = null, closed_at = coalesce(closed_at, now()), merged_into_thread_id = ${to.id}
    where id = ${id} and org_id = ${ctx.orgId}`;
  // Threads merged into this one before now point to the survivor: one step from any token to the messages.
  await sql`update app.threads set merged_into_thread_id = ${to.id} where org_id = ${ctx.orgId} and merged_into_thread_id = ${id}`;
  await carryReadState(ctx, id, to, moved);

  const audit = { action: 'thread.merged', data: { fromThreadId: id, intoThreadId: to.id, messageIds, reopened: reopen } };
  await announceThread(ctx, 'thread.updated', id, audit);
  await announceThread(ctx, 'thread.updated', to.id, audit);
  await announceMoved(ctx, id, moved);
  return getThread(ctx, to.id);
}

/**
 * Splits thread `id` from a message on: that message and every later one (by date, then arrival) go
 * to a new thread with the same parties, channel, assignment, priority and tags, open unless the thread
 * was resolved or closed, with `previousThreadId` naming the thread it came from. Notes and actions
 * stay (they are about the conversation so far), except the call-back action of a missed call that moves.
 */
export async function splitThread(ctx: Ctx, id: string, input: z.infer<typeof threadSplit>) {
  const sql = ctx.sql;
  const from = (await lockThreads(ctx, [id])).get(id);
  if (!from) throw notFound('Thread');
  refuseMerged(from);
  const [at] = await sql<{ occurredAt: Date; arrival: string; subject: string | null; earlier: boolean }[]>`
    select m.occurred_at, m.arrival, m.subject,
      exists (select 1 from app.messages e where e.org_id = ${ctx.orgId} and e.thread_id = ${id}
        and (e.occurred_at, e.arrival) < (m.occurred_at, m.arrival)) as earlier
    from app.messages m where m.id = ${input.fromMessageId} and m.org_id = ${ctx.orgId} and m.thread_id = ${id}`;
  if (!at) throw invalid('body.fromMessageId', 'is not a message of this thread');
  if (!at.earlier) throw invalid('body.fromMessageId', "is the thread's first message: nothing would stay on the thread");

  const subject = (input.subject ?? at.subject ?? from.subject).slice(0, 1000);
  const kept = from.status === 'resolved' || from.status === 'closed';
  const [created] = await sql<{ id: string }[]>`
    insert into app.threads ${sql({
      orgId: ctx.orgId,
      subject,
      normalizedSubject: from.channel === 'email' ? normalizeSubject(subject) : subject.toLowerCase(),
      status: kept ? from.status : 'open',
      resolvedAt: kept ? from.resolvedAt : null,
      closedAt: from.status === 'closed' ? from.closedAt : null,
      priority: from.priority,
      channel: from.channel,
      channelId: from.channelId,
      customerId: from.customerId,
      contactId: from.contactId,
      counterpart: from.counterpart,
      assigneeId: from.assigneeId,
      teamId: from.teamId,
      tags: from.tags,
      previousThreadId: id,
      lastActivityAt: at.occurredAt,
      createdBy: ctx.userId,
    } as never)}
    returning id`;
  const newId = created!.id;
  const moved = await moveMessages(ctx, id, newId, sql`and (m.occurred_at, m.arrival) >= (${at.occurredAt}::timestamptz, ${at.arrival}::bigint)`);
  const messageIds = moved.map((m) => m.id);
  await carryMessageBelongings(ctx, id, newId, messageIds);
  await recomputeThread(ctx, id);
  await recomputeThread(ctx, newId);
  await carryReadState(ctx, id, { id: newId, lastMessageAt: null }, moved);

  const audit = { action: 'thread.split', data: { fromThreadId: id, threadId: newId, fromMessageId: input.fromMessageId, messageIds } };
  await announceThread(ctx, 'thread.updated', id, audit);
  await announceThread(ctx, 'thread.created', newId, audit);
  await announceMoved(ctx, id, moved);
  return getThread(ctx, newId);
}

/**
 * Moves one message to another thread of the same channel (of any customer: a reply that landed on
 * the wrong customer's thread is the usual reason). The thread it leaves keeps at least one message:
 * moving its only one is refused (merge the thread instead). Notes and actions stay, except the
 * call-back action of a missed call that moves. Statuses are left alone: a move is a correction.
 */
export async function moveMessage(ctx: Ctx, messageId: string, input: z.infer<typeof messageMove>) {
  const sql = ctx.sql;
  const [message] = await sql<{ threadId: string }[]>`select thread_id from app.messages where id = ${messageId} and org_id = ${ctx.orgId}`;
  if (!message) throw notFound('Message');
  if (message.threadId === input.threadId) throw invalid('body.threadId', 'is the thread the message is on already');
  const locked = await lockThreads(ctx, [message.threadId, input.threadId]);
  // Under the locks: the message may have moved since it was read (then the caller retries).
  const [now] = await sql<{ threadId: string; others: boolean }[]>`
    select m.thread_id, exists (select 1 from app.messages o where o.org_id = ${ctx.orgId} and o.thread_id = m.thread_id and o.id <> m.id) as others
    from app.messages m where m.id = ${messageId} and m.org_id = ${ctx.orgId} for update`;
  if (!now) throw notFound('Message');
  if (now.threadId !== message.threadId) throw new AppError('conflict', 'The message moved meanwhile; retry the request');
  const from = locked.get(message.threadId)!;
  const to = locked.get(input.threadId);
  if (!to) throw notFoundIn('body.threadId');
  refuseMerged(to);
  sameChannel(from, to, 'body.threadId');
  if (!now.others) {
    throw invalid('path.id', `is the only message of its thread: merge the thread instead (POST /api/threads/${from.id}/merge)`);
  }

  const moved = await moveMessages(ctx, from.id, to.id, sql`and m.id = ${messageId}`);
  await carryMessageBelongings(ctx, from.id, to.id, [messageId]);
  await recomputeThread(ctx, from.id);
  await recomputeThread(ctx, to.id);
  await carryReadState(ctx, from.id, to, moved);

  const audit = { action: 'message.moved', data: { messageId, fromThreadId: from.id, toThreadId: to.id } };
  await announceThread(ctx, 'thread.updated', from.id, audit);
  await announceThread(ctx, 'thread.updated', to.id, audit);
  await announceMoved(ctx, from.id, moved, audit);
  return getMessage(ctx, messageId);
}
