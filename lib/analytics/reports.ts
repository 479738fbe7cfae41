// The analytics reports. Counts come from app.message_rollups (15-minute buckets summed into the
// requested zone's days or hours); percentiles from the fact rows: app.message_responses (each reply
// that answered a customer) and app.sla_outcomes (each SLA target met or missed when a thread was
// resolved or closed), with percentile_cont. Every report returns its JSON answer and the table its CSV
// export streams.
import type { Ctx } from '../context.js';
import type { Tx as Sql } from '../db/client.js';
import type { Range } from './query.js';

export type Cell = string | number | boolean | null;
export interface Report {
  json: Record<string, unknown>;
  table: { columns: string[]; rows: Cell[][] };
}

type Alias = 'r' | 't';

/** The filters on a table with channel, channel_id, team_id and customer_id columns (the rollups, the responses, the threads). */
function filters(sql: Sql, alias: Alias, r: Range) {
  const a = sql(alias);
  return sql`${r.channel ? sql`and ${a}.channel = ${r.channel}` : sql``}
    ${r.mailbox ? sql`and ${a}.channel_id = ${r.mailbox}` : sql``}
    ${r.team ? sql`and ${a}.team_id = ${r.team}` : sql``}
    ${r.customer ? sql`and ${a}.customer_id = ${r.customer}` : sql``}`;
}

/**
 * The local day (YYYY-MM-DD) or hour (YYYY-MM-DDTHH:00) of an instant column in the range's zone: the
 * label of the period it falls in, found by binary search over the periods' starts (width_bucket),
 * which costs far less per row than converting every instant to the zone.
 */
function period(sql: Sql, column: string, r: Range) {
  return sql`(${r.periods.labels}::text[])[width_bucket(${sql.unsafe(column)}, ${r.periods.starts}::timestamptz[])]`;
}

const rangeJson = (r: Range) => ({
  from: r.start.toISOString(),
  to: r.end.toISOString(),
  tz: r.tz,
  groupBy: r.groupBy,
  filters: { channel: r.channel, team: r.team, customer: r.customer, mailbox: r.mailbox },
});

export interface Percentiles {
  count: number;
  medianMs: number | null;
  p90Ms: number | null;
}

/** Median and p90 of a column, as median_ms and p90_ms. */
const pct = (sql: Sql, column: string) => sql`
  round(percentile_cont(0.5) within group (order by ${sql.unsafe(column)}))::float8 as median_ms,
  round(percentile_cont(0.9) within group (order by ${sql.unsafe(column)}))::float8 as p90_ms`;

// ---- volume --------------------------------------------------------------------------------------

interface VolumeRow {
  period: string;
  channel: string;
  inbound: number;
  outbound: number;
}

async function volumeRows(ctx: Ctx, r: Range): Promise<VolumeRow[]> {
  const sql = ctx.sql;
  // Summed by bucket first, so the zone's period is computed once per bucket, not once per row.
  return sql<VolumeRow[]>`
    select ${period(sql, 'b.bucket', r)} as period, b.channel, sum(b.inbound)::int as inbound, sum(b.outbound)::int as outbound
    from (
      select r.bucket, r.channel, coalesce(sum(r.messages) filter (where r.direction = 'inbound'), 0) as inbound,
        coalesce(sum(r.messages) filter (where r.direction = 'outbound'), 0) as outbound
      from app.message_rollups r
      where r.org_id = ${ctx.orgId} and r.bucket >= ${r.start} and r.bucket < ${r.end} ${filters(sql, 'r', r)}
      group by 1, 2) b
    group by 1, 2 having sum(b.inbound) + sum(b.outbound) <> 0
    order by 1, 2`;
}

/** Messages in and out by channel and period (periods without messages are left out). */
export async function volume(ctx: Ctx, r: Range): Promise<Report> {
  const rows = await volumeRows(ctx, r);
  const totals = { inbound: 0, outbound: 0, byChannel: {} as Record<string, { inbound: number; outbound: number }> };
  for (const row of rows) {
    totals.inbound += row.inbound;
    totals.outbound += row.outbound;
    const c = (totals.byChannel[row.channel] ??= { inbound: 0, outbound: 0 });
    c.inbound += row.inbound;
    c.outbound += row.outbound;
  }
  return {
    json: { range: rangeJson(r), totals, series: rows },
    table: { columns: ['period', 'channel', 'inbound', 'outbound'], rows: rows.map((x) => [x.period, x.channel, x.inbound, x.outbound]) },
  };
}

// ---- response times ------------------------------------------------------------------------------

interface ResponseStats {
  count: number;
  wall: Percentiles;
  business: Percentiles | null;
}

type StatRow = { n: number; wm: number | null; wp: number | null; nb: number; bm: number | null; bp: number | null };
const stats = (s: StatRow): ResponseStats => ({
  count: s.n,
  wall: { count: s.n, medianMs: s.wm, p90Ms: s.wp },
  business: s.nb > 0 ? { count: s.nb, medianMs: s.bm, p90Ms: s.bp } : null,
});

/** Count, median and p90 of first responses (prefix f) and of all responses (prefix a), wall and business. */
const responseColumns = (sql: Sql) => sql`
  count(*) filter (where r.first)::int as fn,
  round(percentile_cont(0.5) within group (order by r.wall_ms) filter (where r.first))::float8 as fwm,
  round(percentile_cont(0.9) within group (order by r.wall_ms) filter (where r.first))::float8 as fwp,
  count(r.business_ms) filter (where r.first)::int as fnb,
  round(percentile_cont(0.5) within group (order by r.business_ms) filter (where r.first))::float8 as fbm,
  round(percentile_cont(0.9) within group (order by r.business_ms) filter (where r.first))::float8 as fbp,
  count(*)::int as an,
  round(percentile_cont(0.5) within group (order by r.wall_ms))::float8 as awm,
  round(percentile_cont(0.9) within group (order by r.wall_ms))::float8 as awp,
  count(r.business_ms)::int as anb,
  round(percentile_cont(0.5) within group (order by r.business_ms))::float8 as abm,
  round(percentile_cont(0.9) within group (order by r.business_ms))::float8 as abp`;

/** Each statistic's columns in order: n, wm, wp, nb, bm, bp. */
function statRow(row: Record<string, unknown>, prefix: string): StatRow {
  const v = (k: string) => row[prefix + k] as number | null;
  return { n: Number(v('n')), wm: v('wm'), wp: v('wp'), nb: Number(v('nb')), bm: v('bm'), bp: v('bp') };
}

async function responseSummary(ctx: Ctx, r: Range): Promise<{ first: ResponseStats; all: ResponseStats }> {
  const sql = ctx.sql;
  const [row] = await sql<Record<string, unknown>[]>`
    select ${responseColumns(sql)}
    from app.message_responses r
    where r.org_id = ${ctx.orgId} and r.at >= ${r.start} and r.at < ${r.end} ${filters(sql, 'r', r)}`;
  return { first: stats(statRow(row!, 'f')), all: stats(statRow(row!, 'a')) };
}

/** Resolution times: each resolved or closed thread's resolution target, on its own clock (business or calendar). */
async function resolutionSummary(ctx: Ctx, r: Range): Promise<Percentiles> {
  const sql = ctx.sql;
  const [row] = await sql<{ count: number; medianMs: number | null; p90Ms: number | null }[]>`
    select count(*)::int as count, ${pct(sql, 'o.elapsed_ms')}
    from app.sla_outcomes o join app.threads t on t.org_id = o.org_id and t.id = o.thread_id
    where o.org_id = ${ctx.orgId} and o.target = 'resolution' and o.at >= ${r.start} and o.at < ${r.end} ${filters(sql, 't', r)}`;
  return row!;
}

/**
 * First response and every response (a member's reply; an automation's where the policy counts it),
 * median and p90, in wall time and, where the organization keeps business calendars, business time;
 * resolution times from the SLA outcomes; the same by period.
 */
export async function responseTimes(ctx: Ctx, r: Range): Promise<Report> {
  const sql = ctx.sql;
  const summary = await responseSummary(ctx, r);
  const resolution = await resolutionSummary(ctx, r);
  const series = await sql<Record<string, unknown>[]>`
    select ${period(sql, 'r.at', r)} as period,
      ${responseColumns(sql)}
    from app.message_responses r
    where r.org_id = ${ctx.orgId} and r.at >= ${r.start} and r.at < ${r.end} ${filters(sql, 'r', r)}
    group by 1 order by 1`;
  const periods = series.map((row) => ({ period: row.period as string, first: stats(statRow(row, 'f')), all: stats(statRow(row, 'a')) }));
  const cells = (s: ResponseStats): Cell[] => [s.count, s.wall.medianMs, s.wall.p90Ms, s.business?.medianMs ?? null, s.business?.p90Ms ?? null];
  return {
    json: { range: rangeJson(r), firstResponse: summary.first, responses: summary.all, resolution, series: periods },
    table: {
      columns: [
        'period',
        'first_responses',
        'first_median_ms',
        'first_p90_ms',
        'first_business_median_ms',
        'first_business_p90_ms',
        'responses',
        'median_ms',
        'p90_ms',
        'business_median_ms',
        'business_p90_ms',
      ],
      rows: periods.map((p) => [p.period, ...cells(p.first), ...cells(p.all)]),
    },
  };
}

// ---- SLA -----------------------------------------------------------------------------------------

interface SlaRow {
  target: string;
  total: number;
  met: number;
  missed: number;
  compliance: number | null;
  medianMs: number | null;
  p90Ms: number | null;
}

const TARGET_ORDER = ['firstResponse', 'nextResponse', 'resolution'];

async function slaTargets(ctx: Ctx, r: Range): Promise<SlaRow[]> {
  const sql = ctx.sql;
  const rows = await sql<SlaRow[]>`
    select o.target, count(*)::int as total, count(*) filter (where o.met)::int as met, count(*) filter (where not o.met)::int as missed,
      round(count(*) filter (where o.met)::numeric / count(*), 4)::float8 as compliance, ${pct(sql, 'o.elapsed_ms')}
    from app.sla_outcomes o join app.threads t on t.org_id = o.org_id and t.id = o.thread_id
    where o.org_id = ${ctx.orgId} and o.at >= ${r.start} and o.at < ${r.end} ${filters(sql, 't', r)}
    group by o.target`;
  return rows.sort((a, b) => TARGET_ORDER.indexOf(a.target) - TARGET_ORDER.indexOf(b.target));
}

/** SLA compliance per target (met or missed when the thread was resolved or closed in the range), and by period. */
export async function sla(ctx: Ctx, r: Range): Promise<Report> {
  const sql = ctx.sql;
  const targets = await slaTargets(ctx, r);
  const series = await sql<{ period: string; target: string; met: number; missed: number }[]>`
    select ${period(sql, 'o.at', r)} as period, o.target,
      count(*) filter (where o.met)::int as met, count(*) filter (where not o.met)::int as missed
    from app.sla_outcomes o join app.threads t on t.org_id = o.org_id and t.id = o.thread_id
    where o.org_id = ${ctx.orgId} and o.at >= ${r.start} and o.at < ${r.end} ${filters(sql, 't', r)}
    group by 1, 2 order by 1, 2`;
  return {
    json: { range: rangeJson(r), targets, series },
    table: {
      columns: ['target', 'total', 'met', 'missed', 'compliance', 'median_ms', 'p90_ms'],
      rows: targets.map((t) => [t.target, t.total, t.met, t.missed, t.compliance, t.medianMs, t.p90Ms]),
    },
  };
}

// ---- overview ------------------------------------------------------------------------------------

const BACKLOG_STATUSES = ['open', 'pending', 'snoozed'] as const;

/** Threads waiting now (whatever the range), by status and by age since they were opened. */
async function backlog(ctx: Ctx, r: Range) {
  const sql = ctx.sql;
  const rows = await sql<{ status: string; total: number; day: number; week: number; older: number }[]>`
    select t.status, count(*)::int as total,
      count(*) filter (where t.created_at > now() - interval '1 day')::int as day,
      count(*) filter (where t.created_at <= now() - interval '1 day' and t.created_at > now() - interval '7 days')::int as week,
      count(*) filter (where t.created_at <= now() - interval '7 days')::int as older
    from app.threads t
    where t.org_id = ${ctx.orgId} and t.status in ${sql(BACKLOG_STATUSES)} ${filters(sql, 't', r)}
    group by t.status`;
  return BACKLOG_STATUSES.map((status) => {
    const row = rows.find((x) => x.status === status);
    return { status, total: row?.total ?? 0, ages: { underOneDay: row?.day ?? 0, oneToSevenDays: row?.week ?? 0, overSevenDays: row?.older ?? 0 } };
  });
}

/** The morning summary: messages in and out, first response and resolution times, SLA compliance, the backlog now. */
export async function overview(ctx: Ctx, r: Range): Promise<Report> {
  const sql = ctx.sql;
  const [messages] = await sql<{ inbound: number; outbound: number }[]>`
    select coalesce(sum(r.messages) filter (where r.direction = 'inbound'), 0)::int as inbound,
      coalesce(sum(r.messages) filter (where r.direction = 'outbound'), 0)::int as outbound
    from app.message_rollups r
    where r.org_id = ${ctx.orgId} and r.bucket >= ${r.start} and r.bucket < ${r.end} ${filters(sql, 'r', r)}`;
  const responses = await responseSummary(ctx, r);
  const resolution = await resolutionSummary(ctx, r);
  const targets = await slaTargets(ctx, r);
  const slaTotal = targets.reduce((n, t) => n + t.total, 0);
  const slaMet = targets.reduce((n, t) => n + t.met, 0);
  const waiting = await backlog(ctx, r);
  // First response in business time when every response in the range has it (the organization keeps calendars), else wall time.
  const f = responses.first;
  const firstResponse = f.business && f.business.count === f.count ? { basis: 'business', ...f.business } : { basis: 'wall', ...f.wall };
  const json = {
    range: rangeJson(r),
    messages: messages!,
    firstResponse,
    resolution,
    sla: { total: slaTotal, met: slaMet, compliance: slaTotal ? Math.round((slaMet / slaTotal) * 10_000) / 10_000 : null },
    backlog: waiting,
  };
  const rows: Cell[][] = [
    ['messages_inbound', messages!.inbound],
    ['messages_outbound', messages!.outbound],
    ['first_response_basis', firstResponse.basis],
    ['first_responses', firstResponse.count],
    ['first_response_median_ms', firstResponse.medianMs],
    ['first_response_p90_ms', firstResponse.p90Ms],
    ['resolutions', resolution.count],
    ['resolution_median_ms', resolution.medianMs],
    ['resolution_p90_ms', resolution.p90Ms],
    ['sla_total', slaTotal],
    ['sla_met', slaMet],
    ['sla_compliance', json.sla.compliance],
    ...waiting.map((b): Cell[] => [`backlog_${b.status}`, b.total]),
  ];
  return { json, table: { columns: ['metric', 'value'], rows } };
}

// ---- agents --------------------------------------------------------------------------------------

/** The most rows a ranking answers. */
const TOP = 100;

/**
 * Per member: messages they sent (rollups), the customer messages they answered and how fast (median
 * and p90 of their responses, first responses among them), and the open threads assigned to them now.
 */
export async function agents(ctx: Ctx, r: Range): Promise<Report> {
  const sql = ctx.sql;
  const rows = await sql<Record<string, unknown>[]>`
    with sent as (
      select r.author_id as user_id, sum(r.messages)::int as sent
      from app.message_rollups r
      where r.org_id = ${ctx.orgId} and r.bucket >= ${r.start} and r.bucket < ${r.end} and r.direction = 'outbound'
        and r.author_id is not null ${filters(sql, 'r', r)}
      group by 1
    ), answered as (
      select r.responder_id as user_id, ${responseColumns(sql)}
      from app.message_responses r
      where r.org_id = ${ctx.orgId} and r.at >= ${r.start} and r.at < ${r.end} and r.responder_id is not null ${filters(sql, 'r', r)}
      group by 1
    ), assigned as (
      select t.assignee_id as user_id, count(*)::int as open_assigned
      from app.threads t
      where t.org_id = ${ctx.orgId} and t.status = 'open' and t.assignee_id is not null ${filters(sql, 't', r)}
      group by 1
    )
    -- a.* also has a user_id, null for a member without responses: the member's own comes after it, so it wins.
    select a.*, m.user_id, m.display_name as name, coalesce(s.sent, 0) as sent, coalesce(g.open_assigned, 0) as open_assigned
    from app.members m
    left join sent s on s.user_id = m.user_id
    left join answered a on a.user_id = m.user_id
    left join assigned g on g.user_id = m.user_id
    where m.org_id = ${ctx.orgId} and (s.sent is not null or a.user_id is not null or g.open_assigned is not null)
    order by coalesce(a.an, 0) desc, coalesce(s.sent, 0) desc, m.display_name, m.user_id
    limit ${TOP}`;
  const members = rows.map((row) => ({
    userId: row.userId as string,
    name: row.name as string,
    sent: row.sent as number,
    openAssigned: row.openAssigned as number,
    firstResponse: stats(statRow(row, 'f')),
    responses: stats(statRow(row, 'a')),
  }));
  return {
    json: { range: rangeJson(r), members },
    table: {
      columns: ['user_id', 'name', 'sent', 'open_assigned', 'first_responses', 'first_median_ms', 'first_p90_ms', 'responses', 'median_ms', 'p90_ms'],
      rows: members.map((m) => [
        m.userId,
        m.name,
        m.sent,
        m.openAssigned,
        m.firstResponse.count,
        m.firstResponse.wall.medianMs,
        m.firstResponse.wall.p90Ms,
        m.responses.count,
        m.responses.wall.medianMs,
        m.responses.wall.p90Ms,
      ]),
    },
  };
}

// ---- customers -----------------------------------------------------------------------------------

/**
 * The busiest customers: messages in and out (rollups), and how fast their messages were answered;
 * beside them the shipments with the most traffic (the CSV export is the customers' table).
 */
export async function customers(ctx: Ctx, r: Range): Promise<Report> {
  const sql = ctx.sql;
  const rows = await sql<
    { customerId: string; name: string; inbound: number; outbound: number; responses: number; medianMs: number | null; p90Ms: number | null }[]
  >`
    with traffic as (
      select r.customer_id, coalesce(sum(r.messages) filter (where r.direction = 'inbound'), 0)::int as inbound,
        coalesce(sum(r.messages) filter (where r.direction = 'outbound'), 0)::int as outbound
      from app.message_rollups r
      where r.org_id = ${ctx.orgId} and r.bucket >= ${r.start} and r.bucket < ${r.end} and r.customer_id is not null ${filters(sql, 'r', r)}
      group by 1 having sum(r.messages) <> 0
      order by sum(r.messages) desc, r.customer_id
      limit ${TOP}
    ), answered as (
      select r.customer_id, count(*)::int as responses, ${pct(sql, 'r.wall_ms')}
      from app.message_responses r
      where r.org_id = ${ctx.orgId} and r.at >= ${r.start} and r.at < ${r.end} and r.customer_id in (select customer_id from traffic) ${filters(sql, 'r', r)}
      group by 1
    )
    select x.customer_id, c.name, x.inbound, x.outbound, coalesce(a.responses, 0) as responses, a.median_ms, a.p90_ms
    from traffic x join app.customers c on c.id = x.customer_id
    left join answered a on a.customer_id = x.customer_id
    order by x.inbound + x.outbound desc, x.customer_id`;
  return {
    json: { range: rangeJson(r), customers: rows, shipments: await busiestShipments(ctx, r) },
    table: {
      columns: ['customer_id', 'name', 'inbound', 'outbound', 'responses', 'median_ms', 'p90_ms'],
      rows: rows.map((c) => [c.customerId, c.name, c.inbound, c.outbound, c.responses, c.medianMs, c.p90Ms]),
    },
  };
}

/** The shipments with the most traffic: the messages linked to each (app.shipment_rollups), in and out. */
async function busiestShipments(ctx: Ctx, r: Range) {
  const sql = ctx.sql;
  return sql<{ shipmentId: string; reference: string; customerId: string | null; status: string; inbound: number; outbound: number }[]>`
    with traffic as (
      select r.shipment_id, coalesce(sum(r.messages) filter (where r.direction = 'inbound'), 0)::int as inbound,
        coalesce(sum(r.messages) filter (where r.direction = 'outbound'), 0)::int as outbound
      from app.shipment_rollups r
      where r.org_id = ${ctx.orgId} and r.bucket >= ${r.start} and r.bucket < ${r.end} ${filters(sql, 'r', r)}
      group by 1 having sum(r.messages) <> 0
      order by sum(r.messages) desc, r.shipment_id
      limit ${TOP}
    )
    select x.shipment_id, s.reference, s.customer_id, s.status, x.inbound, x.outbound
    from traffic x join app.shipments s on s.org_id = ${ctx.orgId} and s.id = x.shipment_id
    order by x.inbound + x.outbound desc, x.shipment_id`;
}

// ---- intents and sentiment -----------------------------------------------------------------------

/** The intent mix of analysed messages, and the sentiment trend by period (counts and average score). */
export async function intents(ctx: Ctx, r: Range): Promise<Report> {
  const sql = ctx.sql;
  const mix = await sql<{ intent: string | null; messages: number }[]>`
    select r.intent, sum(r.messages)::int as messages
    from app.message_analysis_rollups r
    where r.org_id = ${ctx.orgId} and r.bucket >= ${r.start} and r.bucket < ${r.end} ${filters(sql, 'r', r)}
    group by 1 having sum(r.messages) <> 0
    order by 2 desc, 1 nulls last`;
  const trend = await sql<{ period: string; positive: number; neutral: number; negative: number; averageScore: number | null }[]>`
    select ${period(sql, 'r.bucket', r)} as period,
      coalesce(sum(r.messages) filter (where r.sentiment = 'positive'), 0)::int as positive,
      coalesce(sum(r.messages) filter (where r.sentiment = 'neutral'), 0)::int as neutral,
      coalesce(sum(r.messages) filter (where r.sentiment = 'negative'), 0)::int as negative,
      round((sum(r.score_sum) / nullif(sum(r.scored), 0))::numeric, 4)::float8 as average_score
    from app.message_analysis_rollups r
    where r.org_id = ${ctx.orgId} and r.bucket >= ${r.start} and r.bucket < ${r.end} ${filters(sql, 'r', r)}
    group by 1 having sum(r.messages) <> 0
    order by 1`;
  return {
    json: { range: rangeJson(r), intents: mix, sentiment: trend },
    table: {
      columns: ['period', 'positive', 'neutral', 'negative', 'average_score'],
      rows: trend.map((t) => [t.period, t.positive, t.neutral, t.negative, t.averageScore]),
    },
  };
}

export const REPORTS = {
  overview,
  volume,
  'response-times': responseTimes,
  sla,
  agents,
  customers,
  intents,
} satisfies Record<string, (ctx: Ctx, r: Range) => Promise<Report>>;
export type ReportName = keyof typeof REPORTS;
