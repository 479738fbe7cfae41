// Where the domain hands its events to the workflow engine: in the transaction of the change, one
// `workflow.event` job per occurrence (deduplicated on the occurrence's id), queued only when the
// organization has an enabled workflow for the trigger or a run waits for it on the thread (one indexed
// lookup otherwise). Kept light: the threads, messages, notes, SLA and actions modules import it.
import type { Automation, Ctx } from '../context.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';
import { now } from '../time.js';

export const TRIGGERS = [
  'message.received',
  'message.sent',
  'thread.created',
  'thread.updated',
  'note.created',
  'sla.warning',
  'sla.breached',
  'action.overdue',
  'shipment.milestone',
  'shipment.eta_changed',
  'schedule',
] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** Thread fields `thread.updated` reports as changed (the `changed` condition names them). */
export const TRACKED_FIELDS = [
  'status',
  'priority',
  'assigneeId',
  'teamId',
  'tags',
  'customerId',
  'contactId',
  'intent',
  'sentiment',
  'urgency',
  'subject',
  'slaBreachedAt',
] as const;

export interface WorkflowEvent {
  /** The occurrence: `message.received:<message id>`, a random id for each thread update ... */
  id: string;
  type: Exclude<Trigger, 'schedule'>;
  threadId: string;
  messageId?: string;
  noteId?: string;
  actionId?: string;
  slaEventId?: string;
  /** shipment.milestone: the shipment and its new milestone; shipment.eta_changed: the shipment. */
  shipmentId?: string;
  milestoneId?: string;
  /** thread.updated: which tracked fields changed. */
  changes?: string[];
  /** message.received: an auto-reply, bounce or bulk message (workflows opt in to those). */
  automated?: boolean;
  at: string;
  origin?: Automation;
}

/** Queues the event for the engine when anything listens; returns the job id, or null. */
export async function emitWorkflowEvent(ctx: Ctx, event: Omit<WorkflowEvent, 'at' | 'origin'>, origin = ctx.automation): Promise<string | null> {
  const [hit] = await ctx.sql<{ listened: boolean }[]>`
    select exists (select 1 from app.workflows where org_id = ${ctx.orgId} and enabled and trigger_event = ${event.type})
      or exists (select 1 from app.workflow_waits where org_id = ${ctx.orgId} and thread_id = ${event.threadId} and ${event.type} = any (events)) as listened`;
  if (!hit?.listened) return null;
  const full: WorkflowEvent = { ...event, at: now().toISOString(), ...(origin ? { origin } : {}) };
  return enqueue(ctx, jobSpecs.workflowEvent, full as never, { dedupeKey: `workflow.event:${event.id}`.slice(0, 300) });
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * A thread event (`thread.created`, `thread.updated`, assignments): what changed since the last one
 * the engine saw (its snapshot, kept while anything listens), then `thread.created` or
 * `thread.updated` for the engine. Called with the thread's event view.
 */
export async function threadChanged(ctx: Ctx, event: string, view: Record<string, unknown> & { id: string }): Promise<void> {
  const type = event === 'thread.created' ? 'thread.created' : 'thread.updated';
  const [hit] = await ctx.sql<{ listened: boolean }[]>`
    select exists (select 1 from app.workflows where org_id = ${ctx.orgId} and enabled and trigger_event in ('thread.created', 'thread.updated'))
      or exists (select 1 from app.workflow_waits where org_id = ${ctx.orgId} and thread_id = ${view.id} and 'thread.updated' = any (events)) as listened`;
  if (!hit?.listened) return;
  const state = Object.fromEntries(TRACKED_FIELDS.map((f) => [f, view[f] ?? null]));
  const [before] = await ctx.sql<{ state: Record<string, unknown> }[]>`
    select state from app.workflow_thread_state where thread_id = ${view.id} and org_id = ${ctx.orgId} for update`;
  const changes = before ? TRACKED_FIELDS.filter((f) => !same(before.state[f], state[f])) : [...TRACKED_FIELDS];
  await ctx.sql`
    insert into app.workflow_thread_state (thread_id, org_id, state) values (${view.id}, ${ctx.orgId}, ${ctx.sql.json(state as never)})
    on conflict (thread_id) do update set state = excluded.state, updated_at = now()`;
  if (type === 'thread.updated' && before && changes.length === 0) return;
  await emitWorkflowEvent(ctx, { id: `${type}:${view.id}:${crypto.randomUUID()}`, type, threadId: view.id, ...(type === 'thread.updated' ? { changes } : {}) });
}

interface MessageFacts {
  threadId: string;
  direction: string;
  isAutoReply: boolean;
  isBounce: boolean;
  filter: string | null;
  automation: Automation | null;
  analysisQueued: boolean;
}

/**
 * `message.received` for an inbound message, once its analysis (intent, sentiment, urgency) is settled:
 * the ingest pipelines announce it, and when an analysis job is queued for it, that job's end (or
 * death) emits it instead (`afterAnalysis`). Auto-replies, bounces and bulk mail are flagged
 * `automated` (workflows opt in to them). `message.sent` when a reply went out, with the run that
 * wrote it (its metadata) as the origin.
 */
export async function messageEvent(ctx: Ctx, messageId: string, what: 'created' | 'sent' | 'analysed'): Promise<void> {
  const [m] = await ctx.sql<MessageFacts[]>`
    select m.thread_id, m.direction, m.is_auto_reply, m.is_bounce, m.metadata ->> 'filter' as filter, m.metadata -> 'automation' as automation,
      ${
        what === 'created'
          ? ctx.sql`exists (select 1 from app.outbox o where o.org_id = m.org_id and o.name = ${jobSpecs.messageAnalyze.name}
                      and o.dedupe_key = ${`message.analyze:${messageId}`} and o.status in ('pending', 'running'))`
          : ctx.sql`false`
      } as analysis_queued
    from app.messages m where m.id = ${messageId} and m.org_id = ${ctx.orgId}`;
  if (!m) return;
  if (what === 'sent') {
    if (m.direction !== 'outbound') return;
    await emitWorkflowEvent(ctx, { id: `message.sent:${messageId}`, type: 'message.sent', threadId: m.threadId, messageId }, m.automation ?? ctx.automation);
    return;
  }
  if (m.direction !== 'inbound' || m.analysisQueued) return;
  await emitWorkflowEvent(ctx, {
    id: `message.received:${messageId}`,
    type: 'message.received',
    threadId: m.threadId,
    messageId,
    automated: m.isAutoReply || m.isBounce || m.filter !== null,
  });
}
