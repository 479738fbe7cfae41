// The analytics reports. Counts come from the rollups (app.message_rollups, by author, and its kin:
// app.message_traffic without the author, app.message_author_totals by author alone; quarter hours,
// hours and UTC days, each period read as its coarsest aligned buckets, rollupBuckets); percentiles
// from the fact rows: app.message_responses (each reply that answered a customer) and app.sla_outcomes
// (each SLA target met or missed when a thread was resolved or closed), exactly as percentile_cont
// computes them, one sort per column (median and p90 together; responses as sorted integer arrays).
// Series have every period of the range, zeros (or nulls) where nothing happened. Every report returns its JSON answer and the table its CSV export streams.
import type { Ctx } from '../context.js';
import type { Tx as Sql } from '../db/client.js';
import { CHANNELS, type Range } from './query.js';

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
 * The 1-based period of the range an instant column falls in (the local day or hour in the range's
 * zone), found by binary search over the periods' starts (width_bucket), which costs far less per row
 * than converting every instant to the zone; the label (r.periods.labels) is put on after grouping.
 */
function period(sql: Sql, column: string, r: Range) {
  return sql`width_bucket(${sql.unsafe(column)}, ${r.periods.starts}::timestamptz[])`;
}

type RollupTable =
  | 'app.message_rollups'
  | 'app.message_traffic'
  | 'app.message_author_totals'
  | 'app.message_analysis_rollups'
  | 'app.message_analysis_totals'
  | 'app.shipment_rollups';

/**
 * The rows of a rollup table (as r) that make up the range (query.ts, rollupBuckets): its periods' when
 * byPeriod (each bucket lies wholly in one period: period() of r.bucket is its period), else the
 * coarsest buckets of the range as a whole. Read through the table's key (org_id, level, bucket, ...).
 */
function rollups(sql: Sql, ctx: Ctx, table: RollupTable, r: Range, byPeriod: boolean) {
  const [quarters, hours, days] = byPeriod ? r.buckets.byPeriod : r.buckets.whole;
  return sql`${sql.unsafe(table)} r
    where r.org_id = ${ctx.orgId} and (
      (r.level = 0 and r.bucket = any(${quarters}::timestamptz[]))
      or (r.level = 1 and r.bucket = any(${hours}::timestamptz[]))
      or (r.level = 2 and r.bucket = any(${days}::timestamptz[])))`;
}

/** Whether the range is narrowed to a channel, mailbox, team or customer (filters). */
const filtered = (r: Range) => Boolean(r.channel || r.mailbox || r.team || r.customer);

/**
 * The SLA outcomes' threads (as t) for the range's filters: only when a filter is given (every outcome
 * has its thread, by foreign key), so an unfiltered report does not read every thread.
 */
function outcomeThreads(sql: Sql, r: Range) {
  return filtered(r) ? sql`join app.threads t on t.org_id = o.org_id and t.id = o.thread_id` : sql``;
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

/**
 * Median and p90 of a column, as columns m and p: one percentile_cont over both fractions, so one sort
 * (the two references are the same aggregate, which PostgreSQL computes once).
 */
function pctPair(sql: Sql, column: string, m: string, p: string) {
  const agg = sql.unsafe(`percentile_cont(array[0.5, 0.9]::float8[]) within group (order by ${column})`);
  return sql`round((${agg})[1])::float8 as ${sql(m)}, round((${agg})[2])::float8 as ${sql(p)}`;
}

/** Median and p90 of a column, as median_ms and p90_ms. */
const pct = (sql: Sql, column: string) => pctPair(sql, column, 'median_ms', 'p90_ms');

// ---- volume --------------------------------------------------------------------------------------

interface VolumeRow {
  period: string;
  channel: string;
  inbound: number;
  outbound: number;
}

/** Every period of the range with every channel (the filtered one alone), zeros where no message went. */
async function volumeRows(ctx: Ctx, r: Range): Promise<VolumeRow[]> {
  const sql = ctx.sql;
  const counted = await sql<{ period: number; channel: string; inbound: number; outbound: number }[]>`
    select ${period(sql, 'r.bucket', r)} as period, r.channel, coalesce(sum(r.messages) filter (where r.direction = 'inbound'), 0)::int as inbound,
      coalesce(sum(r.messages) filter (where r.direction = 'outbound'), 0)::int as outbound
    from ${rollups(sql, ctx, 'app.message_traffic', r, true)}
    ${filters(sql, 'r', r)}
    group by 1, 2`;
  const at = new Map(counted.map((x) => [`${x.period} ${x.channel}`, x]));
  const channels = r.channel ? [r.channel] : [...CHANNELS].sort();
  return r.periods.labels.flatMap((period, i) =>
    channels.map((channel) => {
      const x = at.get(`${i + 1} ${channel}`);
      return { period, channel, inbound: x?.inbound ?? 0, outbound: x?.outbound ?? 0 };
    }),
  );
}

/** Messages in and out by channel and period: every period of the range and every channel, zeros where none went. */
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

/**
 * The response statistics: first responses and all (prefix f, a), in wall and in business time (w, b;
 * business where it was measured), whose count, median and p90 are the columns statRow reads (fn, fwm,
 * fwp, fnb, fbm, fbp, an, ...): from sorted arrays of the set's values (responseArrays, arrayStats),
 * exactly as percentile_cont computes them. Sorting the bigint values costs less than percentile_cont's
 * sorts of float8 (about 6 % of the agents report), and response times find the range's percentiles
 * in the periods' arrays.
 */
const RESPONSE_STATS = [
  { stat: 'fw', count: 'fn', column: 'r.wall_ms', where: 'r.first' },
  { stat: 'fb', count: 'fnb', column: 'r.business_ms', where: 'r.first and r.business_ms is not null' },
  { stat: 'aw', count: 'an', column: 'r.wall_ms', where: null },
  { stat: 'ab', count: 'anb', column: 'r.business_ms', where: 'r.business_ms is not null' },
] as const;

/**
 * percentile_cont(p) of a sorted bigint[] without nulls, exactly as PostgreSQL computes it (the values
 * at floor and ceil of p * (n - 1), interpolated in float8), rounded; null for an empty array.
 */
function sortedPercentile(sql: Sql, array: string, p: number) {
  const a = sql.unsafe(array);
  const x = sql.unsafe(`${p}::float8 * (cardinality(${array}) - 1)`);
  return sql`round(${a}[floor(${x})::int + 1]::float8 + (${a}[ceil(${x})::int + 1]::float8 - ${a}[floor(${x})::int + 1]::float8) * (${x} - floor(${x})))::float8`;
}

/** The statistics' sorted arrays (fw, fb, aw, ab) of the responses r: aggregates over its rows. */
const responseArrays = (sql: Sql) =>
  sql.unsafe(
    RESPONSE_STATS.map(({ stat, column, where }) => `array_agg(${column} order by ${column})${where ? ` filter (where ${where})` : ''} as ${stat}`).join(', '),
  );

/** Count, median and p90 of each statistic from its array (the columns of responseArrays). */
const arrayStats = (sql: Sql) =>
  RESPONSE_STATS.map(
    ({ stat, count }) =>
      sql`coalesce(cardinality(${sql(stat)}), 0) as ${sql(count)}, ${sortedPercentile(sql, stat, 0.5)} as ${sql(`${stat}m`)}, ${sortedPercentile(sql, stat, 0.9)} as ${sql(`${stat}p`)}`,
  ).reduce((all, x) => sql`${all}, ${x}`);

/** Each statistic's columns in order: n, wm, wp, nb, bm, bp. */
function statRow(row: Record<string, unknown>, prefix: string): StatRow {
  const v = (k: string) => (row[prefix + k] ?? null) as number | null;
  return { n: Number(v('n') ?? 0), wm: v('wm'), wp: v('wp'), nb: Number(v('nb') ?? 0), bm: v('bm'), bp: v('bp') };
}

/** Resolution times: each resolved or closed thread's resolution target, on its own clock (business or calendar). */
async function resolutionSummary(ctx: Ctx, r: Range): Promise<Percentiles> {
  const sql = ctx.sql;
  const [row] = await sql<{ count: number; medianMs: number | null; p90Ms: number | null }[]>`
    select count(*)::int as count, ${pct(sql, 'o.elapsed_ms')}
    from app.sla_outcomes o ${outcomeThreads(sql, r)}
    where o.org_id = ${ctx.orgId} and o.target = 'resolution' and o.at >= ${r.start} and o.at < ${r.end} ${filters(sql, 't', r)}`;
  return row!;
}

/** percentile_cont of the range (whole, below) at fraction p for one statistic, from the values at its two ranks. */
const wholePercentile = (sql: Sql, stat: string, p: number) =>
  sql.unsafe(
    `round(max(w.lo_value::float8 + (w.hi_value::float8 - w.lo_value::float8) * (w.p * (w.n - 1) - floor(w.p * (w.n - 1)))) filter (where w.stat = '${stat}' and w.p = ${p}))::float8`,
  );

/** How many values the search for a percentile of the range leaves to sort (responseTimes). */
const GATHER = 1024;

/**
 * First response and every response (a member's reply; an automation's where the policy counts it),
 * median and p90, in wall time and, where the organization keeps business calendars, business time;
 * resolution times from the SLA outcomes; the same by period (every period of the range: a period
 * without responses has count 0 and null times).
 *
 * Exact percentiles without sorting the range twice: each period's responses (a range of the
 * (org_id, at) index) are sorted into one array per statistic, which gives the period's percentiles;
 * the range's come from the same arrays, each rank's value found by binary search over the values
 * (width_bucket counts a sorted array's values up to a bound, so a count over the range costs one
 * search per period). The search starts between the periods' own percentiles (the range's lies
 * between the least and the greatest of them) and stops once at most GATHER values are left between
 * its bounds, which are then sorted: about 5 halvings per rank on the bench set (25 to the last
 * value), against sorting its 277,389 responses per statistic again.
 */
export async function responseTimes(ctx: Ctx, r: Range): Promise<Report> {
  const sql = ctx.sql;
  const ends = [...r.periods.starts.slice(1), r.end];
  // A statistic's array in a row of per, and per's arrays one row each (period, stat, arr).
  const arrayOf = (stat: string) => sql.unsafe(`case ${stat} ${RESPONSE_STATS.map((x) => `when '${x.stat}' then per.${x.stat}`).join(' ')} end`);
  const long = sql`(select per.period, s.stat, ${arrayOf('s.stat')} as arr
    from per cross join unnest(${RESPONSE_STATS.map((x) => x.stat)}::text[]) as s (stat)) l`;
  const whole = RESPONSE_STATS.map(
    ({ stat, count }) =>
      sql`coalesce(max(w.n) filter (where w.stat = ${stat}), 0)::int as ${sql(count)}, ${wholePercentile(sql, stat, 0.5)} as ${sql(`${stat}m`)}, ${wholePercentile(sql, stat, 0.9)} as ${sql(`${stat}p`)}`,
  ).reduce((all, x) => sql`${all}, ${x}`);
  const rows = await sql<({ period: number } & Record<string, unknown>)[]>`
    with recursive per as materialized (
      select p.period::int as period, x.*
      from unnest(${r.periods.starts}::timestamptz[], ${ends}::timestamptz[]) with ordinality as p (lo, hi, period)
      cross join lateral (
        select ${responseArrays(sql)}
        from app.message_responses r
        where r.org_id = ${ctx.orgId} and r.at >= p.lo and r.at < p.hi ${filters(sql, 'r', r)}) x
    ), targets as (
      -- Each statistic's count over the range, the 0-based ranks percentile_cont reads for each
      -- fraction (floor and ceil of p * (n - 1)), and bounds of the range's value at them: the least of
      -- the periods' values at their own lower rank and the greatest at their own upper rank.
      select t.*, floor(t.p * (t.n - 1))::bigint as lo_rank, ceil(t.p * (t.n - 1))::bigint as hi_rank
      from (
        select l.stat, f.p, sum(cardinality(l.arr))::bigint as n,
          min(l.arr[floor(f.p * (cardinality(l.arr) - 1))::int + 1]) as least, max(l.arr[ceil(f.p * (cardinality(l.arr) - 1))::int + 1]) as most
        from ${long} cross join unnest(array[0.5, 0.9]::float8[]) as f (p)
        where l.arr is not null
        group by l.stat, f.p) t
    ), search (stat, p, rank, lo, hi, below, upto) as (
      -- The value at the lower rank lies in [lo, hi], where below values lie under lo and upto values
      -- at most hi: halve [lo, hi] until few values lie in it (GATHER) or one value is left.
      select g.stat, g.p, g.lo_rank, g.least, g.most, c.below, c.upto
      from targets g
      cross join lateral (select sum(width_bucket(g.least - 1, ${arrayOf('g.stat')})) as below, sum(width_bucket(g.most, ${arrayOf('g.stat')})) as upto from per) c
      union all
      select s.stat, s.p, s.rank, case when c.le > s.rank then s.lo else m.mid + 1 end, case when c.le > s.rank then m.mid else s.hi end,
        case when c.le > s.rank then s.below else c.le end, case when c.le > s.rank then c.le else s.upto end
      from search s
      cross join lateral (select (s.lo + s.hi) / 2 as mid) m
      cross join lateral (select sum(width_bucket(m.mid, ${arrayOf('s.stat')})) as le from per) c
      where s.lo < s.hi and s.upto - s.below > ${GATHER}
    ), whole as (
      -- The values in [lo, hi] sorted give the value at the lower rank (always among them: more than
      -- rank values are at most hi), and at the upper rank when it is among them; else that is the least
      -- value above hi (each array's next one). With one value left (lo = hi) nothing is sorted.
      select g.stat, g.n, g.p, coalesce(v.sorted[g.lo_rank - f.below + 1], f.lo) as lo_value,
        case when g.hi_rank < f.upto then coalesce(v.sorted[g.hi_rank - f.below + 1], f.lo)
          else (select min((${arrayOf('g.stat')})[width_bucket(f.hi, ${arrayOf('g.stat')}) + 1]) from per) end as hi_value
      from targets g
      join search f on f.stat = g.stat and f.p = g.p and not (f.lo < f.hi and f.upto - f.below > ${GATHER})
      cross join lateral (
        select array_agg(x.v order by x.v) as sorted
        from per cross join lateral unnest((${arrayOf('g.stat')})[width_bucket(f.lo - 1, ${arrayOf('g.stat')}) + 1 : width_bucket(f.hi, ${arrayOf('g.stat')})]) as x (v)
        where f.lo < f.hi) v
    )
    select per.period, ${arrayStats(sql)} from per
    union all
    select 0, ${whole} from whole w`;
  const resolution = await resolutionSummary(ctx, r);
  // Each period's statistics, 0 the range's.
  const byPeriod = new Map(rows.map((row) => [row.period, row]));
  const of = (period: number, prefix: string) => stats(statRow(byPeriod.get(period) ?? {}, prefix));
  const periods = r.periods.labels.map((period, i) => ({ period, first: of(i + 1, 'f'), all: of(i + 1, 'a') }));
  const cells = (s: ResponseStats): Cell[] => [s.count, s.wall.medianMs, s.wall.p90Ms, s.business?.medianMs ?? null, s.business?.p90Ms ?? null];
  return {
    json: {
      range: rangeJson(r),
      firstResponse: of(0, 'f'),
      responses: of(0, 'a'),
      resolution,
      series: periods,
    },
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

/** Met and missed per target; with the median and p90 of the elapsed times unless `times` is false (null then). */
async function slaTargets(ctx: Ctx, r: Range, times = true): Promise<SlaRow[]> {
  const sql = ctx.sql;
  const rows = await sql<SlaRow[]>`
    select o.target, count(*)::int as total, count(*) filter (where o.met)::int as met, count(*) filter (where not o.met)::int as missed,
      round(count(*) filter (where o.met)::numeric / count(*), 4)::float8 as compliance,
      ${times ? pct(sql, 'o.elapsed_ms') : sql`null::float8 as median_ms, null::float8 as p90_ms`}
    from app.sla_outcomes o ${outcomeThreads(sql, r)}
    where o.org_id = ${ctx.orgId} and o.at >= ${r.start} and o.at < ${r.end} ${filters(sql, 't', r)}
    group by o.target`;
  return rows.sort((a, b) => TARGET_ORDER.indexOf(a.target) - TARGET_ORDER.indexOf(b.target));
}

/**
 * SLA compliance per target (met or missed when the thread was resolved or closed in the range), and by
 * period: every period of the range with every target, zeros where none was met or missed.
 */
export async function sla(ctx: Ctx, r: Range): Promise<Report> {
  const sql = ctx.sql;
  const targets = await slaTargets(ctx, r);
  const counted = await sql<{ period: number; target: string; met: number; missed: number }[]>`
    select ${period(sql, 'o.at', r)} as period, o.target,
      count(*) filter (where o.met)::int as met, count(*) filter (where not o.met)::int as missed
    from app.sla_outcomes o ${outcomeThreads(sql, r)}
    where o.org_id = ${ctx.orgId} and o.at >= ${r.start} and o.at < ${r.end} ${filters(sql, 't', r)}
    group by 1, 2`;
  const at = new Map(counted.map((x) => [`${x.period} ${x.target}`, x]));
  const series = r.periods.labels.flatMap((period, i) =>
    TARGET_ORDER.map((target) => {
      const x = at.get(`${i + 1} ${target}`);
      return { period, target, met: x?.met ?? 0, missed: x?.missed ?? 0 };
    }),
  );
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
    from ${rollups(sql, ctx, 'app.message_traffic', r, false)}
    ${filters(sql, 'r', r)}`;
  // First responses only (their own index, message_responses_first_idx).
  const [first] = await sql<Record<string, unknown>[]>`
    select count(*)::int as fn, ${pctPair(sql, 'r.wall_ms', 'fwm', 'fwp')},
      count(r.business_ms)::int as fnb, ${pctPair(sql, 'r.business_ms', 'fbm', 'fbp')}
    from app.message_responses r
    where r.org_id = ${ctx.orgId} and r.first and r.at >= ${r.start} and r.at < ${r.end} ${filters(sql, 'r', r)}`;
  const resolution = await resolutionSummary(ctx, r);
  const targets = await slaTargets(ctx, r, false);
  const slaTotal = targets.reduce((n, t) => n + t.total, 0);
  const slaMet = targets.reduce((n, t) => n + t.met, 0);
  const waiting = await backlog(ctx, r);
  // First response in business time when every response in the range has it (the organization keeps calendars), else wall time.
  const f = stats(statRow(first!, 'f'));
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
 * Per member: messages they sent (rollups; without filters, each author's totals), the customer
 * messages they answered and how fast (median and p90 of their responses, first responses among them),
 * and the open threads assigned to them now (from the inbox's thread counters, app.thread_counts,
 * unless a channel, mailbox or customer narrows the range: the counters have teams but not those).
 */
export async function agents(ctx: Ctx, r: Range): Promise<Report> {
  const sql = ctx.sql;
  const rows = await sql<Record<string, unknown>[]>`
    with sent as (
      select r.author_id as user_id, sum(r.messages)::int as sent
      from ${
        filtered(r)
          ? sql`${rollups(sql, ctx, 'app.message_rollups', r, false)} and r.direction = 'outbound' and r.author_id is not null ${filters(sql, 'r', r)}`
          : rollups(sql, ctx, 'app.message_author_totals', r, false)
      }
      group by 1
    ), answered as (
      -- Each member's responses on their own (message_responses_responder_at_idx).
      select m.user_id, x.*
      from app.members m
      cross join lateral (
        select ${arrayStats(sql)}
        from (
          select ${responseArrays(sql)}
          from app.message_responses r
          where r.org_id = ${ctx.orgId} and r.responder_id = m.user_id and r.at >= ${r.start} and r.at < ${r.end} ${filters(sql, 'r', r)}) a) x
      where m.org_id = ${ctx.orgId} and x.an > 0
    ), assigned as (
      ${
        r.channel || r.mailbox || r.customer
          ? sql`select t.assignee_id as user_id, count(*)::int as open_assigned
              from app.threads t
              where t.org_id = ${ctx.orgId} and t.status = 'open' and t.assignee_id is not null ${filters(sql, 't', r)}
              group by 1`
          : sql`select c.assignee_id as user_id, sum(c.threads)::int as open_assigned
              from app.thread_counts c
              where c.org_id = ${ctx.orgId} and c.status = 'open' and c.assignee_id is not null ${r.team ? sql`and c.team_id = ${r.team}` : sql``}
              group by 1 having sum(c.threads) > 0`
      }
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
      from ${rollups(sql, ctx, 'app.message_traffic', r, false)}
      and r.customer_id is not null ${filters(sql, 'r', r)}
      group by 1 having sum(r.messages) <> 0
      order by sum(r.messages) desc, r.customer_id
      limit ${TOP}
    ), answered as (
      -- Each customer's responses on their own (message_responses_customer_at_idx).
      select x.customer_id, a.*
      from traffic x
      cross join lateral (
        select coalesce(cardinality(a.w), 0) as responses, ${sortedPercentile(sql, 'a.w', 0.5)} as median_ms, ${sortedPercentile(sql, 'a.w', 0.9)} as p90_ms
        from (
          select array_agg(r.wall_ms order by r.wall_ms) as w
          from app.message_responses r
          where r.org_id = ${ctx.orgId} and r.customer_id = x.customer_id and r.at >= ${r.start} and r.at < ${r.end} ${filters(sql, 'r', r)}) a) a
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
      from ${rollups(sql, ctx, 'app.shipment_rollups', r, false)}
      ${filters(sql, 'r', r)}
      group by 1 having sum(r.messages) <> 0
      order by sum(r.messages) desc, r.shipment_id
      limit ${TOP}
    )
    select x.shipment_id, s.reference, s.customer_id, s.status, x.inbound, x.outbound
    from traffic x join app.shipments s on s.org_id = ${ctx.orgId} and s.id = x.shipment_id
    order by x.inbound + x.outbound desc, x.shipment_id`;
}

// ---- intents and sentiment -----------------------------------------------------------------------

/**
 * The intent mix of analysed messages, and the sentiment trend by period (counts and average score):
 * every period of the range, zeros and a null average where no analysed message fell. Without filters
 * from the organization's totals (one row per intent and per sentiment in a bucket), with filters from
 * the rollups that keep each message's channel, mailbox, team and customer.
 */
export async function intents(ctx: Ctx, r: Range): Promise<Report> {
  const sql = ctx.sql;
  const totals = !filtered(r);
  const from = (byPeriod: boolean, facet: 'intent' | 'sentiment') =>
    totals
      ? sql`${rollups(sql, ctx, 'app.message_analysis_totals', r, byPeriod)} and r.facet = ${facet}`
      : sql`${rollups(sql, ctx, 'app.message_analysis_rollups', r, byPeriod)} ${filters(sql, 'r', r)}`;
  const intent = totals ? sql`r.value` : sql`r.intent`;
  const sentiment = totals ? sql`r.value` : sql`r.sentiment`;
  const mix = await sql<{ intent: string | null; messages: number }[]>`
    select ${intent} as intent, sum(r.messages)::int as messages
    from ${from(false, 'intent')}
    group by 1 having sum(r.messages) <> 0
    order by 2 desc, 1 nulls last`;
  const counted = await sql<{ period: number; positive: number; neutral: number; negative: number; averageScore: number | null }[]>`
    select ${period(sql, 'r.bucket', r)} as period,
      coalesce(sum(r.messages) filter (where ${sentiment} = 'positive'), 0)::int as positive,
      coalesce(sum(r.messages) filter (where ${sentiment} = 'neutral'), 0)::int as neutral,
      coalesce(sum(r.messages) filter (where ${sentiment} = 'negative'), 0)::int as negative,
      round((sum(r.score_sum) / nullif(sum(r.scored), 0))::numeric, 4)::float8 as average_score
    from ${from(true, 'sentiment')}
    group by 1`;
  const at = new Map(counted.map((x) => [x.period, x]));
  const trend = r.periods.labels.map((period, i) => {
    const x = at.get(i + 1);
    return { period, positive: x?.positive ?? 0, neutral: x?.neutral ?? 0, negative: x?.negative ?? 0, averageScore: x?.averageScore ?? null };
  });
  return {
    json: { range: rangeJson(r), intents: mix, sentiment: trend },
    table: {
      columns: ['period', 'positive', 'neutral', 'negative', 'average_score'],
      rows: trend.map((t) => [t.period, t.positive, t.neutral, t.negative, t.averageScore]),
    },
  };
}

const REPORTS = {
  overview,
  volume,
  'response-times': responseTimes,
  sla,
  agents,
  customers,
  intents,
} satisfies Record<string, (ctx: Ctx, r: Range) => Promise<Report>>;
export type ReportName = keyof typeof REPORTS;
export const REPORT_NAMES = Object.keys(REPORTS) as ReportName[];

/**
 * A report, in the request's transaction. The percentiles sort a range's fact rows (a few hundred
 * thousand for a busy organization's quarter) and response times keep each period's sorted values
 * for the range's ranks: in memory, not spilled to temporary files as they are at the default 4 MB.
 */
export async function runReport(ctx: Ctx, name: ReportName, r: Range): Promise<Report> {
  await ctx.sql`select set_config('work_mem', '64MB', true)`;
  return REPORTS[name](ctx, r);
}
