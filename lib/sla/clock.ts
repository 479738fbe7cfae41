// The clocks on threads: the one rule for when a thread's first response, next response and resolution
// fall due, under which policy, with paused time added back. Every path that changes what the clocks
// depend on (a new message through rollUp on any channel, a status, priority, customer or channel
// change, messages moved between threads, a snooze ending, a policy or calendar change) calls
// applyServiceLevels; no channel computes a clock itself.
//
// - The customer's messages start clocks: inbound messages that are not auto-replies or bounces, on a
//   thread that is not kept out of the inbox (spam, bulk). Machine-made mail never starts, stops or
//   satisfies a clock.
// - First response runs from the first customer message until the first reply after it; next response
//   from the first customer message nobody has answered yet (after a reply) until the next reply;
//   resolution from the first customer message until the thread is resolved or closed.
// - A reply is an outbound message that left (or is leaving): not a draft, not failed or bounced; a call
//   counts once it was answered. A member's reply always counts (a message with an author, or mail a
//   person sent from the organization's mailbox and we ingested); an automation's (no author) only when
//   the policy's automationRepliesCount says so.
// - The clocks pause while the thread is pending, snoozed or resolved, and resume with the paused time
//   added back: each clock adds the business (or calendar) time of the pauses after it started.
import type { Ctx } from '../context.js';
import { now as clockNow } from '../time.js';
import { enqueue } from '../jobs/enqueue.js';
import type { Transact } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { CALENDAR_TIME, type BusinessCalendar } from './business-time.js';
import { businessCalendarOf, listCalendars } from './calendars.js';
import { choosePolicy, TARGETS, type Conditions, type Policy, type Priority, type Targets } from './policies.js';

/** Statuses that stop the clocks for a while. */
export const PAUSED_STATUSES = ['pending', 'snoozed', 'resolved'] as const;
/** Statuses whose clocks run or are paused; any other (closed, spam, bulk) has no clocks. */
const CLOCKED_STATUSES = new Set<string>(['open', ...PAUSED_STATUSES]);

/** What a message means to the clocks: a customer's message, a member's reply, an automation's reply. */
export const Mark = { Customer: 0, Member: 1, Automation: 2 } as const;
export type Mark = (typeof Mark)[keyof typeof Mark];
/** [occurred at (epoch ms), mark, message id, author id], in time order (the ids only where responses are recorded). */
export type ClockEvent = readonly [at: number, mark: Mark, id?: string, author?: string | null];
/** [start, end) in epoch ms. */
export type Pause = readonly [number, number];

export interface PolicyRules {
  id: string;
  targets: Targets;
  calendar: BusinessCalendar;
  warningPercent: number;
  automationRepliesCount: boolean;
}

export interface Due {
  firstResponse: number | null;
  nextResponse: number | null;
  resolution: number | null;
}

/** Due times and, for each, when its warning is due (warningPercent of the target, pauses added back). */
export interface Deadlines {
  due: Due;
  warn: Due;
}

export interface ClockStart {
  firstResponse: number | null;
  nextResponse: number | null;
  resolution: number | null;
}

const NONE: Due = { firstResponse: null, nextResponse: null, resolution: null };

/**
 * When each target started running (the customer message it runs from), or null when it does not run:
 * the pure part of the rule, on a thread's messages in time order.
 */
export function clockStarts(events: readonly ClockEvent[], automationRepliesCount: boolean): ClockStart {
  const counts = (m: Mark) => m === Mark.Member || (m === Mark.Automation && automationRepliesCount);
  let first: number | null = null;
  let answered = false;
  let waiting: number | null = null;
  for (const [at, mark] of events) {
    if (mark === Mark.Customer) {
      if (first === null) first = at;
      else if (answered && waiting === null) waiting = at;
    } else if (first !== null && counts(mark)) {
      answered = true;
      waiting = null;
    }
  }
  if (first === null) return { firstResponse: null, nextResponse: null, resolution: null };
  return { firstResponse: answered ? null : first, nextResponse: answered ? waiting : null, resolution: first };
}

/** A reply that answered a customer: the customer message it answered (`since`), and whether it was the thread's first response. */
export interface ResponseFact {
  id: string;
  author: string | null;
  automated: boolean;
  first: boolean;
  since: number;
  at: number;
}

/**
 * Each reply that counts (a member's, an automation's only when the policy counts them) and answered a
 * customer message nobody had answered yet: the same walk as clockStarts, one row per answering reply.
 */
export function responses(events: readonly ClockEvent[], automationRepliesCount: boolean): ResponseFact[] {
  const counts = (m: Mark) => m === Mark.Member || (m === Mark.Automation && automationRepliesCount);
  const out: ResponseFact[] = [];
  let waiting: number | null = null;
  for (const [at, mark, id, author] of events) {
    if (mark === Mark.Customer) {
      if (waiting === null) waiting = at;
    } else if (waiting !== null && counts(mark)) {
      if (id) out.push({ id, author: author ?? null, automated: mark === Mark.Automation, first: out.length === 0, since: waiting, at });
      waiting = null;
    }
  }
  return out;
}

/** The paused time within [from, to) on a clock (business or calendar). */
function pausedWithin(clock: Pick<BusinessCalendar, 'msBetween'>, pauses: readonly Pause[], from: number, to: number): number {
  let ms = 0;
  for (const [a, b] of pauses) if (b > from && a < to) ms += clock.msBetween(Math.max(a, from), Math.min(b, to));
  return ms;
}

export interface Outcome {
  target: (typeof TARGETS)[number];
  business: boolean;
  targetMinutes: number;
  elapsedMs: number;
  met: boolean;
  startedAt: number;
}

/**
 * How each target went when the thread was resolved or closed at `end`: the time each took on its own
 * clock with the pauses left out, and whether that was within the target. First response runs to the
 * first reply (or to the end, unanswered); next response keeps its longest round; resolution to the end.
 */
export function outcomes(
  events: readonly ClockEvent[],
  policy: Pick<PolicyRules, 'targets' | 'calendar' | 'automationRepliesCount'>,
  priority: Priority,
  pauses: readonly Pause[],
  end: number,
): Outcome[] {
  const row = policy.targets[priority];
  if (!row) return [];
  const counts = (m: Mark) => m === Mark.Member || (m === Mark.Automation && policy.automationRepliesCount);
  let first: number | null = null;
  let firstReply: number | null = null;
  let waiting: number | null = null;
  const rounds: [number, number][] = [];
  for (const [at, mark] of events) {
    if (at > end) break;
    if (mark === Mark.Customer) {
      if (first === null) first = at;
      else if (firstReply !== null && waiting === null) waiting = at;
    } else if (first !== null && counts(mark)) {
      if (firstReply === null) firstReply = at;
      if (waiting !== null) rounds.push([waiting, at]);
      waiting = null;
    }
  }
  if (first === null) return [];
  if (waiting !== null) rounds.push([waiting, end]);
  const spans: Partial<Record<Outcome['target'], [number, number][]>> = {
    firstResponse: [[first, firstReply ?? end]],
    nextResponse: rounds.length ? rounds : undefined,
    resolution: [[first, end]],
  };
  const out: Outcome[] = [];
  for (const target of TARGETS) {
    const t = row[target];
    const list = spans[target];
    if (!t || !list) continue;
    const clock = t.business ? policy.calendar : CALENDAR_TIME;
    let longest = 0;
    for (const [a, b] of list) longest = Math.max(longest, clock.msBetween(a, b) - pausedWithin(clock, pauses, a, b));
    out.push({ target, business: t.business, targetMinutes: t.minutes, elapsedMs: longest, met: longest <= t.minutes * 60_000, startedAt: list[0]![0] });
  }
  return out;
}

/** The paused time after `from` on a clock (business or calendar). */
function pausedAfter(clock: Pick<BusinessCalendar, 'msBetween'>, pauses: readonly Pause[], from: number): number {
  let ms = 0;
  for (const [a, b] of pauses) if (b > from) ms += clock.msBetween(Math.max(a, from), b);
  return ms;
}

/** The due and warning times of a thread under a policy at priority `priority`, with its pauses (the current one up to now). */
export function deadlines(
  starts: ClockStart,
  policy: Pick<PolicyRules, 'targets' | 'calendar' | 'warningPercent'>,
  priority: Priority,
  pauses: readonly Pause[],
): Deadlines {
  const due: Due = { ...NONE };
  const warn: Due = { ...NONE };
  const row = policy.targets[priority];
  if (!row) return { due, warn };
  for (const kind of TARGETS) {
    const start = starts[kind];
    const target = row[kind];
    if (start === null || !target) continue;
    const clock = target.business ? policy.calendar : CALENDAR_TIME;
    const paused = pausedAfter(clock, pauses, start) / 60_000;
    due[kind] = clock.addMinutes(start, target.minutes + paused);
    warn[kind] = clock.addMinutes(start, (target.minutes * policy.warningPercent) / 100 + paused);
  }
  return { due, warn };
}

interface OrgRules {
  version: string;
  /** The organization's default business calendar (null without one): response times of threads no policy covers. */
  defaultCalendar: BusinessCalendar | null;
  policies: (PolicyRules & { hasCalendar: boolean; conditions: Conditions; enabled: boolean; isDefault: boolean; position: number; name: string })[];
}

/** Each organization's policies with their calendars, kept until a policy or calendar changes. */
const cache = new Map<string, OrgRules>();
const CACHE_ORGS = 1000;

/** The organization's policies with their calendars in arithmetic form (one short query when unchanged). */
export async function orgRules(ctx: Ctx): Promise<OrgRules> {
  const [v] = await ctx.sql<{ version: string }[]>`
    select concat_ws('|',
      (select concat(max(updated_at)::text, ':', count(*)) from app.sla_policies where org_id = ${ctx.orgId}),
      (select concat(max(updated_at)::text, ':', count(*)) from app.business_calendars where org_id = ${ctx.orgId})) as version`;
  const cached = cache.get(ctx.orgId);
  if (cached && cached.version === v!.version) return cached;
  const rows = await ctx.sql<
    Omit<Policy, 'description' | 'createdAt' | 'updatedAt'>[]
  >`select id, name, calendar_id, targets, conditions, position, enabled, is_default, warning_percent, automation_replies_count
    from app.sla_policies where org_id = ${ctx.orgId}`;
  const calendars = (await listCalendars(ctx)).data;
  const byId = new Map(calendars.map((c) => [c.id, businessCalendarOf(c)]));
  const fallback = calendars.find((c) => c.isDefault);
  const policies = rows.map((p) => ({
    ...p,
    hasCalendar: Boolean((p.calendarId && byId.get(p.calendarId)) || fallback),
    calendar:
      (p.calendarId && byId.get(p.calendarId)) || (fallback ? byId.get(fallback.id)! : businessCalendarOf({ timezone: 'UTC', hours: [], holidays: [] })),
  }));
  const rules = { version: v!.version, defaultCalendar: fallback ? byId.get(fallback.id)! : null, policies };
  if (cache.size >= CACHE_ORGS) cache.clear();
  cache.set(ctx.orgId, rules);
  return rules;
}

interface ThreadClockRow {
  id: string;
  status: string;
  priority: Priority;
  channel: string;
  customerId: string | null;
  customerTier: string | null;
  pausedSince: Date | null;
  pauses: [number, number][];
  previousPolicyId: string | null;
  channelId: string | null;
  teamId: string | null;
  events: [number, Mark, string, string | null][] | null;
}

/** The threads' clock inputs: status, policy conditions, pauses and the events that start and stop clocks. */
function threadClockRows(ctx: Ctx, threadIds: readonly string[], lock: boolean) {
  return ctx.sql<ThreadClockRow[]>`
    select t.id, t.status, t.priority, t.channel, t.customer_id, c.tier as customer_tier, t.channel_id, t.team_id,
      t.sla_paused_since as paused_since, t.sla_pauses as pauses, t.sla_policy_id as previous_policy_id,
      (select json_agg(json_build_array(floor(extract(epoch from m.occurred_at) * 1000)::float8,
                case when m.direction = 'inbound' then 0
                     when m.author_id is not null or m.metadata ? 'folder' then 1 else 2 end, m.id, m.author_id)
              order by m.occurred_at, m.arrival)
         from app.messages m
         where m.org_id = t.org_id and m.thread_id = t.id and not m.is_auto_reply and not m.is_bounce
           and (m.direction = 'inbound'
                or (m.kind = 'message' and m.status not in ('draft', 'failed', 'bounced'))
                or (m.kind = 'call' and m.status in ('in_progress', 'completed')))) as events
    from app.threads t left join app.customers c on c.id = t.customer_id
    where t.org_id = ${ctx.orgId} and t.id = any(${threadIds as string[]}::uuid[])
    -- Locked when recomputing (in id order, so two recomputes never deadlock) until the write: a
    -- concurrent change of the thread waits instead of being overwritten with what was read before it.
    order by t.id
    ${lock ? ctx.sql`for update of t` : ctx.sql``}`;
}

/**
 * Records the replies that answered the customer on these threads, for analytics: once each (a row
 * already there stays), none on spam and bulk threads.
 */
async function recordResponses(ctx: Ctx, rules: OrgRules, rows: readonly ThreadClockRow[]): Promise<number> {
  const sql = ctx.sql;
  const answered: (ResponseFact & { thread: ThreadClockRow; policyId: string | null; businessMs: number | null })[] = [];
  for (const t of rows) {
    if (t.status !== 'closed' && !CLOCKED_STATUSES.has(t.status)) continue;
    const policy = choosePolicy(rules.policies, { customerId: t.customerId, customerTier: t.customerTier, channel: t.channel });
    for (const r of responses(t.events ?? [], policy?.automationRepliesCount ?? false))
      answered.push({
        ...r,
        thread: t,
        policyId: policy?.id ?? null,
        businessMs: (policy ? (policy.hasCalendar ? policy.calendar : null) : rules.defaultCalendar)?.msBetween(r.since, r.at) ?? null,
      });
  }
  if (!answered.length) return 0;
  const r = <T>(f: (a: (typeof answered)[number]) => T) => answered.map(f);
  const added = await sql`
      insert into app.message_responses (message_id, org_id, thread_id, responder_id, automated, first, since, at, wall_ms, business_ms,
                                         policy_id, channel, channel_id, team_id, customer_id)
      select x.message_id, ${ctx.orgId}, x.thread_id, x.responder_id, x.automated, x.first, x.since, x.at,
        greatest(0, floor(extract(epoch from x.at - x.since) * 1000))::bigint, x.business_ms, x.policy_id, x.channel, x.channel_id, x.team_id, x.customer_id
      from unnest(${r((a) => a.id) as string[]}::uuid[], ${r((a) => a.thread.id) as string[]}::uuid[], ${r((a) => a.author) as never}::uuid[],
                  ${r((a) => a.automated) as never}::boolean[], ${r((a) => a.first) as never}::boolean[],
                  ${r((a) => new Date(a.since)) as never}::timestamptz[], ${r((a) => new Date(a.at)) as never}::timestamptz[],
                  ${r((a) => (a.businessMs === null ? null : Math.round(a.businessMs))) as never}::bigint[], ${r((a) => a.policyId) as never}::uuid[],
                  ${r((a) => a.thread.channel) as string[]}::text[], ${r((a) => a.thread.channelId) as never}::uuid[],
                  ${r((a) => a.thread.teamId) as never}::uuid[], ${r((a) => a.thread.customerId) as never}::uuid[])
        as x(message_id, thread_id, responder_id, automated, first, since, at, business_ms, policy_id, channel, channel_id, team_id, customer_id)
      on conflict (message_id) do nothing
      returning 1`;
  return added.length;
}

/**
 * Records the responses of threads that have none yet for their replies (history from before the
 * response table): the same rule as the writing path, without touching the clocks. Returns rows added.
 */
export async function backfillResponses(ctx: Ctx, threadIds: readonly string[]): Promise<number> {
  if (threadIds.length === 0) return 0;
  return recordResponses(ctx, await orgRules(ctx), await threadClockRows(ctx, threadIds, false));
}

/**
 * Recomputes the clocks of these threads (of the caller's organization) as of `now`: their policy,
 * due times and pause bookkeeping, in three statements whatever their number. Returns how many changed.
 */
export async function applyServiceLevels(ctx: Ctx, threadIds: readonly string[], now = clockNow().getTime()): Promise<number> {
  if (threadIds.length === 0) return 0;
  const sql = ctx.sql;
  const rules = await orgRules(ctx);
  const rows = await threadClockRows(ctx, threadIds, true);
  const updates: {
    id: string;
    policy: string | null;
    first: Date | null;
    next: Date | null;
    resolution: Date | null;
    firstWarn: Date | null;
    nextWarn: Date | null;
    resolutionWarn: Date | null;
    check: Date | null;
    since: Date | null;
    pauses: string;
  }[] = [];
  const finished: (Outcome & { threadId: string; policyId: string; priority: string })[] = [];
  for (const t of rows) {
    // Resolved or closed just now (its clocks ran under a policy until this call): how each target went.
    if ((t.status === 'resolved' || t.status === 'closed') && t.previousPolicyId) {
      const policy = choosePolicy(rules.policies, { customerId: t.customerId, customerTier: t.customerTier, channel: t.channel });
      const done = t.pausedSince ? [...t.pauses, [t.pausedSince.getTime(), now] as Pause] : t.pauses;
      if (policy)
        for (const o of outcomes(t.events ?? [], policy, t.priority, done, now))
          finished.push({ ...o, threadId: t.id, policyId: policy.id, priority: t.priority });
    }
    let pauses = t.pauses;
    let since = t.pausedSince;
    const paused = (PAUSED_STATUSES as readonly string[]).includes(t.status);
    if (paused && !since) since = new Date(now);
    if (!paused && since) {
      if (now > since.getTime()) pauses = [...pauses, [since.getTime(), now]];
      since = null;
    }
    let d: Deadlines = { due: NONE, warn: NONE };
    let policyId: string | null = null;
    if (CLOCKED_STATUSES.has(t.status) && t.status !== 'resolved') {
      const policy = choosePolicy(rules.policies, { customerId: t.customerId, customerTier: t.customerTier, channel: t.channel });
      if (policy) {
        policyId = policy.id;
        const all = since ? [...pauses, [since.getTime(), Math.max(now, since.getTime())] as Pause] : pauses;
        d = deadlines(clockStarts(t.events ?? [], policy.automationRepliesCount), policy, t.priority, all);
      }
    }
    const at = (ms: number | null) => (ms === null ? null : new Date(ms));
    const times = [...Object.values(d.due), ...Object.values(d.warn)].filter((v): v is number => v !== null);
    updates.push({
      id: t.id,
      policy: policyId,
      first: at(d.due.firstResponse),
      next: at(d.due.nextResponse),
      resolution: at(d.due.resolution),
      firstWarn: at(d.warn.firstResponse),
      nextWarn: at(d.warn.nextResponse),
      resolutionWarn: at(d.warn.resolution),
      // The sla-check cron looks at the thread from its earliest time; events already fired are not raised again.
      check: times.length ? new Date(Math.min(...times)) : null,
      since,
      pauses: JSON.stringify(pauses),
    });
  }
  if (finished.length) {
    const f = <K extends keyof (typeof finished)[number]>(k: K) => finished.map((o) => o[k]);
    await sql`
      insert into app.sla_outcomes (org_id, thread_id, policy_id, target, priority, business, target_minutes, elapsed_ms, met, started_at, at)
      select ${ctx.orgId}, x.thread_id, x.policy_id, x.target, x.priority, x.business, x.target_minutes, x.elapsed_ms, x.met, x.started_at, ${new Date(now)}
      from unnest(${f('threadId') as string[]}::uuid[], ${f('policyId') as string[]}::uuid[], ${f('target') as string[]}::text[],
                  ${f('priority') as string[]}::text[], ${f('business') as never}::boolean[], ${f('targetMinutes') as never}::int[],
                  ${f('elapsedMs').map(Math.round) as never}::bigint[], ${f('met') as never}::boolean[],
                  ${f('startedAt').map((ms) => new Date(ms)) as never}::timestamptz[])
        as x(thread_id, policy_id, target, priority, business, target_minutes, elapsed_ms, met, started_at)`;
  }
  await recordResponses(ctx, rules, rows);
  if (updates.length === 0) return 0;
  const col = <K extends keyof (typeof updates)[number]>(k: K) => updates.map((u) => u[k]);
  // A thread stays marked breached only while one of its clocks is past due (a reply or a longer target clears it).
  const changed = await sql`
    update app.threads t set sla_policy_id = u.policy, first_response_due_at = u.first, next_response_due_at = u.next,
      resolution_due_at = u.resolution, first_response_warn_at = u.first_warn, next_response_warn_at = u.next_warn,
      resolution_warn_at = u.resolution_warn, sla_next_check_at = u.check_at, sla_paused_since = u.since, sla_pauses = u.pauses::jsonb,
      sla_breached_at = case when least(u.first, u.next, u.resolution) <= ${new Date(now)} then t.sla_breached_at end
    from (select * from unnest(${col('id') as string[]}::uuid[], ${col('policy') as string[]}::uuid[], ${col('first') as never}::timestamptz[],
                               ${col('next') as never}::timestamptz[], ${col('resolution') as never}::timestamptz[],
                               ${col('firstWarn') as never}::timestamptz[], ${col('nextWarn') as never}::timestamptz[],
                               ${col('resolutionWarn') as never}::timestamptz[], ${col('check') as never}::timestamptz[],
                               ${col('since') as never}::timestamptz[], ${col('pauses') as string[]}::text[])
          as x(id, policy, first, next, resolution, first_warn, next_warn, resolution_warn, check_at, since, pauses)) u
    where t.id = u.id and t.org_id = ${ctx.orgId}
      and (t.sla_policy_id is distinct from u.policy or t.first_response_due_at is distinct from u.first
        or t.next_response_due_at is distinct from u.next or t.resolution_due_at is distinct from u.resolution
        or t.first_response_warn_at is distinct from u.first_warn or t.next_response_warn_at is distinct from u.next_warn
        or t.resolution_warn_at is distinct from u.resolution_warn or t.sla_next_check_at is distinct from u.check_at
        or t.sla_paused_since is distinct from u.since or t.sla_pauses is distinct from u.pauses::jsonb
        or (t.sla_breached_at is not null and not coalesce(least(u.first, u.next, u.resolution) <= ${new Date(now)}, false)))
    returning t.id`;
  return changed.length;
}

/** One thread's clocks (see applyServiceLevels). */
export function applyServiceLevel(ctx: Ctx, threadId: string, now = clockNow().getTime()): Promise<number> {
  return applyServiceLevels(ctx, [threadId], now);
}

/** Threads recomputed per statement batch after a policy or calendar change. */
export const RECOMPUTE_BATCH = 500;

/**
 * How long one run of the recompute job works before it hands the rest to a new job: well inside the
 * job function's maxDuration (300 s in vercel.json), so a large organization never times out mid-way.
 */
export const RECOMPUTE_RUN_MS = 60_000;

/**
 * After a policy or calendar change: every thread of the organization with clocks (open, pending,
 * snoozed) is recomputed by a job, in batches, not in the request (an organization may have many
 * thousands). The job reads the policies as they are when it runs, so a burst of edits needs one run.
 */
export function scheduleRecompute(ctx: Ctx): Promise<string> {
  return enqueue(ctx, jobSpecs.slaRecompute, { after: null });
}

/** One batch of the recompute: the next threads by id after `after`; the last id done, or null at the end. */
export async function recomputeBatch(ctx: Ctx, after: string | null, now = clockNow().getTime(), limit = RECOMPUTE_BATCH): Promise<string | null> {
  const ids = await ctx.sql<{ id: string }[]>`
    select id from app.threads
    where org_id = ${ctx.orgId} and status in ('open', 'pending', 'snoozed') ${after ? ctx.sql`and id > ${after}` : ctx.sql``}
    order by id limit ${limit}`;
  await applyServiceLevels(
    ctx,
    ids.map((r) => r.id),
    now,
  );
  return ids.length === limit ? ids.at(-1)!.id : null;
}

/**
 * One run of the recompute job: batches, each in its own transaction, from `after` until the end or
 * until `stopAt`; then the batch that crosses it queues the next run from where it stopped, in the same
 * transaction, so the rest is neither lost nor done twice.
 */
export async function recomputeRun(
  transact: Transact,
  after: string | null,
  { stopAt = Date.now() + RECOMPUTE_RUN_MS, limit = RECOMPUTE_BATCH }: { stopAt?: number; limit?: number } = {},
): Promise<void> {
  do {
    after = await transact(async (ctx) => {
      const next = await recomputeBatch(ctx, after, clockNow().getTime(), limit);
      if (next && Date.now() >= stopAt) {
        await enqueue(ctx, jobSpecs.slaRecompute, { after: next });
        return null;
      }
      return next;
    });
  } while (after);
}
