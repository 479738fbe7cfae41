// Actions: the team's tasks on a thread and/or a shipment (follow up, call back, send a document ...),
// with an assignee (notified), a due time, a priority and a status whose `done` stamps completed_at.
// Lists sort by due time (undated last), then by creation.
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';
import { notify } from '../notifications/notify.js';
import { invalid, notFound } from '../errors.js';
import { booleanQuery, csvList, decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { requireActiveMember } from '../org/members.js';
import { recordChange, topics } from '../realtime.js';
import { PRIORITIES } from '../threads/service.js';
import { now } from '../time.js';
import { whenFieldsValid } from '../validation.js';

export const ACTION_TYPES = ['follow_up', 'call_back', 'send_document', 'request_document', 'quote', 'booking', 'customs', 'payment', 'other'] as const;
export const ACTION_STATUSES = ['open', 'in_progress', 'done', 'cancelled'] as const;
/** Statuses in which an action is still to be done (and can be overdue). */
const PENDING: readonly string[] = ['open', 'in_progress'];

const dateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with offset' }).transform((s) => new Date(s));

const actionFields = {
  title: z.string().trim().min(1).max(500),
  description: z.string().trim().max(10_000).nullable(),
  type: z.enum(ACTION_TYPES),
  status: z.enum(ACTION_STATUSES),
  priority: z.enum(PRIORITIES),
  assigneeId: z.uuid().nullable(),
  dueAt: dateTime.nullable(),
  threadId: z.uuid().nullable(),
  shipmentId: z.uuid().nullable(),
};

/** The AI suggestion an action was made from, as POST /api/ai/suggest-actions hands it out. */
export const actionSuggestion = z.strictObject({
  key: z.string().regex(/^[0-9a-f]{16}$/, 'must be the key of a suggestion (16 hex digits)'),
  source: z.enum(['model', 'offline']),
  model: z.string().trim().max(200).nullable().default(null),
});

export const actionCreate = z
  .strictObject({
    ...actionFields,
    description: actionFields.description.optional(),
    type: actionFields.type.default('follow_up'),
    status: actionFields.status.default('open'),
    priority: actionFields.priority.default('normal'),
    assigneeId: actionFields.assigneeId.optional(),
    dueAt: actionFields.dueAt.optional(),
    threadId: actionFields.threadId.optional(),
    shipmentId: actionFields.shipmentId.optional(),
    /** `ai` for an action taken from a suggestion (POST /api/ai/suggest-actions), which it then names. */
    source: z.enum(['manual', 'ai']).default('manual'),
    suggestion: actionSuggestion.optional(),
  })
  .superRefine((v, c) => {
    if (!v.threadId && !v.shipmentId) c.addIssue({ code: 'custom', path: ['threadId'], message: 'name a threadId and/or a shipmentId' });
    if (v.suggestion && v.source !== 'ai') c.addIssue({ code: 'custom', path: ['suggestion'], message: 'goes with source "ai"' });
  }, whenFieldsValid);

export const actionUpdate = z
  .strictObject(actionFields)
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

const assigneeFilter = z.union([z.literal('me'), z.literal('none'), z.uuid()], { message: "must be 'me', 'none' or a member id" });

export const actionListQuery = z.object({
  ...pageQuery,
  assignee: assigneeFilter.optional(),
  thread: z.uuid().optional(),
  shipment: z.uuid().optional(),
  status: csvList(z.enum(ACTION_STATUSES)),
  overdue: booleanQuery.optional(),
  due_before: dateTime.optional(),
});

// The sort key: due time (null = undated, sorted last), creation time, id; times as microsecond-exact text,
// bound as text (a timestamptz parameter would pass through a JavaScript Date and lose microseconds).
const cursorShape = z.tuple([z.iso.datetime({ offset: true }).nullable(), z.iso.datetime({ offset: true }), z.uuid()]);

export interface Action {
  id: string;
  threadId: string | null;
  shipmentId: string | null;
  title: string;
  description: string | null;
  type: (typeof ACTION_TYPES)[number];
  status: (typeof ACTION_STATUSES)[number];
  priority: (typeof PRIORITIES)[number];
  assigneeId: string | null;
  dueAt: Date | null;
  completedAt: Date | null;
  overdue: boolean;
  [key: string]: unknown;
}

type Row = Action & { sortDue: string | null; sortCreated: string };

export const actionSelect = (sql: Ctx['sql'], extra = sql``) => sql`
  select a.id, a.thread_id, a.shipment_id, a.title, a.description, a.type, a.status, a.priority, a.assignee_id,
    m.display_name as assignee_name, a.due_at, a.completed_at, a.source, a.suggestion, a.created_by, a.created_at, a.updated_at,
    (a.due_at is not null and a.due_at < now() and a.status in ('open', 'in_progress')) as overdue,
    t.subject as thread_subject, s.reference as shipment_reference,
    ${exactInstant(sql, 'a.due_at', 'sort_due')}, ${exactInstant(sql, 'a.created_at', 'sort_created')}
    ${extra}
  from app.actions a
  left join app.members m on m.org_id = a.org_id and m.user_id = a.assignee_id
  left join app.threads t on t.org_id = a.org_id and t.id = a.thread_id
  left join app.shipments s on s.org_id = a.org_id and s.id = a.shipment_id`;

const strip = ({ sortDue: _d, sortCreated: _c, ...action }: Row): Action => action;

export async function listActions(ctx: Ctx, q: z.infer<typeof actionListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, cursorShape);
  const assignee = q.assignee === 'me' ? ctx.userId : q.assignee;
  if (q.assignee === 'me' && !assignee) throw invalid('query.assignee', "'me' needs a member, not the system actor");
  const pending = [...PENDING];
  const rows = await sql<Row[]>`
    ${actionSelect(sql)}
    where a.org_id = ${ctx.orgId}
      ${assignee === 'none' ? sql`and a.assignee_id is null` : assignee ? sql`and a.assignee_id = ${assignee}` : sql``}
      ${q.thread ? sql`and a.thread_id = ${q.thread}` : sql``}
      ${q.shipment ? sql`and a.shipment_id = ${q.shipment}` : sql``}
      ${q.status ? sql`and a.status = any(${q.status}::text[])` : sql``}
      ${q.overdue === true ? sql`and a.due_at < now() and a.status = any(${pending}::text[])` : sql``}
      ${q.overdue === false ? sql`and not (a.due_at is not null and a.due_at < now() and a.status = any(${pending}::text[]))` : sql``}
      ${q.due_before ? sql`and a.due_at < ${q.due_before}` : sql``}
      ${
        !after
          ? sql``
          : after[0] === null
            ? sql`and a.due_at is null and (a.created_at, a.id) > (${after[1]}::text::timestamptz, ${after[2]}::uuid)`
            : sql`and (a.due_at is null or a.due_at > ${after[0]}::text::timestamptz
                   or (a.due_at = ${after[0]}::text::timestamptz and (a.created_at, a.id) > (${after[1]}::text::timestamptz, ${after[2]}::uuid)))`
      }
    order by a.due_at asc nulls last, a.created_at, a.id
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortDue, r.sortCreated, r.id]);
  return { ...page, data: page.data.map(strip) };
}

async function loadAction(ctx: Ctx, id: string): Promise<Action> {
  const [row] = await ctx.sql<Row[]>`${actionSelect(ctx.sql)} where a.id = ${id} and a.org_id = ${ctx.orgId}`;
  if (!row) throw notFound('Action');
  return strip(row);
}

export const getAction = loadAction;

/** Each referenced record must exist in the organization: 422 naming the field otherwise. */
async function checkReferences(ctx: Ctx, input: { assigneeId?: string | null; threadId?: string | null; shipmentId?: string | null }) {
  const sql = ctx.sql;
  if (input.assigneeId) await requireActiveMember(ctx, input.assigneeId, 'body.assigneeId', { works: true });
  if (input.threadId) {
    const [thread] = await sql`select 1 from app.threads where org_id = ${ctx.orgId} and id = ${input.threadId}`;
    if (!thread) throw invalid('body.threadId', 'is not a thread of this organization');
  }
  if (input.shipmentId) {
    const [shipment] = await sql`select 1 from app.shipments where org_id = ${ctx.orgId} and id = ${input.shipmentId}`;
    if (!shipment) throw invalid('body.shipmentId', 'is not a shipment of this organization');
  }
}

/** The organization's topic and, for each thread the action is (or was) on, the thread's topic. */
function actionTopics(ctx: Ctx, ...threadIds: (string | null | undefined)[]): string[] {
  const threads = [...new Set(threadIds.filter((t): t is string => !!t))];
  return [topics.org(ctx.orgId), ...threads.map((t) => topics.thread(ctx.orgId, t))];
}

function notifyAssignee(ctx: Ctx, action: Action) {
  return notify(ctx, [action.assigneeId], {
    type: 'assignment',
    title: `Action assigned: ${action.title}`,
    body: action.dueAt ? `Due ${action.dueAt.toISOString()}` : null,
    threadId: action.threadId,
    entityType: 'action',
    entityId: action.id,
  });
}

/** An action is "due" this long before its due time (the `action_due` notification), "overdue" at it. */
export const ACTION_DUE_SOON_MS = 3_600_000;

/**
 * Queues the due and overdue jobs of an open action with a due time (lib/actions/jobs.ts). A job
 * carries the due time it was made for and does nothing once the action's due time moved or it was
 * finished, so an edit only adds the jobs of the new time. Past times are not queued.
 */
export async function scheduleDueJobs(ctx: Ctx, action: Pick<Action, 'id' | 'dueAt' | 'status'>): Promise<void> {
  if (!action.dueAt || (action.status !== 'open' && action.status !== 'in_progress')) return;
  const at = now().getTime();
  const dueAt = action.dueAt.toISOString();
  const stages = [
    { stage: 'due' as const, runAt: new Date(action.dueAt.getTime() - ACTION_DUE_SOON_MS) },
    { stage: 'overdue' as const, runAt: action.dueAt },
  ];
  for (const { stage, runAt } of stages) {
    if (runAt.getTime() <= at) continue;
    await enqueue(ctx, jobSpecs.actionDue, { actionId: action.id, dueAt, stage }, { runAt, dedupeKey: `action.due:${action.id}:${dueAt}:${stage}` });
  }
}

/** `notifyAssignee: false` when the caller tells the assignee itself (a missed call's call-back). */
export async function createAction(ctx: Ctx, input: z.infer<typeof actionCreate>, options: { notifyAssignee?: boolean } = {}) {
  const sql = ctx.sql;
  await checkReferences(ctx, input);
  const id = randomUUID();
  await sql`
    insert into app.actions ${sql({
      ...input,
      id,
      orgId: ctx.orgId,
      createdBy: ctx.userId,
      source: ctx.role === 'system' ? 'system' : input.source,
      suggestion: input.suggestion ? sql.json(input.suggestion) : null,
      completedAt: input.status === 'done' ? new Date() : null,
    } as never)}`;
  const action = await loadAction(ctx, id);
  await recordChange(ctx, {
    event: 'action.created',
    topics: actionTopics(ctx, action.threadId),
    data: action,
    audit: { entityType: 'action', entityId: id, data: input },
  });
  if (options.notifyAssignee !== false) await notifyAssignee(ctx, action);
  await scheduleDueJobs(ctx, action);
  return action;
}

export async function updateAction(ctx: Ctx, id: string, input: z.infer<typeof actionUpdate>) {
  const sql = ctx.sql;
  const [current] = await sql<{ status: string; assigneeId: string | null; threadId: string | null; shipmentId: string | null }[]>`
    select status, assignee_id, thread_id, shipment_id from app.actions where id = ${id} and org_id = ${ctx.orgId} for update`;
  if (!current) throw notFound('Action');
  const threadId = input.threadId === undefined ? current.threadId : input.threadId;
  const shipmentId = input.shipmentId === undefined ? current.shipmentId : input.shipmentId;
  if (!threadId && !shipmentId) {
    throw invalid(input.threadId === null ? 'body.threadId' : 'body.shipmentId', 'an action stays on a thread and/or a shipment');
  }
  await checkReferences(ctx, input);
  const changes: Record<string, unknown> = { ...input };
  if (input.status !== undefined && input.status !== current.status) {
    // Done stamps the completion time; reopening (or cancelling) clears it.
    changes.completedAt = input.status === 'done' ? new Date() : null;
  }
  await sql`update app.actions set ${sql(changes as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  const action = await loadAction(ctx, id);
  await recordChange(ctx, {
    event: 'action.updated',
    topics: actionTopics(ctx, current.threadId, action.threadId),
    data: action,
    audit: { entityType: 'action', entityId: id, data: input },
  });
  if (input.assigneeId && input.assigneeId !== current.assigneeId) await notifyAssignee(ctx, action);
  if (input.dueAt !== undefined || (input.status !== undefined && input.status !== current.status)) await scheduleDueJobs(ctx, action);
  return action;
}

export async function deleteAction(ctx: Ctx, id: string) {
  const [row] = await ctx.sql<{ id: string; threadId: string | null }[]>`
    delete from app.actions where id = ${id} and org_id = ${ctx.orgId} returning id, thread_id`;
  if (!row) throw notFound('Action');
  await recordChange(ctx, {
    event: 'action.deleted',
    topics: actionTopics(ctx, row.threadId),
    data: { id, threadId: row.threadId },
    audit: { entityType: 'action', entityId: id },
  });
  return null;
}
