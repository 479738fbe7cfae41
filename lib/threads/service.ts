// Threads: the conversations of the shared inbox. Listing (filters, newest activity first), reading,
// editing, assignment, status with snooze, and per-member read state.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { notify } from '../notifications/notify.js';
import { AppError, conflict, invalid, notFound } from '../errors.js';
import { booleanQuery, csvList, decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { enqueue } from '../jobs/enqueue.js';
import { escapeLike } from '../db/like.js';
import { recordChange, topics } from '../realtime.js';
import { jobSpecs } from '../jobs/specs.js';
import { whenFieldsValid } from '../validation.js';
import { dateTimeInput, instantIn } from '../time.js';
import { requireActiveMember } from '../org/members.js';
import { FILTERED_STATUSES, isFiltered } from '../sender-rules/verdict.js';
import { assigneeWarnings, type Warning } from '../org/availability.js';
import { applyServiceLevel } from '../sla/clock.js';
import { NEXT_DUE, SLA_STATES, slaWhere } from './sla-state.js';
import { tag } from './tags.js';
import { announceThread, threadColumns, threadViewColumns } from './view.js';
import { matchingThreadIds } from '../search/hits.js';

/** The statuses of the work: what PATCH sets. */
export const WORK_STATUSES = ['open', 'pending', 'snoozed', 'resolved', 'closed'] as const;
/**
 * Every status, with those of threads kept out of the inbox (`spam`, `bulk`: lib/sender-rules), which
 * only the spam and not-spam routes and ingest set, and which lists leave out unless asked.
 */
export const THREAD_STATUSES = [...WORK_STATUSES, ...FILTERED_STATUSES] as const;
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const CHANNELS = ['email', 'whatsapp', 'sms', 'voice'] as const;

export const threadCreate = z.strictObject({
  subject: z.string().trim().max(1000).default(''),
  channel: z.enum(CHANNELS).default('email'),
  customerId: z.uuid().optional(),
  contactId: z.uuid().optional(),
  counterpart: z.string().trim().max(320).optional(),
  priority: z.enum(PRIORITIES).default('normal'),
  tags: z.array(tag).max(30).default([]),
  assigneeId: z.uuid().optional(),
  teamId: z.uuid().optional(),
});

export const threadUpdate = z
  .strictObject({
    subject: z.string().trim().max(1000),
    status: z.enum(WORK_STATUSES),
    // An instant, or the organization's wall-clock time (resolved in updateThread).
    snoozedUntil: dateTimeInput,
    priority: z.enum(PRIORITIES),
    tags: z.array(tag).max(30),
    customerId: z.uuid().nullable(),
    contactId: z.uuid().nullable(),
    teamId: z.uuid().nullable(),
    // As POST /api/threads/{id}/assign: null unassigns; an away assignee answers with `warnings`.
    assigneeId: z.uuid().nullable(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field')
  .superRefine((v, c) => {
    if (v.status === 'snoozed' && !v.snoozedUntil) c.addIssue({ code: 'custom', path: ['snoozedUntil'], message: 'is required when status is snoozed' });
    if (v.snoozedUntil && v.status !== undefined && v.status !== 'snoozed') {
      c.addIssue({ code: 'custom', path: ['snoozedUntil'], message: 'only goes with status snoozed' });
    }
  }, whenFieldsValid);

export const threadAssign = z
  .strictObject({ assigneeId: z.uuid().nullable().optional(), teamId: z.uuid().nullable().optional() })
  .refine((v) => v.assigneeId !== undefined || v.teamId !== undefined, 'name assigneeId and/or teamId');

const assigneeFilter = z.union([z.literal('me'), z.literal('none'), z.uuid()]);

export const threadListQuery = z.object({
  ...pageQuery,
  status: csvList(z.enum(THREAD_STATUSES)),
  channel: csvList(z.enum(CHANNELS)),
  priority: csvList(z.enum(PRIORITIES)),
  assignee: assigneeFilter.optional(),
  team: z.uuid().optional(),
  customer: z.uuid().optional(),
  shipment: z.uuid().optional(),
  tag: csvList(tag).refine((v) => v === undefined || v.length <= 10, 'must name at most 10 tags'),
  tags_all: csvList(tag).refine((v) => v === undefined || v.length <= 10, 'must name at most 10 tags'),
  unread: booleanQuery.optional(),
  q: z.string().trim().min(1).max(200).optional(),
  /** Open threads by service-level state (lib/threads/sla-state.ts), as GET /api/threads/counts counts them. */
  sla: z.enum(SLA_STATES).optional(),
  /** `activity` (the default: latest first) or `due`: open threads with running clocks, the earliest due time first. */
  sort: z.enum(['activity', 'due']).optional(),
});

const cursorShape = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

export interface Thread {
  id: string;
  status: (typeof THREAD_STATUSES)[number];
  lastActivityAt: Date;
  lastMessageAt: Date | null;
  snoozedUntil: Date | null;
  assigneeId: string | null;
  teamId: string | null;
  [key: string]: unknown;
}

/** What a list item shows: the thread view (t, its customer c) and the caller's unread flag (their read row r). */
export const threadItemColumns = (sql: Ctx['sql']) =>
  sql`${threadViewColumns(sql)}, (t.last_message_at is not null and (r.last_read_at is null or r.last_read_at < t.last_message_at)) as unread`;

/** The thread row plus what a list item shows: the customer's name and the caller's unread flag. */
export const threadSelect = (ctx: Ctx, extra = ctx.sql``) => {
  const sql = ctx.sql;
  return sql`
    select ${threadItemColumns(sql)} ${extra}
    from app.threads t
    left join app.customers c on c.id = t.customer_id
    left join app.thread_reads r on r.thread_id = t.id and r.user_id = ${ctx.userId}`;
};

/**
 * `column = value` for one value (an index on (org_id, column, last_activity_at) then serves the page
 * in order), `column = any(values)` for several.
 */
function oneOf(sql: Ctx['sql'], column: string, values: readonly string[] | undefined) {
  if (!values) return sql``;
  return values.length === 1 ? sql`and ${sql.unsafe(column)} = ${values[0]!}` : sql`and ${sql.unsafe(column)} = any(${values as string[]}::text[])`;
}

/**
 * How many threads a subject search may match for the page to be read among them by id. Under
 * row-level security `subject ilike` cannot use the trigram index inside the list statement, nor may
 * the planner read the column statistics to see how many rows it keeps (the operator is not
 * leakproof), so app.thread_ids_by_subject looks first: common among the latest threads, or found
 * through the index. Up to this many matches the page is read among their ids (about 7 buffers
 * each); beyond it the word is common (0.5 % of 100,000 threads or more), and walking the inbox in
 * order meets a match every 200 threads or sooner.
 */
export const SUBJECT_MATCH_CAP = 500;

/**
 * The ids of all threads whose subject matches, or undefined when the word is common (the inbox is
 * walked in order). Then, blind to the filter, the planner would take it for one that keeps a handful
 * of rows and sort all that it keeps (every thread of the organization): sorting is switched off for
 * the rest of the transaction, which leaves it walking an index in the list's order.
 */
async function subjectMatches(ctx: Ctx, pattern: string): Promise<string[] | undefined> {
  const [row] = await ctx.sql<{ ids: string[] | null }[]>`
    select m.ids, set_config('enable_sort', case when m.ids is null or cardinality(m.ids) > ${SUBJECT_MATCH_CAP} then 'off' else current_setting('enable_sort') end, true)
    from app.thread_ids_by_subject(${pattern}::text, ${SUBJECT_MATCH_CAP + 1}::int) as m(ids)`;
  const ids = row!.ids;
  return ids && ids.length <= SUBJECT_MATCH_CAP ? ids : undefined;
}

/**
 * What the inbox's q finds besides subjects: what threads say (messages, notes, documents) and the
 * shipments they are linked to. A customer's or contact's name is not among them: every thread of a
 * big customer would match, and the list has its customer filter for that (GET /api/search has both).
 */
const INBOX_HIT_TYPES = ['message', 'note', 'shipment', 'document'] as const;
/**
 * The latest matches of each kind the inbox's q takes from the search (as GET /api/search ranks among
 * its latest matches): with fewer, the page is read among their threads; with this many, the word is
 * common and the list walks the inbox in order for subjects holding it or threads among these.
 * Finding the latest matches of a word that is common, though not very, reads a message per check,
 * so the number stays small.
 */
const INBOX_CANDIDATES = 100;

export async function listThreads(ctx: Ctx, q: z.infer<typeof threadListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, cursorShape);
  const assignee = q.assignee === 'me' ? ctx.userId : q.assignee;
  const subjectPattern = q.q ? `%${escapeLike(q.q)}%` : undefined;
  const keyOf = (r: Thread) => [r.sortAt, r.id];
  // q: a subject containing the text (as typed, any part of a word), or what the search finds among
  // its latest matches (lib/search: bodies, notes, documents, linked shipments' references). Both
  // narrow to ids when they are few; when either is common, the list walks the inbox in order.
  // The search first: subjectMatches may switch sorting off for the rest of the transaction.
  const found = q.q ? await matchingThreadIds(ctx, q.q, INBOX_HIT_TYPES, INBOX_CANDIDATES) : undefined;
  const subjectIds = subjectPattern === undefined ? undefined : await subjectMatches(ctx, subjectPattern);
  const ids = subjectIds && (!found || found.complete) ? [...new Set([...subjectIds, ...(found?.ids ?? [])])] : undefined;
  if (ids?.length === 0) return toPage<Thread>([], q.limit, keyOf);
  const textMatch =
    subjectPattern === undefined || ids ? sql`` : sql`and (t.subject ilike ${subjectPattern} ${found ? sql`or t.id = any(${found.ids}::uuid[])` : sql``})`;
  // On app.thread_tags (tag = value is leakproof, `tags @>` is not: see the 20261205000800 migration), so
  // the planner knows how common each tag is. `tag` is any of the tags, like every list filter;
  // `tags_all` is all of them (one EXISTS per tag, so it can start from a rare one).
  const anyTag = q.tag ? sql`and exists (select 1 from app.thread_tags g where g.thread_id = t.id and g.tag = any(${q.tag}::text[]))` : sql``;
  const allTags = (q.tags_all ?? []).reduce(
    (all, tag) => sql`${all} and exists (select 1 from app.thread_tags g where g.thread_id = t.id and g.tag = ${tag})`,
    sql``,
  );
  // By due time: the open threads with a running clock, earliest first (an index on (org_id, due, id)).
  const byDue = q.sort === 'due';
  const order = byDue
    ? {
        key: exactInstant(sql, NEXT_DUE, 'sort_at'),
        where: sql`and t.status = 'open' and ${sql.unsafe(NEXT_DUE)} is not null`,
        after: after ? sql`and (${sql.unsafe(NEXT_DUE)}, t.id) > (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``,
        by: sql`order by ${sql.unsafe(NEXT_DUE)}, t.id`,
      }
    : {
        key: exactInstant(sql, 't.last_activity_at', 'sort_at'),
        where: sql``,
        after: after ? sql`and (t.last_activity_at, t.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``,
        by: sql`order by t.last_activity_at desc, t.id desc`,
      };
  const rows = await sql<Thread[]>`
    ${threadSelect(ctx, sql`, ${order.key}`)}
    where t.org_id = ${ctx.orgId} and t.merged_into_thread_id is null
      ${q.status ? oneOf(sql, 't.status', q.status) : sql`and t.status <> all(${FILTERED_STATUSES as unknown as string[]}::text[])`}
      ${oneOf(sql, 't.channel', q.channel)}
      ${oneOf(sql, 't.priority', q.priority)}
      ${assignee === 'none' ? sql`and t.assignee_id is null` : assignee ? sql`and t.assignee_id = ${assignee}` : sql``}
      ${q.team ? sql`and t.team_id = ${q.team}` : sql``}
      ${q.customer ? sql`and t.customer_id = ${q.customer}` : sql``}
      ${q.shipment ? sql`and exists (select 1 from app.thread_shipments ts where ts.thread_id = t.id and ts.shipment_id = ${q.shipment} and ts.link_source <> 'rejected')` : sql``}
      ${anyTag}
      ${allTags}
      ${q.unread === true ? sql`and t.last_message_at is not null and (r.last_read_at is null or r.last_read_at < t.last_message_at)` : sql``}
      ${q.unread === false ? sql`and (t.last_message_at is null or r.last_read_at >= t.last_message_at)` : sql``}
      ${textMatch}
      ${ids ? sql`and t.id = any(${ids}::uuid[])` : sql``}
      ${q.sla ? slaWhere(sql, q.sla) : sql``}
      ${order.where}
      ${order.after}
    ${order.by}
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, keyOf);
  return { ...page, data: page.data.map(({ sortAt: _s, ...thread }) => thread as Thread) };
}

/** One thread as lists show it (`lock`: its bare row, locked for an update). */
export async function loadThread(ctx: Ctx, id: string, lock = false): Promise<Thread> {
  const sql = ctx.sql;
  const [thread] = lock
    ? await sql<Thread[]>`select ${threadColumns(sql)} from app.threads t where t.id = ${id} and t.org_id = ${ctx.orgId} for update`
    : await sql<Thread[]>`${threadSelect(ctx)} where t.id = ${id} and t.org_id = ${ctx.orgId}`;
  if (!thread) throw notFound('Thread');
  return thread;
}

/** One thread with its customer, contact and linked shipments, in one statement. */
export async function getThread(ctx: Ctx, id: string) {
  const sql = ctx.sql;
  const [thread] = await sql<Thread[]>`
    ${threadSelect(
      ctx,
      sql`,
      case when c.id is null then null else json_build_object('id', c.id, 'name', c.name, 'kind', c.kind, 'tier', c.tier) end as customer,
      (select json_build_object('id', k.id, 'name', k.name, 'email', k.email, 'phone', k.phone, 'whatsapp', k.whatsapp)
         from app.contacts k where k.id = t.contact_id) as contact,
      coalesce((select json_agg(json_build_object('id', s.id, 'reference', s.reference, 'mode', s.mode, 'status', s.status,
                  'linkSource', ts.link_source, 'matchedIdentifier', ts.matched_identifier) order by ts.created_at)
         from app.thread_shipments ts join app.shipments s on s.id = ts.shipment_id
         where ts.thread_id = t.id and ts.link_source <> 'rejected'), '[]'::json) as shipments`,
    )}
    where t.id = ${id} and t.org_id = ${ctx.orgId}`;
  if (!thread) throw notFound('Thread');
  return thread;
}

/**
 * A thread is about something or someone: a subject or a contact. Given only the contact, the thread
 * takes the contact's customer and the address the channel reaches them at; a contact of another
 * customer than the one given is refused.
 */
async function threadParties(ctx: Ctx, input: z.infer<typeof threadCreate>) {
  if (!input.subject && !input.contactId) throw invalid('body.subject', 'is required unless a contactId names whom the thread is with');
  if (input.assigneeId) await requireActiveMember(ctx, input.assigneeId, 'body.assigneeId', { works: true });
  if (!input.contactId) return { customerId: input.customerId, counterpart: input.counterpart };
  const [contact] = await ctx.sql<{ customerId: string | null; email: string | null; phone: string | null; whatsapp: string | null }[]>`
    select customer_id, email, phone, whatsapp from app.contacts where id = ${input.contactId} and org_id = ${ctx.orgId} and deleted_at is null`;
  if (!contact) throw invalid('body.contactId', 'is not a contact of this organization');
  if (input.customerId && contact.customerId && contact.customerId !== input.customerId) {
    throw invalid('body.contactId', 'belongs to another customer than body.customerId');
  }
  const reach = {
    email: contact.email,
    whatsapp: contact.whatsapp ?? contact.phone,
    sms: contact.phone ?? contact.whatsapp,
    voice: contact.phone ?? contact.whatsapp,
  };
  return {
    customerId: input.customerId ?? contact.customerId ?? undefined,
    counterpart: input.counterpart ?? reach[input.channel as keyof typeof reach] ?? undefined,
  };
}

export async function createThread(ctx: Ctx, input: z.infer<typeof threadCreate>) {
  const sql = ctx.sql;
  const parties = await threadParties(ctx, input);
  const [thread] = await sql<Thread[]>`
    insert into app.threads ${sql({
      ...input,
      ...parties,
      orgId: ctx.orgId,
      createdBy: ctx.userId,
      normalizedSubject: input.subject.toLowerCase(),
    } as never)}
    returning id`;
  const created = await loadThread(ctx, thread!.id);
  await announceThread(ctx, 'thread.created', created.id, { data: input });
  if (input.assigneeId) await notifyAssignee(ctx, created, input.assigneeId);
  return withWarnings(created, await assigneeWarnings(ctx, input.assigneeId, 'assigneeId'));
}

/** Applies a status change's side fields: timestamps, snooze time, and the job that ends a snooze. */
function statusFields(current: Thread, next: Thread['status'], snoozedUntil?: Date) {
  if (next === current.status && next !== 'snoozed') return {};
  return {
    status: next,
    snoozedUntil: next === 'snoozed' ? snoozedUntil : null,
    // Closing a resolved thread keeps when it was resolved; reopening or snoozing clears it.
    resolvedAt: next === 'resolved' ? new Date() : next === 'closed' ? current.resolvedAt : null,
    closedAt: next === 'closed' ? new Date() : null,
  };
}

export async function updateThread(ctx: Ctx, id: string, input: z.infer<typeof threadUpdate>) {
  const { assigneeId, ...fields } = input;
  // The assignee goes through assignment (its checks, event and notification), then the other fields.
  const assigned = assigneeId !== undefined ? await assignThread(ctx, id, { assigneeId }) : null;
  if (Object.keys(fields).length === 0) return assigned!;
  const updated = await editThread(ctx, id, fields);
  return assigned?.warnings ? withWarnings(updated, assigned.warnings) : updated;
}

async function editThread(ctx: Ctx, id: string, input: Omit<z.infer<typeof threadUpdate>, 'assigneeId'>) {
  const sql = ctx.sql;
  const current = await loadThread(ctx, id, true);
  const { status, snoozedUntil: snoozeInput, subject, ...rest } = input;
  let snoozedUntil: Date | undefined;
  if (snoozeInput) {
    const [org] = await sql<{ timezone: string }[]>`select timezone from app.organizations where id = ${ctx.orgId}`;
    snoozedUntil = await instantIn(snoozeInput, org!.timezone, 'body.snoozedUntil');
    if (snoozedUntil.getTime() <= Date.now()) throw invalid('body.snoozedUntil', 'must be in the future');
  }
  let nextStatus = status;
  if (snoozedUntil && !status) nextStatus = 'snoozed';
  if (nextStatus && isFiltered(current.status)) {
    const path = status ? 'body.status' : 'body.snoozedUntil';
    throw conflict(`${path}: the thread is marked ${current.status}; POST /api/threads/${id}/not-spam moves it back to the inbox`, {
      issues: [{ path, message: `the thread is marked ${current.status}` }],
    });
  }
  const changes: Record<string, unknown> = { ...rest };
  if (subject !== undefined) Object.assign(changes, { subject, normalizedSubject: subject.toLowerCase() });
  if (nextStatus) Object.assign(changes, statusFields(current, nextStatus, snoozedUntil));
  if (Object.keys(changes).length === 0) return loadThread(ctx, id);
  changes.lastActivityAt = new Date();
  await sql`update app.threads set ${sql(changes as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  // Status, priority and customer decide the clocks (lib/sla/clock.ts).
  await applyServiceLevel(ctx, id);
  if (nextStatus === 'snoozed' && snoozedUntil) {
    await enqueue(
      ctx,
      jobSpecs.threadUnsnooze,
      { threadId: id, until: snoozedUntil.toISOString() },
      {
        runAt: snoozedUntil,
        dedupeKey: `${id}:${snoozedUntil.toISOString()}`,
      },
    );
  }
  const updated = await loadThread(ctx, id);
  await announceThread(ctx, 'thread.updated', id, { data: input });
  return updated;
}

function notifyAssignee(ctx: Ctx, thread: Thread, userId: string) {
  return notify(ctx, [userId], {
    type: 'assignment',
    title: `Assigned: ${String(thread.subject || '(no subject)').slice(0, 200)}`,
    threadId: thread.id,
    entityType: 'thread',
    entityId: thread.id,
  });
}

export async function assignThread(ctx: Ctx, id: string, input: z.infer<typeof threadAssign>) {
  const sql = ctx.sql;
  const current = await loadThread(ctx, id, true);
  if (input.assigneeId) await requireActiveMember(ctx, input.assigneeId, 'body.assigneeId', { works: true });
  if (input.teamId) {
    const [team] = await sql`select 1 from app.teams where org_id = ${ctx.orgId} and id = ${input.teamId}`;
    if (!team) throw invalid('body.teamId', 'is not a team of this organization');
  }
  const changes: Record<string, unknown> = { lastActivityAt: new Date() };
  if (input.assigneeId !== undefined) changes.assigneeId = input.assigneeId;
  if (input.teamId !== undefined) changes.teamId = input.teamId;
  await sql`update app.threads set ${sql(changes as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  const updated = await loadThread(ctx, id);
  await announceThread(ctx, input.assigneeId === null ? 'thread.unassigned' : 'thread.assigned', id, { data: input });
  if (input.assigneeId && input.assigneeId !== current.assigneeId) {
    await notifyAssignee(ctx, updated, input.assigneeId);
  }
  return withWarnings(updated, await assigneeWarnings(ctx, input.assigneeId, 'assigneeId'));
}

/** The thread with `warnings` when there are any (lib/org/availability.ts). */
function withWarnings(thread: Thread, warnings: Warning[]): Thread & { warnings?: Warning[] } {
  return warnings.length ? { ...thread, warnings } : thread;
}

export async function unassignThread(ctx: Ctx, id: string): Promise<Thread> {
  return assignThread(ctx, id, { assigneeId: null });
}

/** Marks the thread read (now) or unread for the calling member. */
export async function setThreadRead(ctx: Ctx, id: string, read: boolean) {
  const sql = ctx.sql;
  if (!ctx.userId) throw new AppError('forbidden', 'Only members have read state');
  await loadThread(ctx, id);
  if (read) {
    await sql`
      insert into app.thread_reads (org_id, thread_id, user_id, last_read_at) values (${ctx.orgId}, ${id}, ${ctx.userId}, now())
      on conflict (thread_id, user_id) do update set last_read_at = excluded.last_read_at`;
  } else {
    await sql`delete from app.thread_reads where thread_id = ${id} and user_id = ${ctx.userId}`;
  }
  const thread = await loadThread(ctx, id);
  await recordChange(ctx, { event: 'thread.read_state', topics: [topics.user(ctx.userId)], data: { threadId: id, unread: thread.unread } });
  return { threadId: id, unread: thread.unread as boolean };
}
