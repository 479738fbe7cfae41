// The workflow engine on the outbox jobs (no second queue):
// - `workflow.event`: an event (lib/workflows/emit.ts) wakes the runs waiting for it on its thread (a
//   lookup in app.workflow_waits by thread, never a scan), then starts a run of every enabled workflow
//   for its trigger whose conditions hold, in priority order (a workflow may stop later ones). A run
//   is unique per workflow and occurrence: a redelivered event starts nothing twice.
// - `workflow.step`: one step of a run, in the job's transaction: its database effects, its record in
//   app.workflow_run_steps and the next step's job commit together, so a redelivered step job finds
//   the run moved on and does nothing. External effects (mail, webhooks) leave through jobs of their
//   own keyed on what the step made (the message id is Resend's key; the webhook-id is the run's and
//   step's), so they happen once too. A refused step fails the run with its error (retry or cancel it
//   through the API); a crash retries the job, and the run fails when its attempts run out.
// - A wait is a `waiting` run with a delayed job for its timeout (beyond QStash's delay, the sweeper
//   publishes it when due) and, when it waits for an event, a subscription row the event deletes.
// - Loop guards: the events a step causes carry the run (ctx.automation): they never start the same
//   workflow again, and a chain across workflows stops at MAX_DEPTH (the refused run is recorded).
import { createHash } from 'node:crypto';
import { savepoint, type Automation, type Ctx } from '../context.js';
import { AppError } from '../errors.js';
import { enqueue } from '../jobs/enqueue.js';
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { reportable, runStep as runMacroStep } from '../macros/run.js';
import { replyBody, reply } from '../messages/service.js';
import { notify } from '../notifications/notify.js';
import { workableMembers } from '../org/availability.js';
import { recordChange, topics } from '../realtime.js';
import { onShipmentEvent } from '../shipments/events.js';
import { onSlaEvent } from '../sla/events.js';
import { businessCalendarOf, defaultCalendar } from '../sla/calendars.js';
import { assignThread } from '../threads/service.js';
import { now } from '../time.js';
import { evaluate, loadFacts, needsCalendar, type Facts } from './conditions.js';
import { afterWait, definitionSchema, nextStepKey, stepAt, type Definition, type SimpleStep, type WaitStep } from './definition.js';
import { emitWorkflowEvent, type WorkflowEvent } from './emit.js';

/** Chains across workflows stop here: a run started by a change that MAX_DEPTH runs led to is refused (and recorded). */
export const MAX_DEPTH = 5;
/** Automated replies to one counterpart per day (UTC), across the organization's workflows. */
export const AUTO_REPLIES_PER_DAY = 3;

interface Candidate {
  id: string;
  name: string;
  version: number;
  priority: number;
  stopLater: boolean;
}

const definitions = new Map<string, Definition>();

/** A workflow version's definition, parsed once per process (versions never change). */
export async function definitionOf(ctx: Ctx, workflowId: string, version: number): Promise<Definition> {
  const key = `${workflowId}:${version}`;
  let d = definitions.get(key);
  if (!d) {
    const [row] = await ctx.sql<{ definition: unknown }[]>`
      select definition from app.workflow_versions where workflow_id = ${workflowId} and version = ${version} and org_id = ${ctx.orgId}`;
    if (!row) throw new AppError('not_found', `Workflow ${workflowId} has no version ${version}`);
    d = definitionSchema.parse(row.definition);
    if (definitions.size > 5000) definitions.clear();
    definitions.set(key, d);
  }
  return d;
}

export interface RunStart {
  workflow: Pick<Candidate, 'id' | 'version'>;
  threadId: string;
  trigger: string;
  dedupeKey: string;
  depth: number;
  event: unknown;
  status?: 'running' | 'skipped';
  error?: string;
}

/** Records a run (once per workflow and occurrence) and queues its first step; its id, or null when it existed. */
export async function startRun(ctx: Ctx, r: RunStart): Promise<string | null> {
  const status = r.status ?? 'running';
  const [run] = await ctx.sql<{ id: string }[]>`
    insert into app.workflow_runs (org_id, workflow_id, workflow_version, trigger_event, subject_type, subject_id, thread_id, dedupe_key,
      depth, event, status, current_step, error, started_at, finished_at)
    values (${ctx.orgId}, ${r.workflow.id}, ${r.workflow.version}, ${r.trigger}, 'thread', ${r.threadId}, ${r.threadId}, ${r.dedupeKey.slice(0, 500)},
      ${r.depth}, ${ctx.sql.json(r.event as never)}, ${status}, ${status === 'running' ? '0' : null}, ${r.error ?? null}, ${now()},
      ${status === 'running' ? null : now()})
    on conflict (workflow_id, dedupe_key) do nothing
    returning id`;
  if (!run) return null;
  if (status === 'running') await queueStep(ctx, run.id, '0', 0);
  await announceRun(ctx, run.id);
  return run.id;
}

function queueStep(ctx: Ctx, runId: string, stepKey: string, generation: number, options: { resume?: 'event' | 'timeout'; runAt?: Date } = {}) {
  return enqueue(
    ctx,
    jobSpecs.workflowStep,
    { runId, stepKey, generation, ...(options.resume ? { resume: options.resume } : {}) },
    { runAt: options.runAt ?? now(), dedupeKey: `workflow.step:${runId}:${stepKey}:${options.resume ?? 'run'}:${generation}` },
  );
}

/** `workflow_run.updated` on the thread's topic: the run as GET /api/workflow-runs/{id} shows it, without its steps. */
async function announceRun(ctx: Ctx, runId: string) {
  const [run] = await ctx.sql<{ threadId: string | null }[]>`
    select r.id, r.workflow_id, w.name as workflow_name, r.workflow_version, r.thread_id, r.status, r.current_step, r.error, r.depth,
      r.started_at, r.finished_at
    from app.workflow_runs r left join app.workflows w on w.id = r.workflow_id where r.id = ${runId}`;
  if (!run?.threadId) return;
  await recordChange(ctx, { event: 'workflow_run.updated', topics: [topics.thread(ctx.orgId, run.threadId)], data: run });
}

// ---------------------------------------------------------------------------------------------------
// Events

/** The enabled workflows for a trigger, in priority order. */
async function candidates(ctx: Ctx, trigger: string): Promise<Candidate[]> {
  return ctx.sql<Candidate[]>`
    select id, name, version, priority, stop_later from app.workflows
    where org_id = ${ctx.orgId} and enabled and trigger_event = ${trigger}
    order by priority, id`;
}

/** Whether a workflow's trigger takes this event (channel, automated mail), before its conditions. */
function triggerTakes(d: Definition, event: WorkflowEvent, facts: Facts): boolean {
  const t = d.trigger;
  if (t.channels && !(t.channels as string[]).includes(facts.channel ?? '')) return false;
  if (event.type === 'message.received' && event.automated && !t.includeAutomated) return false;
  return true;
}

/** What one event did: for the bench and tests. */
export interface EventOutcome {
  woke: number;
  started: string[];
  /** Workflows whose conditions were evaluated. */
  evaluated: number;
  /** Milliseconds of CPU (this process) spent matching triggers and evaluating conditions (not loading facts or definitions). */
  matchCpuMs: number;
}

/** Totals of every event this process handled (the bench reads them). */
export const engineStats = { events: 0, evaluated: 0, started: 0, matchCpuMs: 0 };

export async function handleEvent(ctx: Ctx, event: WorkflowEvent): Promise<EventOutcome> {
  const outcome: EventOutcome = { woke: 0, started: [], evaluated: 0, matchCpuMs: 0 };
  let facts: Facts | undefined;
  const factsFor = async (calendar: boolean) => {
    if (!facts || (calendar && facts.insideBusinessHours === null)) {
      facts = await loadFacts(ctx, event.threadId, {
        messageId: event.messageId,
        milestoneId: event.milestoneId,
        changed: event.changes,
        now: now(),
        calendar,
      });
    }
    return facts;
  };

  // Runs waiting for this event on the thread (not for their own changes, nor for machine-made mail).
  const waits = event.automated
    ? []
    : await ctx.sql<{ id: string; runId: string; stepKey: string; conditions: unknown }[]>`
        select id, run_id, step_key, conditions from app.workflow_waits
        where org_id = ${ctx.orgId} and thread_id = ${event.threadId} and ${event.type} = any (events)
        order by created_at for update skip locked`;
  for (const w of waits) {
    if (event.origin?.runId === w.runId) continue;
    if (w.conditions) {
      const f = await factsFor(needsCalendar(w.conditions as never));
      if (!f || !evaluate(w.conditions as never, f)) continue;
    }
    const [gone] = await ctx.sql<{ generation: number }[]>`
      with d as (delete from app.workflow_waits where id = ${w.id} returning run_id)
      update app.workflow_runs r set state = r.state || ${ctx.sql.json({ wokenBy: { id: event.id, type: event.type, at: event.at } } as never)}
      from d where r.id = d.run_id and r.status = 'waiting'
      returning coalesce((r.state ->> 'generation')::int, 0) as generation`;
    if (!gone) continue;
    await queueStep(ctx, w.runId, w.stepKey, gone.generation, { resume: 'event' });
    outcome.woke++;
  }

  const list = await candidates(ctx, event.type);
  if (list.length === 0) return outcome;
  const defs = await Promise.all(list.map((c) => definitionOf(ctx, c.id, c.version)));
  const f = await factsFor(defs.some((d) => needsCalendar(d.conditions)));
  if (!f) return outcome;
  const depth = (event.origin?.depth ?? 0) + 1;
  // Matching is synchronous, in one pass, so its CPU is measured on its own (the bench's gate).
  const cpu = process.cpuUsage();
  const matched = list.map((wf, i) => {
    // A workflow's own changes never start it again on the thread.
    const takes = event.origin?.workflowId !== wf.id && triggerTakes(defs[i]!, event, f);
    if (takes) outcome.evaluated++;
    return takes && evaluate(defs[i]!.conditions, f);
  });
  const spent = process.cpuUsage(cpu);
  outcome.matchCpuMs = (spent.user + spent.system) / 1000;
  for (const [i, wf] of list.entries()) {
    if (!matched[i]) continue;
    const base = { workflow: wf, threadId: event.threadId, trigger: event.type, dedupeKey: event.id, depth, event };
    if (depth > MAX_DEPTH) {
      await startRun(ctx, { ...base, status: 'skipped', error: `loop guard: ${MAX_DEPTH} workflow runs in a row led to this event` });
      continue;
    }
    const id = await startRun(ctx, base);
    if (id) outcome.started.push(id);
    if (wf.stopLater) break;
  }
  engineStats.events++;
  engineStats.evaluated += outcome.evaluated;
  engineStats.started += outcome.started.length;
  engineStats.matchCpuMs += outcome.matchCpuMs;
  return outcome;
}

export const workflowEventJob = defineJob({
  ...jobSpecs.workflowEvent,
  async handle({ ctx, payload }) {
    await handleEvent(ctx, payload as unknown as WorkflowEvent);
  },
});

// SLA warnings and breaches reach the engine through the sla.event hook.
onSlaEvent('workflows', async (ctx, e) => {
  await emitWorkflowEvent(ctx, { id: `sla:${e.id}`, type: e.kind === 'breached' ? 'sla.breached' : 'sla.warning', threadId: e.threadId, slaEventId: e.id });
});

/** A shipment event starts workflows on at most this many of the shipment's threads (newest links first). */
const MILESTONE_THREADS = 100;

// A shipment's new milestone (recorded as planned, then again when its actual time is set) or changed
// ETA reaches the engine through the shipment.event hook, once per thread linked to the shipment (not
// the links an agent rejected).
onShipmentEvent('workflows', async (ctx, e) => {
  if (e.event === 'shipment.milestone' && !e.milestoneId) return;
  const links = await ctx.sql<{ threadId: string }[]>`
    select thread_id from app.thread_shipments
    where org_id = ${ctx.orgId} and shipment_id = ${e.shipmentId} and link_source <> 'rejected'
    order by created_at desc, thread_id limit ${MILESTONE_THREADS}`;
  const occurrence =
    e.event === 'shipment.milestone' ? `${e.milestoneId}:${e.stage ?? 'planned'}` : (e.occurrenceId ?? `${e.shipmentId}:${e.previousEta ?? ''}:${e.eta ?? ''}`);
  for (const { threadId } of links) {
    await emitWorkflowEvent(ctx, {
      id: `${e.event}:${occurrence}:${threadId}`,
      type: e.event,
      threadId,
      shipmentId: e.shipmentId,
      ...(e.milestoneId ? { milestoneId: e.milestoneId } : {}),
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// Steps

export interface RunRow {
  id: string;
  workflowId: string;
  workflowVersion: number;
  threadId: string;
  status: string;
  currentStep: string | null;
  depth: number;
  state: { generation?: number; wokenBy?: unknown };
}

export async function recordStep(
  ctx: Ctx,
  runId: string,
  key: string,
  type: string,
  status: 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped',
  fields: { input?: unknown; output?: unknown; error?: unknown; attempts: number },
) {
  const done = status === 'succeeded' || status === 'failed' || status === 'skipped';
  const j = (v: unknown) => (v === undefined ? null : ctx.sql.json(v as never));
  await ctx.sql`
    insert into app.workflow_run_steps (org_id, run_id, step_key, type, status, input, output, error, attempts, started_at, finished_at)
    values (${ctx.orgId}, ${runId}, ${key}, ${type}, ${status}, ${j(fields.input)}, ${j(fields.output)}, ${j(fields.error)}, ${fields.attempts},
      ${now()}, ${done ? now() : null})
    on conflict (run_id, step_key) do update set type = excluded.type, status = excluded.status,
      input = coalesce(excluded.input, app.workflow_run_steps.input), output = excluded.output, error = excluded.error,
      attempts = excluded.attempts, finished_at = excluded.finished_at`;
}

/** Moves the run to its next step (queued) or completes it. */
export async function advance(ctx: Ctx, run: RunRow, next: string | null) {
  const generation = run.state.generation ?? 0;
  if (next === null) {
    await ctx.sql`update app.workflow_runs set status = 'completed', current_step = null, finished_at = ${now()} where id = ${run.id}`;
  } else {
    await ctx.sql`update app.workflow_runs set status = 'running', current_step = ${next} where id = ${run.id}`;
    await queueStep(ctx, run.id, next, generation);
  }
  await announceRun(ctx, run.id);
}

export async function failRun(ctx: Ctx, run: RunRow, key: string, type: string, error: { code: string; message: string; details?: unknown }, attempts: number) {
  await recordStep(ctx, run.id, key, type, 'failed', { error, attempts });
  await ctx.sql`update app.workflow_runs set status = 'failed', error = ${`${key} (${type}): ${error.message}`.slice(0, 2000)}, finished_at = ${now()} where id = ${run.id}`;
  await announceRun(ctx, run.id);
}

/** Why an automated reply may not go to this thread's counterpart now, or null (the reply then counts against the day's budget). */
export async function replyRefusal(ctx: Ctx, threadId: string, count: boolean): Promise<string | null> {
  const [t] = await ctx.sql<{ counterpart: string | null; status: string; isAutoReply: boolean | null; isBounce: boolean | null; filter: string | null }[]>`
    select t.counterpart, t.status, m.is_auto_reply, m.is_bounce, m.metadata ->> 'filter' as filter
    from app.threads t left join lateral (
      select is_auto_reply, is_bounce, metadata from app.messages
      where org_id = t.org_id and thread_id = t.id and direction = 'inbound' order by occurred_at desc, arrival desc limit 1) m on true
    where t.id = ${threadId} and t.org_id = ${ctx.orgId}`;
  if (!t) return 'the thread is gone';
  if (!t.counterpart) return 'the thread has no counterpart';
  if (t.status === 'spam' || t.status === 'bulk' || t.filter) return 'the counterpart sends bulk or list mail';
  if (t.isBounce) return 'the last inbound message is a bounce';
  if (t.isAutoReply) return 'the last inbound message is an auto-reply';
  const local = t.counterpart.split('@')[0]!.toLowerCase();
  if (/^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?)([-+._]|$)/.test(local)) return `${t.counterpart} is a no-reply address`;
  const counterpart = t.counterpart.toLowerCase();
  const day = now().toISOString().slice(0, 10);
  if (!count) {
    const [c] = await ctx.sql<{ count: number }[]>`
      select count from app.workflow_auto_replies where org_id = ${ctx.orgId} and counterpart = ${counterpart} and day = ${day}`;
    return (c?.count ?? 0) >= AUTO_REPLIES_PER_DAY ? `${AUTO_REPLIES_PER_DAY} automated replies went to ${t.counterpart} today` : null;
  }
  const [c] = await ctx.sql<{ count: number }[]>`
    insert into app.workflow_auto_replies (org_id, counterpart, day, count) values (${ctx.orgId}, ${counterpart}, ${day}, 1)
    on conflict (org_id, counterpart, day) do update set count = app.workflow_auto_replies.count + 1
    returning count`;
  return c!.count > AUTO_REPLIES_PER_DAY ? `${AUTO_REPLIES_PER_DAY} automated replies went to ${t.counterpart} today` : null;
}

/** The member an automatic assignment picks among the team's available members; advances round robin's cursor when `commit`. */
export async function pickAssignee(ctx: Ctx, step: { teamId: string; strategy: 'round_robin' | 'least_busy' }, commit: boolean): Promise<string | null> {
  const members = await workableMembers(ctx, { teamId: step.teamId, now: now() });
  if (members.length === 0) return null;
  const ids = members.map((m) => m.userId).sort();
  let pick: string;
  if (step.strategy === 'least_busy') {
    const loads = await ctx.sql<{ assigneeId: string; open: number }[]>`
      select assignee_id, count(*)::int as open from app.threads
      where org_id = ${ctx.orgId} and assignee_id = any (${ids}::uuid[]) and status in ('open', 'pending') group by assignee_id`;
    const load = new Map(loads.map((l) => [l.assigneeId, l.open]));
    pick = ids.reduce((best, id) => ((load.get(id) ?? 0) < (load.get(best) ?? 0) ? id : best), ids[0]!);
  } else {
    const [cursor] = await ctx.sql<{ lastUserId: string | null }[]>`
      select last_user_id from app.workflow_assign_cursors where team_id = ${step.teamId} and org_id = ${ctx.orgId} ${commit ? ctx.sql`for update` : ctx.sql``}`;
    const last = cursor?.lastUserId;
    pick = (last && ids.find((id) => id > last)) || ids[0]!;
    if (commit) {
      await ctx.sql`
        insert into app.workflow_assign_cursors (org_id, team_id, last_user_id) values (${ctx.orgId}, ${step.teamId}, ${pick})
        on conflict (team_id) do update set last_user_id = excluded.last_user_id, updated_at = now()`;
    }
  }
  return pick;
}

/** Who a notify step reaches on the thread. */
export async function notifyRecipients(ctx: Ctx, threadId: string, step: Extract<SimpleStep, { type: 'notify' }>): Promise<string[]> {
  const rows = await ctx.sql<{ userId: string }[]>`
    with t as (select assignee_id, team_id from app.threads where id = ${threadId} and org_id = ${ctx.orgId})
    select m.user_id from app.members m, t
    where m.org_id = ${ctx.orgId} and m.status = 'active' and (
      m.user_id = any (${step.userIds ?? []}::uuid[])
      or (${Boolean(step.assignee)} and m.user_id = t.assignee_id)
      or exists (select 1 from app.team_members tm
                 where tm.team_id = coalesce(${step.teamId ?? null}::uuid, case when ${Boolean(step.teamLeads)} then t.team_id end)
                   and tm.user_id = m.user_id and (not ${Boolean(step.teamLeads)} or tm.role = 'lead')))
    order by m.user_id`;
  return rows.map((r) => r.userId);
}

/** The webhook-id of a step's delivery: the same for every redelivery of the step. */
export const webhookIdFor = (runId: string, stepKey: string) => `msg_${createHash('sha256').update(`${runId}:${stepKey}`).digest('base64url').slice(0, 27)}`;

/** Runs one step (not a wait) on the run's thread as the system, with the run as the origin of its changes. */
async function runSimpleStep(
  ctx: Ctx,
  run: RunRow,
  key: string,
  step: SimpleStep,
): Promise<{ status: 'succeeded' | 'skipped'; input?: unknown; output: unknown }> {
  switch (step.type) {
    case 'assign_auto': {
      const assigneeId = await pickAssignee(ctx, step, true);
      if (!assigneeId) return { status: 'skipped', output: { reason: 'no member of the team can take work now' } };
      const t = await assignThread(ctx, run.threadId, { assigneeId, teamId: step.teamId });
      return { status: 'succeeded', input: { assigneeId }, output: { assigneeId: t.assigneeId, teamId: t.teamId } };
    }
    case 'notify': {
      const recipients = await notifyRecipients(ctx, run.threadId, step);
      const notified = await notify(ctx, recipients, {
        type: 'automation',
        title: step.title,
        body: step.body ?? null,
        threadId: run.threadId,
        entityType: 'thread',
        entityId: run.threadId,
      });
      return { status: 'succeeded', input: { recipients }, output: { notified } };
    }
    case 'webhook': {
      const { queueDelivery } = await import('../webhooks/service.js');
      const webhookId = webhookIdFor(run.id, key);
      const deliveryId = await queueDelivery(ctx, step.endpointId, webhookId, step.event ?? 'workflow.step', {
        workflowId: run.workflowId,
        runId: run.id,
        step: key,
        threadId: run.threadId,
        thread: await threadSummary(ctx, run.threadId),
      });
      return { status: 'succeeded', output: { deliveryId, webhookId } };
    }
    case 'ai_draft': {
      // Without a model (with one, handleStep hands the step to the workflow.ai-draft job).
      const [{ gatherThreadContext }, { draftOffline }] = await Promise.all([import('../ai/context.js'), import('../ai/offline-drafter.js')]);
      const context = await gatherThreadContext(ctx, run.threadId);
      const draft = draftOffline(context, aiDraftInput(step));
      return { status: 'succeeded', output: await saveWorkflowDraft(ctx, run, draft.text, { source: 'offline' }) };
    }
    case 'reply': {
      if (!step.draft) {
        const refusal = await replyRefusal(ctx, run.threadId, true);
        if (refusal) return { status: 'skipped', output: { reason: refusal } };
      }
      const out = await runMacroStep(ctx, run.threadId, step, 'workflow');
      // RFC 3834: the send job marks it Auto-Submitted: auto-replied; message.sent carries the run.
      await ctx.sql`
        update app.messages set metadata = metadata || ${ctx.sql.json({ autoSubmitted: 'auto-replied', automation: ctx.automation } as never)}
        where id = ${out.messageId as string} and org_id = ${ctx.orgId}`;
      return { status: 'succeeded', output: out };
    }
    default:
      return { status: 'succeeded', output: await runMacroStep(ctx, run.threadId, step, 'workflow') };
  }
}

/** What a workflow's AI draft asks for: the step's instructions, formal, in English. */
export const aiDraftInput = (step: { instructions?: string }) =>
  ({ instruction: step.instructions ?? 'Reply to the last message', tone: 'formal', language: 'en' }) as const;

/** Saves a workflow's AI draft on the run's thread (a draft for a person to send, never sent). */
export async function saveWorkflowDraft(ctx: Ctx, run: Pick<RunRow, 'id' | 'threadId'>, text: string, ai: Record<string, unknown>) {
  const message = await reply(ctx, run.threadId, replyBody.parse({ text, draft: true }));
  await ctx.sql`
    update app.messages set metadata = metadata || ${ctx.sql.json({ ai: { ...ai, workflowRunId: run.id } } as never)} where id = ${message.id}`;
  return { messageId: message.id, status: 'draft', source: ai.source };
}

async function threadSummary(ctx: Ctx, threadId: string) {
  const [t] = await ctx.sql`
    select id, subject, status, priority, channel, counterpart, customer_id, assignee_id, team_id, tags, intent, sentiment, urgency
    from app.threads where id = ${threadId} and org_id = ${ctx.orgId}`;
  return t ?? null;
}

/** When a wait's time runs out (null: it waits for its event alone). */
export async function waitExpiry(ctx: Ctx, step: WaitStep, from: Date): Promise<Date | null> {
  if (step.until) return new Date(step.until);
  if (!step.for) return null;
  if (step.for.minutes !== undefined) return new Date(from.getTime() + step.for.minutes * 60_000);
  const calendar = businessCalendarOf(await defaultCalendar(ctx));
  return new Date(calendar.addMinutes(from.getTime(), step.for.businessMinutes!));
}

async function runWait(
  ctx: Ctx,
  run: RunRow,
  key: string,
  step: WaitStep,
  resume: 'event' | 'timeout' | undefined,
  attempts: number,
  steps: Definition['steps'],
) {
  const generation = run.state.generation ?? 0;
  if (!resume) {
    const expiresAt = await waitExpiry(ctx, step, now());
    if (step.event) {
      await ctx.sql`
        insert into app.workflow_waits (org_id, run_id, thread_id, step_key, events, conditions, expires_at)
        values (${ctx.orgId}, ${run.id}, ${run.threadId}, ${key}, ${step.event.types}::text[],
          ${step.event.conditions ? ctx.sql.json(step.event.conditions as never) : null}, ${expiresAt})
        on conflict (run_id, step_key) do update set events = excluded.events, conditions = excluded.conditions, expires_at = excluded.expires_at`;
    }
    if (expiresAt) await queueStep(ctx, run.id, key, generation, { resume: 'timeout', runAt: expiresAt });
    const input = { expiresAt, events: step.event?.types ?? [] };
    await recordStep(ctx, run.id, key, 'wait', 'waiting', { input, attempts });
    await ctx.sql`update app.workflow_runs set status = 'waiting' where id = ${run.id}`;
    await announceRun(ctx, run.id);
    return;
  }
  if (resume === 'timeout' && step.event) {
    // The event may have ended the wait first: then this timeout does nothing.
    const [gone] = await ctx.sql`delete from app.workflow_waits where run_id = ${run.id} and step_key = ${key} returning id`;
    if (!gone) return;
  }
  const output = resume === 'event' ? { ended: 'event', event: run.state.wokenBy ?? null } : { ended: 'timeout' };
  await recordStep(ctx, run.id, key, 'wait', 'succeeded', { output, attempts });
  await advance(ctx, run, afterWait(steps, key, resume));
}

/**
 * The run, locked, while it is still at this step of this generation and in one of these statuses;
 * null when it was cancelled, finished, retried since (a new generation) or moved on (a redelivery).
 */
export async function runAtStep(
  ctx: Ctx,
  at: { runId: string; stepKey: string; generation: number },
  statuses: readonly string[] = ['running', 'waiting'],
): Promise<RunRow | null> {
  const [run] = await ctx.sql<RunRow[]>`
    select id, workflow_id, workflow_version, thread_id, status, current_step, depth, state
    from app.workflow_runs where id = ${at.runId} and org_id = ${ctx.orgId} for update`;
  if (!run || !statuses.includes(run.status) || run.currentStep !== at.stepKey || (run.state.generation ?? 0) !== at.generation) return null;
  return run;
}

export async function handleStep(ctx: Ctx, payload: { runId: string; stepKey: string; resume?: 'event' | 'timeout'; generation: number }, attempts: number) {
  const run = await runAtStep(ctx, payload);
  if (!run || (run.status === 'waiting' && !payload.resume)) return;
  const { steps } = await definitionOf(ctx, run.workflowId, run.workflowVersion);
  const step = stepAt(steps, payload.stepKey);
  if (!step) {
    await failRun(ctx, run, payload.stepKey, 'unknown', { code: 'internal', message: 'the version has no such step' }, attempts);
    return;
  }
  const automation: Automation = { workflowId: run.workflowId, runId: run.id, depth: run.depth };
  const actx: Ctx = { ...ctx, automation };
  if (step.type === 'wait') return runWait(actx, run, payload.stepKey, step, payload.resume, attempts, steps);
  if (step.type === 'ai_draft' && (await (await import('../ai/context.js')).resolveModel())) {
    // The model is called outside this transaction; the job saves the draft and moves the run on.
    await recordStep(ctx, run.id, payload.stepKey, step.type, 'running', { input: step, attempts });
    await enqueue(
      ctx,
      jobSpecs.workflowAiDraft,
      { runId: run.id, stepKey: payload.stepKey, generation: run.state.generation ?? 0 },
      { dedupeKey: `workflow.ai-draft:${run.id}:${payload.stepKey}:${run.state.generation ?? 0}` },
    );
    return;
  }
  const jobs = ctx.jobs.length;
  let result: Awaited<ReturnType<typeof runSimpleStep>>;
  try {
    result = await savepoint(actx, (tx) => runSimpleStep(tx, run, payload.stepKey, step));
  } catch (error) {
    const known = reportable(error);
    if (!known) throw error;
    // Its jobs rolled back with it.
    ctx.jobs.length = jobs;
    await failRun(ctx, run, payload.stepKey, step.type, { code: known.code, message: known.message, details: known.details }, attempts);
    return;
  }
  await recordStep(ctx, run.id, payload.stepKey, step.type, result.status, { input: result.input ?? step, output: result.output, attempts });
  await advance(ctx, run, nextStepKey(steps, payload.stepKey));
}

export const workflowStepJob = defineJob({
  ...jobSpecs.workflowStep,
  handle: ({ ctx, payload, job }) => handleStep(ctx, payload, job.attempts),
  // A step that kept crashing: its run fails with the last error, for a person to retry or cancel.
  async onDead({ ctx, payload, job, error }) {
    const run = await runAtStep(ctx, payload);
    if (!run) return;
    const { steps } = await definitionOf(ctx, run.workflowId, run.workflowVersion);
    await failRun(
      ctx,
      run,
      payload.stepKey,
      stepAt(steps, payload.stepKey)?.type ?? 'unknown',
      { code: 'step_crashed', message: error.slice(0, 1000) },
      job.attempts,
    );
  },
});

// ---------------------------------------------------------------------------------------------------
// Schedules

/** The fire after `after` of a cron in a time zone. */
export async function nextFire(cron: string, timeZone: string, after: Date): Promise<Date | null> {
  const { Cron } = await import('croner');
  return new Cron(cron, { timezone: timeZone, paused: true }).nextRun(after);
}

/**
 * The schedule cron: queues one `workflow.schedule` job per workflow and fire time that came (the
 * outbox key makes a second tick's queueing of the same fire nothing), and moves each to its next fire.
 */
export async function fireSchedules(at: Date = now()): Promise<{ fired: number }> {
  const { db } = await import('../db/client.js');
  const { asSystem } = await import('../context.js');
  const { publishJobs } = await import('../jobs/publish.js');
  const sql = await db();
  const due = await sql<{ id: string; orgId: string }[]>`
    select id, org_id from app.workflows where enabled and trigger_event = 'schedule' and next_fire_at <= ${at} order by next_fire_at limit 500`;
  let fired = 0;
  for (const w of due) {
    const jobs: import('../context.js').QueuedJob[] = [];
    fired += await asSystem(w.orgId, `cron:workflow-schedules:${w.id}`, jobs, async (ctx) => {
      const [row] = await ctx.sql<{ schedule: string; nextFireAt: Date; timezone: string }[]>`
        select w.schedule, w.next_fire_at, o.timezone from app.workflows w join app.organizations o on o.id = w.org_id
        where w.id = ${w.id} and w.enabled and w.next_fire_at <= ${at} for update of w skip locked`;
      if (!row) return 0;
      await enqueue(
        ctx,
        jobSpecs.workflowSchedule,
        { workflowId: w.id, fireAt: row.nextFireAt.toISOString() },
        {
          dedupeKey: `workflow.schedule:${w.id}:${row.nextFireAt.toISOString()}`,
        },
      );
      const next = await nextFire(row.schedule, row.timezone, at);
      await ctx.sql`update app.workflows set next_fire_at = ${next} where id = ${w.id}`;
      return 1;
    });
    await publishJobs(jobs);
  }
  return { fired };
}

/** Threads one fire runs on, at most. */
export const SCHEDULE_THREADS = 500;

export const workflowScheduleJob = defineJob({
  ...jobSpecs.workflowSchedule,
  async handle({ ctx, payload }) {
    const [wf] = await ctx.sql<Candidate[]>`
      select id, name, version, priority, stop_later from app.workflows where id = ${payload.workflowId} and org_id = ${ctx.orgId} and enabled`;
    if (!wf) return;
    const d = await definitionOf(ctx, wf.id, wf.version);
    const scope = d.trigger.threads ?? { statuses: ['open', 'pending'] };
    const threads = await ctx.sql<{ id: string }[]>`
      select id from app.threads
      where org_id = ${ctx.orgId} and status = any (${scope.statuses ?? ['open', 'pending']}::text[])
        ${scope.tags?.length ? ctx.sql`and tags @> ${scope.tags}::text[]` : ctx.sql``}
      order by last_activity_at desc nulls last, id limit ${SCHEDULE_THREADS}`;
    const calendar = needsCalendar(d.conditions);
    for (const t of threads) {
      const f = await loadFacts(ctx, t.id, { now: now(), calendar });
      if (!f || !evaluate(d.conditions, f)) continue;
      await startRun(ctx, {
        workflow: wf,
        threadId: t.id,
        trigger: 'schedule',
        dedupeKey: `schedule:${payload.fireAt}:${t.id}`,
        depth: 1,
        event: { type: 'schedule', fireAt: payload.fireAt },
      });
    }
  },
});
