// Workflows through the API (workflows.manage): CRUD where every save of the definition is a new
// version (app.workflow_versions; runs keep the version they started with), enable/disable, priority
// and "stop later workflows"; the runs per workflow and per thread with their steps; retrying a failed
// run from its failed step, cancelling one; and the dry run, which evaluates a workflow against a real
// thread and answers which steps would run with which inputs, changing nothing.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { AppError, conflict, invalid, notFound } from '../errors.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';
import { decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { recordChange, topics, type EventsOf } from '../realtime.js';
import { loadThread } from '../threads/service.js';
import { now } from '../time.js';
import { evaluate, loadFacts, needsCalendar } from './conditions.js';
import { definitionIssues, definitionSchema, TRIGGERS, type Definition, type WorkflowStep } from './definition.js';

const fields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().trim().max(2000).nullable(),
  enabled: z.boolean(),
  /** Lower runs first (0 to 100000). */
  priority: z.number().int().min(0).max(100_000),
  /** When this workflow runs for an event, workflows after it in priority order do not. */
  stopLaterWorkflows: z.boolean(),
};

export const workflowCreate = z.strictObject({
  ...fields,
  description: fields.description.optional(),
  enabled: fields.enabled.default(false),
  priority: fields.priority.default(100),
  stopLaterWorkflows: fields.stopLaterWorkflows.default(false),
  ...definitionSchema.shape,
});

export const workflowUpdate = z
  .strictObject({ ...fields, ...definitionSchema.shape })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const workflowListQuery = z.object({ ...pageQuery, trigger: z.enum(TRIGGERS).optional(), enabled: z.stringbool().optional() });

export interface Workflow {
  id: string;
  name: string;
  description: string | null;
  enabled: boolean;
  priority: number;
  stopLaterWorkflows: boolean;
  version: number;
  trigger: Definition['trigger'];
  conditions: Definition['conditions'] | null;
  steps: Definition['steps'];
  nextFireAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const columns = (sql: Ctx['sql']) => sql`
  w.id, w.name, w.description, w.enabled, w.priority, w.stop_later as stop_later_workflows, w.version,
  v.definition -> 'trigger' as trigger, v.definition -> 'conditions' as conditions, v.definition -> 'steps' as steps,
  w.next_fire_at, w.created_by, w.created_at, w.updated_at`;

const from = (sql: Ctx['sql']) => sql`app.workflows w join app.workflow_versions v on v.workflow_id = w.id and v.version = w.version`;

export async function listWorkflows(ctx: Ctx, q: z.infer<typeof workflowListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, z.tuple([z.number().int(), z.string(), z.uuid()]));
  const rows = await sql<Workflow[]>`
    select ${columns(sql)} from ${from(sql)}
    where w.org_id = ${ctx.orgId}
      ${q.trigger ? sql`and w.trigger_event = ${q.trigger}` : sql``}
      ${q.enabled === undefined ? sql`` : sql`and w.enabled = ${q.enabled}`}
      ${after ? sql`and (w.priority, w.name, w.id) > (${after[0]}, ${after[1]}, ${after[2]}::uuid)` : sql``}
    order by w.priority, w.name, w.id limit ${sql.unsafe(String(q.limit + 1))}`;
  return toPage(rows, q.limit, (r) => [r.priority, r.name, r.id]);
}

export async function getWorkflow(ctx: Ctx, id: string): Promise<Workflow> {
  const [row] = await ctx.sql<Workflow[]>`select ${columns(ctx.sql)} from ${from(ctx.sql)} where w.id = ${id} and w.org_id = ${ctx.orgId}`;
  if (!row) throw notFound('Workflow');
  return row;
}

async function orgTimeZone(ctx: Ctx): Promise<string> {
  const [org] = await ctx.sql<{ timezone: string }[]>`select timezone from app.organizations where id = ${ctx.orgId}`;
  return org?.timezone ?? 'UTC';
}

/** What the steps name must exist now (members, teams, templates, webhook endpoints), as the macro's checks do. */
async function checkReferences(ctx: Ctx, d: Definition) {
  const visit = async (steps: WorkflowStep[], base: string) => {
    for (const [i, s] of steps.entries()) {
      const path = `${base}.${i}`;
      const team = 'teamId' in s && s.teamId ? s.teamId : null;
      if (team) {
        const [t] = await ctx.sql`select 1 from app.teams where org_id = ${ctx.orgId} and id = ${team}`;
        if (!t) throw invalid(`${path}.teamId`, 'is not a team of this organization');
      }
      const members = [...('assigneeId' in s && s.assigneeId ? [s.assigneeId] : []), ...(s.type === 'notify' ? (s.userIds ?? []) : [])];
      if (members.length) {
        const found = await ctx.sql<{ userId: string }[]>`select user_id from app.members where org_id = ${ctx.orgId} and user_id = any (${members}::uuid[])`;
        const missing = members.find((m) => !found.some((f) => f.userId === m));
        if (missing) throw invalid(`${path}.${s.type === 'notify' ? 'userIds' : 'assigneeId'}`, `${missing} is not a member of this organization`);
      }
      if (s.type === 'reply') {
        const [t] = await ctx.sql`select 1 from app.reply_templates where id = ${s.templateId} and org_id = ${ctx.orgId} and owner_id is null`;
        if (!t) throw invalid(`${path}.templateId`, "is not one of the organization's shared templates");
      }
      if (s.type === 'webhook') {
        const [e] = await ctx.sql`select 1 from app.webhook_endpoints where id = ${s.endpointId} and org_id = ${ctx.orgId}`;
        if (!e) throw invalid(`${path}.endpointId`, 'is not a webhook endpoint of this organization');
      }
      if (s.type === 'wait') {
        await visit(s.onEvent, `${path}.onEvent`);
        await visit(s.onTimeout, `${path}.onTimeout`);
      }
    }
  };
  await visit(d.steps, 'body.steps');
}

async function validate(ctx: Ctx, d: Definition) {
  const tz = await orgTimeZone(ctx);
  const issues = await definitionIssues(d, tz);
  if (issues.length) throw new AppError('validation_failed', `${issues[0]!.path}: ${issues[0]!.message}`, { issues });
  await checkReferences(ctx, d);
  return tz;
}

async function nextFireAt(d: Definition, tz: string): Promise<Date | null> {
  if (d.trigger.type !== 'schedule' || !d.trigger.cron) return null;
  const { nextFire } = await import('./engine.js');
  return nextFire(d.trigger.cron, tz, now());
}

async function uniqueName<T>(fn: () => Promise<T>, name: string): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw conflict(`body.name: there is already a workflow named "${name}"`, { issues: [{ path: 'body.name', message: 'is taken' }] });
    }
    throw error;
  }
}

async function announce(ctx: Ctx, event: EventsOf<'workflow'>, id: string, data: unknown) {
  await recordChange(ctx, { event, topics: [topics.org(ctx.orgId)], data, audit: { entityType: 'workflow', entityId: id } });
}

export async function createWorkflow(ctx: Ctx, input: z.infer<typeof workflowCreate>) {
  const d: Definition = { trigger: input.trigger, conditions: input.conditions, steps: input.steps };
  const tz = await validate(ctx, d);
  const fireAt = await nextFireAt(d, tz);
  const [row] = await uniqueName(
    () => ctx.sql<{ id: string }[]>`
      insert into app.workflows (org_id, name, description, trigger_event, conditions, steps, enabled, version, priority, stop_later, schedule,
        next_fire_at, created_by)
      values (${ctx.orgId}, ${input.name}, ${input.description ?? null}, ${d.trigger.type}, ${ctx.sql.json((d.conditions ?? {}) as never)},
        ${ctx.sql.json(d.steps as never)}, ${input.enabled}, 1, ${input.priority}, ${input.stopLaterWorkflows}, ${d.trigger.cron ?? null},
        ${fireAt}, ${ctx.userId})
      returning id`,
    input.name,
  );
  await ctx.sql`
    insert into app.workflow_versions (org_id, workflow_id, version, definition, created_by)
    values (${ctx.orgId}, ${row!.id}, 1, ${ctx.sql.json(d as never)}, ${ctx.userId})`;
  const created = await getWorkflow(ctx, row!.id);
  await announce(ctx, 'workflow.created', created.id, created);
  return created;
}

export async function updateWorkflow(ctx: Ctx, id: string, input: z.infer<typeof workflowUpdate>) {
  const current = await getWorkflow(ctx, id);
  const changes: Record<string, unknown> = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.description !== undefined) changes.description = input.description;
  if (input.enabled !== undefined) changes.enabled = input.enabled;
  if (input.priority !== undefined) changes.priority = input.priority;
  if (input.stopLaterWorkflows !== undefined) changes.stopLater = input.stopLaterWorkflows;
  const redefined = input.trigger !== undefined || input.conditions !== undefined || input.steps !== undefined;
  const d: Definition = {
    trigger: input.trigger ?? current.trigger,
    conditions: input.conditions ?? current.conditions ?? undefined,
    steps: input.steps ?? current.steps,
  };
  if (redefined) {
    const tz = await validate(ctx, d);
    const version = current.version + 1;
    await ctx.sql`
      insert into app.workflow_versions (org_id, workflow_id, version, definition, created_by)
      values (${ctx.orgId}, ${id}, ${version}, ${ctx.sql.json(d as never)}, ${ctx.userId})`;
    Object.assign(changes, {
      version,
      triggerEvent: d.trigger.type,
      conditions: ctx.sql.json((d.conditions ?? {}) as never),
      steps: ctx.sql.json(d.steps as never),
      schedule: d.trigger.cron ?? null,
      nextFireAt: await nextFireAt(d, tz),
    });
  } else if (input.enabled && !current.enabled && d.trigger.type === 'schedule') {
    changes.nextFireAt = await nextFireAt(d, await orgTimeZone(ctx));
  }
  await uniqueName(() => ctx.sql`update app.workflows set ${ctx.sql(changes as never)} where id = ${id} and org_id = ${ctx.orgId}`, input.name ?? current.name);
  const updated = await getWorkflow(ctx, id);
  await announce(ctx, 'workflow.updated', id, updated);
  return updated;
}

export async function deleteWorkflow(ctx: Ctx, id: string) {
  await getWorkflow(ctx, id);
  await ctx.sql`delete from app.workflows where id = ${id} and org_id = ${ctx.orgId}`;
  await announce(ctx, 'workflow.deleted', id, { id });
  return null;
}

export async function listVersions(ctx: Ctx, id: string) {
  await getWorkflow(ctx, id);
  const data = await ctx.sql`
    select version, definition, created_by, created_at from app.workflow_versions
    where workflow_id = ${id} and org_id = ${ctx.orgId} order by version desc limit 200`;
  return { data, nextCursor: null };
}

// ---------------------------------------------------------------------------------------------------
// Runs

export const runListQuery = z.object({ ...pageQuery, status: z.enum(['running', 'waiting', 'completed', 'failed', 'cancelled', 'skipped']).optional() });

const runColumns = (sql: Ctx['sql']) => sql`
  r.id, r.workflow_id, w.name as workflow_name, r.workflow_version, r.trigger_event, r.thread_id, r.status, r.current_step, r.error,
  r.depth, r.event, r.started_at, r.finished_at, r.updated_at`;

async function listRuns(ctx: Ctx, where: ReturnType<Ctx['sql']>, q: z.infer<typeof runListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, z.tuple([z.iso.datetime({ offset: true }), z.uuid()]));
  const rows = await sql<(Record<string, unknown> & { id: string; sortAt: string })[]>`
    select ${runColumns(sql)}, ${exactInstant(sql, 'r.started_at', 'sort_at')}
    from app.workflow_runs r left join app.workflows w on w.id = r.workflow_id
    where r.org_id = ${ctx.orgId} and ${where}
      ${q.status ? sql`and r.status = ${q.status}` : sql``}
      ${after ? sql`and (r.started_at, r.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
    order by r.started_at desc, r.id desc limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.id]);
  return { ...page, data: page.data.map(({ sortAt: _s, ...r }) => r) };
}

export async function listWorkflowRuns(ctx: Ctx, workflowId: string, q: z.infer<typeof runListQuery>) {
  await getWorkflow(ctx, workflowId);
  return listRuns(ctx, ctx.sql`r.workflow_id = ${workflowId}`, q);
}

export async function listThreadRuns(ctx: Ctx, threadId: string, q: z.infer<typeof runListQuery>) {
  await loadThread(ctx, threadId);
  return listRuns(ctx, ctx.sql`r.thread_id = ${threadId}`, q);
}

export async function getRun(ctx: Ctx, id: string) {
  const [run] = await ctx.sql<Record<string, unknown>[]>`
    select ${runColumns(ctx.sql)} from app.workflow_runs r left join app.workflows w on w.id = r.workflow_id
    where r.id = ${id} and r.org_id = ${ctx.orgId}`;
  if (!run) throw notFound('Workflow run');
  const steps = await ctx.sql`
    select step_key, type, status, input, output, error, attempts, started_at, finished_at
    from app.workflow_run_steps where run_id = ${id} and org_id = ${ctx.orgId} order by started_at, step_key`;
  return { ...run, steps };
}

async function announceRun(ctx: Ctx, id: string) {
  const { steps: _s, ...run } = (await getRun(ctx, id)) as Record<string, unknown> & { steps: unknown };
  if (run.threadId)
    await recordChange(ctx, {
      event: 'workflow_run.updated',
      topics: [topics.thread(ctx.orgId, run.threadId as string)],
      data: run,
      audit: { entityType: 'workflow_run', entityId: id, data: { status: run.status } },
    });
}

/** Runs a failed run again from its failed step (a new generation: older step jobs do nothing). */
export async function retryRun(ctx: Ctx, id: string) {
  const [run] = await ctx.sql<{ status: string; currentStep: string | null; generation: number }[]>`
    select status, current_step, coalesce((state ->> 'generation')::int, 0) as generation
    from app.workflow_runs where id = ${id} and org_id = ${ctx.orgId} for update`;
  if (!run) throw notFound('Workflow run');
  if (run.status !== 'failed' || !run.currentStep) throw new AppError('conflict', `The run is ${run.status}: only a failed run is retried`);
  const generation = run.generation + 1;
  await ctx.sql`
    update app.workflow_runs set status = 'running', error = null, finished_at = null,
      state = state || ${ctx.sql.json({ generation } as never)}
    where id = ${id}`;
  await enqueue(
    ctx,
    jobSpecs.workflowStep,
    { runId: id, stepKey: run.currentStep, generation },
    { runAt: now(), dedupeKey: `workflow.step:${id}:${run.currentStep}:run:${generation}` },
  );
  await announceRun(ctx, id);
  return getRun(ctx, id);
}

/** Cancels a run that is still going (running or waiting): its waits end, its queued steps do nothing. */
export async function cancelRun(ctx: Ctx, id: string) {
  const [run] = await ctx.sql<{ status: string }[]>`select status from app.workflow_runs where id = ${id} and org_id = ${ctx.orgId} for update`;
  if (!run) throw notFound('Workflow run');
  if (run.status !== 'running' && run.status !== 'waiting')
    throw new AppError('conflict', `The run is ${run.status}: only a running or waiting run is cancelled`);
  await ctx.sql`delete from app.workflow_waits where run_id = ${id} and org_id = ${ctx.orgId}`;
  await ctx.sql`update app.workflow_runs set status = 'cancelled', finished_at = ${now()}, error = ${`cancelled by ${ctx.userId ?? 'the system'}`} where id = ${id}`;
  await announceRun(ctx, id);
  return getRun(ctx, id);
}

// ---------------------------------------------------------------------------------------------------
// Dry run

export const dryRunBody = z
  .strictObject({
    threadId: z.uuid().optional(),
    event: z
      .strictObject({
        type: z.enum(TRIGGERS),
        threadId: z.uuid(),
        messageId: z.uuid().optional(),
        /** shipment.milestone: the milestone, for `milestone` conditions. */
        milestoneId: z.uuid().optional(),
        changes: z.array(z.string().max(50)).max(20).optional(),
        automated: z.boolean().optional(),
      })
      .optional(),
  })
  .refine((b) => Boolean(b.threadId) !== Boolean(b.event), { message: 'name threadId or event, not both', path: ['threadId'] });

/** What a step would do on the thread now, changing nothing. */
async function wouldDo(ctx: Ctx, threadId: string, s: WorkflowStep, key: string): Promise<Record<string, unknown>> {
  const { pickAssignee, notifyRecipients, replyRefusal, waitExpiry, webhookIdFor } = await import('./engine.js');
  const base = { step: key, type: s.type, input: s as unknown };
  switch (s.type) {
    case 'assign_auto': {
      const assigneeId = await pickAssignee(ctx, s, false);
      return { ...base, wouldRun: assigneeId !== null, resolved: { assigneeId }, ...(assigneeId ? {} : { reason: 'no member of the team can take work now' }) };
    }
    case 'notify':
      return { ...base, wouldRun: true, resolved: { recipients: await notifyRecipients(ctx, threadId, s) } };
    case 'reply': {
      const refusal = s.draft ? null : await replyRefusal(ctx, threadId, false);
      return { ...base, wouldRun: !refusal, ...(refusal ? { reason: refusal } : {}), resolved: { autoSubmitted: 'auto-replied' } };
    }
    case 'webhook':
      return { ...base, wouldRun: true, resolved: { webhookId: webhookIdFor('dry-run', key) } };
    case 'wait': {
      const expiresAt = await waitExpiry(ctx, s, now());
      return {
        ...base,
        wouldRun: true,
        resolved: { expiresAt, events: s.event?.types ?? [] },
        branches: {
          onEvent: await Promise.all(s.onEvent.map((x, j) => wouldDo(ctx, threadId, x, `${key}.onEvent.${j}`))),
          onTimeout: await Promise.all(s.onTimeout.map((x, j) => wouldDo(ctx, threadId, x, `${key}.onTimeout.${j}`))),
        },
      };
    }
    default:
      return { ...base, wouldRun: true };
  }
}

/** Evaluates the workflow (its current version) against a real thread, as an event would: nothing changes. */
export async function dryRun(ctx: Ctx, id: string, body: z.infer<typeof dryRunBody>) {
  const wf = await getWorkflow(ctx, id);
  const event = body.event ?? { type: wf.trigger.type, threadId: body.threadId! };
  await loadThread(ctx, event.threadId);
  const d: Definition = { trigger: wf.trigger, conditions: wf.conditions ?? undefined, steps: wf.steps };
  const facts = (await loadFacts(ctx, event.threadId, {
    messageId: 'messageId' in event ? event.messageId : undefined,
    milestoneId: 'milestoneId' in event ? event.milestoneId : undefined,
    changed: 'changes' in event ? event.changes : undefined,
    now: now(),
    calendar: needsCalendar(d.conditions),
  }))!;
  const reasons: string[] = [];
  if (event.type !== d.trigger.type) reasons.push(`the workflow's trigger is ${d.trigger.type}, not ${event.type}`);
  if (d.trigger.channels && !(d.trigger.channels as string[]).includes(facts.channel ?? ''))
    reasons.push(`the thread's channel ${facts.channel} is not one of the trigger's`);
  if ('automated' in event && event.automated && !d.trigger.includeAutomated) reasons.push('the message is automated and the workflow does not opt in');
  const conditionsHold = evaluate(d.conditions, facts);
  if (!conditionsHold) reasons.push('the conditions do not hold');
  const matched = reasons.length === 0;
  return {
    workflowId: wf.id,
    version: wf.version,
    threadId: event.threadId,
    matched,
    conditionsHold,
    reasons,
    facts: { ...facts, now: facts.now.toISOString() },
    steps: matched ? await Promise.all(d.steps.map((s, i) => wouldDo(ctx, event.threadId, s, String(i)))) : [],
  };
}
