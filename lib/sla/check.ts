// The sla-check cron (every minute): raises `sla.warning` when a clock reaches its policy's
// warningPercent and `sla.breached` at its due time, exactly once per target, kind and due time of a
// thread, however ticks overlap or retry.
//
// One statement fires every due event across organizations: it reads only threads whose
// sla_next_check_at has come (a partial index), records the events in app.sla_events (unique per
// thread, target, kind and due time: a second tick's insert of the same event does nothing), marks
// breached threads and moves each thread's next check to its next time ahead. Then, per organization
// with events not yet sent out, announceSlaEvents sends them (realtime, audit, the hook) and marks them
// announced in its own transaction: a tick that dies after recording leaves them to the next one.
import { asSystem, type Ctx, type QueuedJob } from '../context.js';
import { db, type Sql } from '../db/client.js';
import { publishJobs } from '../jobs/publish.js';
import { jobSpecs } from '../jobs/specs.js';
import { topics, type RealtimeEventName } from '../realtime.js';
import { now as clockNow } from '../time.js';

/** Threads one tick examines (the rest wait for the next minute, oldest first). */
export const CHECK_BATCH = 20_000;
/** Events one organization's announcement sends in a tick. */
const ANNOUNCE_BATCH = 5_000;

/** The realtime event of each kind: the one statement below sends it from SQL, so it is named here, typed. */
export const SLA_EVENT_NAMES = { warning: 'sla.warning', breached: 'sla.breached' } as const satisfies Record<SlaEvent['kind'], RealtimeEventName>;

export interface SlaEvent {
  id: string;
  threadId: string;
  target: 'firstResponse' | 'nextResponse' | 'resolution';
  kind: 'warning' | 'breached';
  dueAt: Date;
  policyId: string | null;
}

export interface CheckResult {
  checked: number;
  fired: number;
  announced: number;
  organizations: number;
}

/**
 * The statement that fires every due event as of `now` (for at most `limit` threads): records them,
 * marks breaches, moves each thread's next check; answers `{ checked, fired }`. Exported for the
 * bench's EXPLAIN (bench/sla.ts).
 */
export function fireDueEvents(sql: Sql, now: Date, limit = CHECK_BATCH) {
  return sql<{ checked: number; fired: number }[]>`
    with cand as (
      select t.id, t.org_id, t.first_response_due_at as f, t.next_response_due_at as n, t.resolution_due_at as r,
        t.first_response_warn_at as fw, t.next_response_warn_at as nw, t.resolution_warn_at as rw
      from app.threads t
      where t.status = 'open' and t.sla_next_check_at <= ${now} and t.sla_next_check_at is not null
      order by t.sla_next_check_at
      limit ${limit}
      for update skip locked
    ),
    due as (
      select c.org_id, c.id as thread_id, x.target, x.kind, x.due_at
      from cand c cross join lateral (values
        ('firstResponse', 'warning', c.f, c.fw), ('firstResponse', 'breached', c.f, c.f),
        ('nextResponse', 'warning', c.n, c.nw), ('nextResponse', 'breached', c.n, c.n),
        ('resolution', 'warning', c.r, c.rw), ('resolution', 'breached', c.r, c.r)) as x(target, kind, due_at, at)
      where x.at <= ${now} and x.due_at is not null
    ),
    fired as (
      insert into app.sla_events (org_id, thread_id, target, kind, due_at)
      select org_id, thread_id, target, kind, due_at from due
      on conflict (thread_id, target, kind, due_at) do nothing
      returning id
    ),
    -- By id through the primary key (an array, so the planner cannot pick a hash join over every
    -- thread); the thread's own columns are the candidate's (the row is locked).
    moved as (
      update app.threads t set
        sla_next_check_at = (
          select min(v) from (values (t.first_response_due_at), (t.first_response_warn_at), (t.next_response_due_at),
            (t.next_response_warn_at), (t.resolution_due_at), (t.resolution_warn_at)) as s(v)
          where v > ${now}),
        sla_breached_at = coalesce(t.sla_breached_at, least(
          case when t.first_response_due_at <= ${now} then t.first_response_due_at end,
          case when t.next_response_due_at <= ${now} then t.next_response_due_at end,
          case when t.resolution_due_at <= ${now} then t.resolution_due_at end))
      where t.id = any(array(select id from cand))
      returning t.id
    )
    select (select count(*) from moved)::int as checked, (select count(*) from fired)::int as fired`;
}

/** One tick of the cron, as of `now`. */
export async function checkServiceLevels(options: { now?: Date; limit?: number; requestId?: string } = {}): Promise<CheckResult> {
  const sql = await db();
  const now = options.now ?? clockNow();
  const [tick] = await fireDueEvents(sql, now, options.limit);
  const orgs = await sql<{ orgId: string }[]>`
    select distinct org_id from app.sla_events where announced_at is null limit 1000`;
  const jobs: QueuedJob[] = [];
  let announced = 0;
  const requestId = options.requestId ?? `cron:sla-check:${Math.floor(now.getTime() / 60_000)}`;
  for (const { orgId } of orgs) {
    announced += (await asSystem(orgId, requestId, jobs, (ctx) => announceSlaEvents(ctx))).length;
  }
  if (jobs.length > 0) await publishJobs(jobs);
  return { checked: tick!.checked, fired: tick!.fired, announced, organizations: orgs.length };
}

/**
 * The one way an SLA event goes out: for the organization's recorded, unannounced events, `sla.warning`
 * or `sla.breached` on the organization's and the thread's topics, an audit row on the thread, and an
 * `sla.event` job (the hook notifications and automations subscribe to: lib/sla/events.ts), in one
 * statement; each event once (the rows are claimed with their announcement).
 */
export async function announceSlaEvents(ctx: Ctx): Promise<SlaEvent[]> {
  const sql = ctx.sql;
  const now = new Date();
  const rows = await sql<(SlaEvent & { jobId: string })[]>`
    with e as (
      update app.sla_events s set announced_at = ${now}
      where s.id in (select id from app.sla_events where org_id = ${ctx.orgId} and announced_at is null
                     order by fired_at limit ${ANNOUNCE_BATCH} for update skip locked)
      returning s.id, s.thread_id, s.target, s.kind, s.due_at
    ),
    v as (
      select e.*, t.sla_policy_id as policy_id, ${sql.json(SLA_EVENT_NAMES)}::jsonb ->> e.kind as event,
        jsonb_build_object('threadId', e.thread_id, 'target', e.target, 'kind', e.kind, 'dueAt', e.due_at, 'policyId', t.sla_policy_id) as data
      from e join app.threads t on t.id = e.thread_id
    )
    select v.id, v.thread_id, v.target, v.kind, v.due_at, v.policy_id,
      app.record_change(array[${topics.org(ctx.orgId)}, ${topics.org(ctx.orgId)} || ':thread:' || v.thread_id::text], v.event,
        jsonb_build_object('event', v.event, 'orgId', ${ctx.orgId}::uuid, 'actorId', null, 'at', ${now.toISOString()}::text, 'data', v.data),
        v.event, 'thread', v.thread_id, v.data, ${ctx.requestId}) is null as recorded,
      app.enqueue_job(${jobSpecs.slaEvent.name}, jsonb_build_object('eventId', v.id), ${now}, null, 8, 'sla.event:' || v.id::text) as job_id
    from v`;
  for (const r of rows) ctx.jobs.push({ id: r.jobId, name: jobSpecs.slaEvent.name, runAt: now, maxAttempts: 8 });
  return rows.map(({ jobId: _j, ...e }) => e);
}
