// Analytics (GET /api/analytics/*): every report's numbers against a straightforward SQL over the raw
// rows (messages, threads, SLA outcomes) of a generated data set, in time zones whose days do not
// start on a UTC hour (Asia/Kathmandu +05:45, Asia/Kolkata +05:30) or change length (America/New_York,
// 1 November 2026 has 25 hours) and in UTC (periods that are whole rollup days), by day and by hour
// (the rollups' quarter hours, hours and days all in play), with filters; every period of the range in
// the series, zeros where nothing happened; the CSV export; validation and permission.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../lib/context.js';
import { applyServiceLevels } from '../../lib/sla/clock.js';
import { setClock } from '../../lib/time.js';
import { businessCalendarOf, listCalendars } from '../../lib/sla/calendars.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';

let db: TestDatabase;
let org: TestOrg;
const ids = {
  teams: [] as string[],
  customers: [] as string[],
  mailbox: '',
  /** The customer whose policy counts automation replies. */
  automated: '',
  threads: [] as string[],
  shipments: [] as string[],
};

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTENTS = ['booking', 'rate_request', 'tracking', 'documents'] as const;
const SENTIMENTS = ['positive', 'neutral', 'negative'] as const;
const START = Date.parse('2026-10-29T00:00:00Z');
const SPAN = 12 * 86_400_000;
const MIN = 60_000;

beforeAll(async () => {
  db = await testDatabase();
  org = await newOrganization(db.sql);
  const sql = db.sql;
  for (const name of ['Sea exports', 'Air imports'])
    ids.teams.push((await sql<{ id: string }[]>`insert into app.teams (org_id, name) values (${org.id}, ${name}) returning id`)[0]!.id);
  for (const name of ['Karthik Traders', 'Ganesh Exim', 'Himalaya Carpets'])
    ids.customers.push((await sql<{ id: string }[]>`insert into app.customers (org_id, name) values (${org.id}, ${name}) returning id`)[0]!.id);
  ids.automated = ids.customers[0]!;
  ids.mailbox = (
    await sql<{ id: string }[]>`
      insert into app.channels (org_id, kind, name, address, sending_domain_status)
      values (${org.id}, 'email', 'Ops mailbox', ${`ops@${org.domain}`}, 'verified') returning id`
  )[0]!.id;
  // A policy for one customer that counts automation acknowledgements as responses.
  const targets = { normal: { firstResponse: { minutes: 60, business: true }, resolution: { minutes: 1440, business: false } } };
  const created = await org.json('POST', '/api/sla-policies', {
    as: 'admin',
    body: { name: 'Acknowledged', targets, conditions: { customerIds: [ids.automated] }, automationRepliesCount: true },
  });
  expect(created.status).toBe(201);

  const rnd = prng(23);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const members = [org.users.agent.id, org.users.manager.id];
  const messages: Record<string, unknown>[] = [];
  for (let i = 0; i < 60; i++) {
    const channel = pick(['email', 'email', 'whatsapp', 'sms'] as const);
    const [thread] = await sql<{ id: string }[]>`
      insert into app.threads (org_id, subject, channel, channel_id, customer_id, team_id, assignee_id)
      values (${org.id}, ${`Shipment ${i}`}, ${channel}, ${channel === 'email' && rnd() < 0.6 ? ids.mailbox : null},
              ${rnd() < 0.85 ? pick(ids.customers) : null}, ${rnd() < 0.8 ? pick(ids.teams) : null}, ${rnd() < 0.6 ? pick(members) : null})
      returning id, channel_id`;
    ids.threads.push(thread!.id);
    // Times at any second, many near the zones' midnights (18:15 UTC in Kathmandu, 04:00/05:00 in New York).
    let at = START + Math.floor(rnd() * SPAN);
    if (rnd() < 0.3)
      at = Math.floor(at / 86_400_000) * 86_400_000 + pick([18 * 60 + 14, 18 * 60 + 15, 18 * 60 + 16, 4 * 60, 5 * 60 - 1]) * MIN + Math.floor(rnd() * 59_000);
    const n = 2 + Math.floor(rnd() * 7);
    for (let k = 0; k < n; k++) {
      const roll = k === 0 ? 0 : rnd();
      const kind = roll < 0.45 ? 'customer' : roll < 0.75 ? 'member' : roll < 0.85 ? 'automation' : roll < 0.9 ? 'autoReply' : roll < 0.95 ? 'draft' : 'failed';
      const inbound = kind === 'customer' || kind === 'autoReply';
      messages.push({
        org_id: org.id,
        thread_id: thread!.id,
        channel,
        channel_id: channel === 'email' ? ids.mailbox : null,
        direction: inbound ? 'inbound' : 'outbound',
        status: inbound ? 'received' : kind === 'draft' ? 'draft' : kind === 'failed' ? 'failed' : 'sent',
        is_auto_reply: kind === 'autoReply',
        author_id: kind === 'member' || kind === 'draft' || kind === 'failed' ? pick(members) : null,
        occurred_at: new Date(at).toISOString(),
        snippet: kind,
        // Half the customer messages arrive analysed (an import); the rest are analysed afterwards.
        ...(inbound && rnd() < 0.5
          ? {
              intent: pick(INTENTS),
              sentiment: pick(SENTIMENTS),
              sentiment_score: Math.round(rnd() * 200 - 100) / 100,
              analyzed_at: new Date(at).toISOString(),
            }
          : { intent: null, sentiment: null, sentiment_score: null, analyzed_at: null }),
      });
      at += Math.floor(rnd() * 20 * 60 * MIN) + 1000;
    }
  }
  await sql`insert into app.messages ${sql(messages as never, 'org_id', 'thread_id', 'channel', 'channel_id', 'direction', 'status', 'is_auto_reply', 'author_id', 'occurred_at', 'snippet', 'intent', 'sentiment', 'sentiment_score', 'analyzed_at')}`;
  // The analysis job's updates: the rest of the customer messages, then a second opinion on some.
  await sql`
    update app.messages set intent = 'tracking', sentiment = 'negative', sentiment_score = -0.5, analyzed_at = now()
    where org_id = ${org.id} and direction = 'inbound' and analyzed_at is null`;
  await sql`
    update app.messages set intent = 'rate_request', sentiment = 'positive', sentiment_score = 0.25
    where org_id = ${org.id} and direction = 'inbound' and snippet = 'customer' and arrival % 3 = 0`;
  // Shipments the messages name: links made, some rejected by a member, a linked draft then sent.
  for (const [i, ref] of ['SHP-A', 'SHP-B', 'SHP-C', 'SHP-D'].entries())
    ids.shipments.push(
      (
        await sql<{ id: string }[]>`
          insert into app.shipments (org_id, reference, mode, customer_id) values (${org.id}, ${ref}, 'sea_fcl', ${ids.customers[i % 3]!}) returning id`
      )[0]!.id,
    );
  await sql`
    insert into app.message_shipments (org_id, message_id, shipment_id)
    select m.org_id, m.id, (${ids.shipments}::uuid[])[1 + (m.arrival % 7) % 4]
    from app.messages m where m.org_id = ${org.id} and m.arrival % 7 < 5`;
  await sql`
    update app.message_shipments l set link_source = 'rejected' from app.messages m
    where m.id = l.message_id and m.org_id = ${org.id} and m.arrival % 11 = 0`;
  await sql`
    update app.messages set status = 'sent' where id in (
      select m.id from app.messages m join app.message_shipments l on l.message_id = m.id and l.link_source <> 'rejected'
      where m.org_id = ${org.id} and m.status = 'draft' limit 2)`;
  // The messages went in under the API's feet: record the responses as the writing path does.
  await asSystem(org.id, `test:${randomUUID()}`, [], (ctx) => applyServiceLevels(ctx, ids.threads));
  // SLA outcomes as resolutions record them.
  const outcomes = ids.threads.flatMap((thread) =>
    (['firstResponse', 'resolution'] as const).map((target) => ({
      org_id: org.id,
      thread_id: thread,
      target,
      priority: 'normal',
      business: target === 'firstResponse',
      target_minutes: 60,
      elapsed_ms: Math.floor(rnd() * 120 * MIN),
      met: rnd() < 0.7,
      started_at: new Date(START).toISOString(),
      at: new Date(START + Math.floor(rnd() * SPAN)).toISOString(),
    })),
  );
  await sql`insert into app.sla_outcomes ${sql(outcomes as never, 'org_id', 'thread_id', 'target', 'priority', 'business', 'target_minutes', 'elapsed_ms', 'met', 'started_at', 'at')}`;
});
afterAll(() => db.close());

interface Case {
  tz: string;
  from: string;
  to: string;
  groupBy: 'day' | 'hour';
  filters?: { channel?: string; team?: number; customer?: number; mailbox?: boolean };
}

const CASES: Case[] = [
  { tz: 'Asia/Kathmandu', from: '2026-10-30', to: '2026-11-07', groupBy: 'day' },
  { tz: 'America/New_York', from: '2026-10-30', to: '2026-11-07', groupBy: 'day' },
  { tz: 'Asia/Kathmandu', from: '2026-10-31T18:15:00Z', to: '2026-11-03T12:30', groupBy: 'hour' },
  { tz: 'America/New_York', from: '2026-10-31', to: '2026-11-02', groupBy: 'hour', filters: { channel: 'email' } },
  { tz: 'Asia/Kathmandu', from: '2026-10-29', to: '2026-11-09', groupBy: 'day', filters: { team: 0, customer: 1 } },
  { tz: 'America/New_York', from: '2026-10-29', to: '2026-11-09', groupBy: 'day', filters: { mailbox: true } },
  { tz: 'Asia/Kolkata', from: '2026-10-30', to: '2026-11-06', groupBy: 'hour' },
  { tz: 'Asia/Kathmandu', from: '2026-10-28', to: '2026-11-12', groupBy: 'hour', filters: { team: 1 } },
  { tz: 'UTC', from: '2026-10-27', to: '2026-11-12', groupBy: 'day', filters: { channel: 'whatsapp' } },
];

function queryOf(c: Case): string {
  const q = new URLSearchParams({ from: c.from, to: c.to, tz: c.tz, groupBy: c.groupBy });
  if (c.filters?.channel) q.set('channel', c.filters.channel);
  if (c.filters?.team !== undefined) q.set('team', ids.teams[c.filters.team]!);
  if (c.filters?.customer !== undefined) q.set('customer', ids.customers[c.filters.customer]!);
  if (c.filters?.mailbox) q.set('mailbox', ids.mailbox);
  return q.toString();
}

/** The case's range as instants, read the plain way: a date is its midnight in the zone, a local time is in the zone. */
async function bounds(c: Case): Promise<{ start: Date; end: Date }> {
  const at = (v: string, end: boolean) =>
    /^\d{4}-\d{2}-\d{2}$/.test(v)
      ? db.sql`select ((${v}::date + ${end ? 1 : 0}::int)::timestamp at time zone ${c.tz}) as t`
      : /Z|[+-]\d\d:\d\d$/.test(v)
        ? db.sql`select ${v}::timestamptz as t`
        : db.sql`select (${v}::timestamp at time zone ${c.tz}) as t`;
  const [[s], [e]] = await Promise.all([at(c.from, false), at(c.to, true)]);
  // A local date-time as `to` is its instant (excluded), not the day after.
  const end = /^\d{4}-\d{2}-\d{2}$/.test(c.to) ? e!.t : (await at(c.to, false))[0]!.t;
  return { start: s!.t as Date, end: end as Date };
}

/** The case's filters on app.threads t (the data set never changes a thread's attributes after its messages). */
function threadFilters(c: Case) {
  const sql = db.sql;
  const f = c.filters ?? {};
  return sql`${f.channel ? sql`and t.channel = ${f.channel}` : sql``}
    ${f.team !== undefined ? sql`and t.team_id = ${ids.teams[f.team]!}` : sql``}
    ${f.customer !== undefined ? sql`and t.customer_id = ${ids.customers[f.customer]!}` : sql``}
    ${f.mailbox ? sql`and t.channel_id = ${ids.mailbox}` : sql``}`;
}

/** The same on messages m joined to their threads t, where the mailbox is the message's own (it went through it). */
function messageFilters(c: Case) {
  const f = c.filters ?? {};
  return db.sql`${threadFilters({ ...c, filters: { ...f, mailbox: false } })} ${f.mailbox ? db.sql`and m.channel_id = ${ids.mailbox}` : db.sql``}`;
}

const fmt = (c: Case) => (c.groupBy === 'hour' ? 'YYYY-MM-DD"T"HH24:00' : 'YYYY-MM-DD');

/** Every local period of the case's range, in order: the labels of its quarter hours. */
async function periodsOf(c: Case): Promise<string[]> {
  const { start, end } = await bounds(c);
  const rows = await db.sql<{ period: string }[]>`
    select distinct to_char(g at time zone ${c.tz}, ${fmt(c)}) as period
    from generate_series(${start}::timestamptz, ${end}::timestamptz - interval '15 minutes', interval '15 minutes') g order by 1`;
  return rows.map((r) => r.period);
}

/** Volume straight from the messages: every one that is not a draft, in its local period; every period and channel, zeros where none. */
async function expectedVolume(c: Case) {
  const { start, end } = await bounds(c);
  const channels = c.filters?.channel ? [c.filters.channel] : ['email', 'sms', 'voice', 'whatsapp'];
  // The rollups carry the mailbox of the message; the thread's filters otherwise.
  return db.sql<{ period: string; channel: string; inbound: number; outbound: number }[]>`
    with counted as (
      select to_char(m.occurred_at at time zone ${c.tz}, ${fmt(c)}) as period, m.channel,
        count(*) filter (where m.direction = 'inbound')::int as inbound, count(*) filter (where m.direction = 'outbound')::int as outbound
      from app.messages m join app.threads t on t.id = m.thread_id
      where m.org_id = ${org.id} and m.status <> 'draft' and m.occurred_at >= ${start} and m.occurred_at < ${end}
        ${messageFilters(c)}
      group by 1, 2)
    select p.period, ch.channel, coalesce(x.inbound, 0) as inbound, coalesce(x.outbound, 0) as outbound
    from unnest(${await periodsOf(c)}::text[]) as p (period) cross join unnest(${channels}::text[]) as ch (channel)
    left join counted x on x.period = p.period and x.channel = ch.channel
    order by 1, 2`;
}

/**
 * Responses straight from the messages: each reply that counts (a member's; an automation's on the
 * threads whose policy counts them) and answered a customer message, with the first customer message
 * since the previous counted reply; the thread's first such reply is its first response.
 */
function responsesSql() {
  return db.sql`
    with ev as (
      select m.id, m.thread_id, m.occurred_at, m.arrival, m.author_id, t.channel, t.channel_id, t.team_id, t.customer_id,
        case when m.direction = 'inbound' then 0 when m.author_id is not null then 1 else 2 end as mark,
        coalesce(t.customer_id = ${ids.automated}, false) as automation_counts
      from app.messages m join app.threads t on t.id = m.thread_id
      where m.org_id = ${org.id} and not m.is_auto_reply and not m.is_bounce
        and (m.direction = 'inbound' or m.status not in ('draft', 'failed', 'bounced'))
    ), counted as (
      select *, (mark = 1 or (mark = 2 and automation_counts)) as reply from ev
    ), grouped as (
      select *, count(*) filter (where reply) over (partition by thread_id order by occurred_at, arrival) - reply::int as grp from counted
    ), answers as (
      select r.id, r.thread_id, r.author_id, r.occurred_at as at, r.arrival, min(q.occurred_at) as since, r.channel, r.channel_id, r.team_id, r.customer_id
      from grouped r join grouped q on q.thread_id = r.thread_id and q.mark = 0 and q.grp = r.grp
      where r.reply group by r.id, r.thread_id, r.author_id, r.occurred_at, r.arrival, r.channel, r.channel_id, r.team_id, r.customer_id
    )
    select a.*, row_number() over (partition by a.thread_id order by a.at, a.arrival) = 1 as first,
      floor(extract(epoch from a.at - a.since) * 1000)::float8 as wall_ms
    from answers a`;
}

async function expectedResponses(c: Case) {
  const { start, end } = await bounds(c);
  const sql = db.sql;
  return sql<{ period: string; fn: number; fm: number | null; fp: number | null; an: number; am: number | null; ap: number | null }[]>`
    select to_char(t.at at time zone ${c.tz}, ${fmt(c)}) as period,
      count(*) filter (where t.first)::int as fn,
      round(percentile_cont(0.5) within group (order by t.wall_ms) filter (where t.first))::float8 as fm,
      round(percentile_cont(0.9) within group (order by t.wall_ms) filter (where t.first))::float8 as fp,
      count(*)::int as an,
      round(percentile_cont(0.5) within group (order by t.wall_ms))::float8 as am,
      round(percentile_cont(0.9) within group (order by t.wall_ms))::float8 as ap
    from (${responsesSql()}) t
    where t.at >= ${start} and t.at < ${end} ${threadFilters(c)}
    group by grouping sets ((1), ()) order by 1 nulls first`;
}

/** Business-time percentiles straight from the fact rows (app.message_responses), overall (period null) and by period. */
async function expectedBusiness(c: Case) {
  const { start, end } = await bounds(c);
  const sql = db.sql;
  return sql<{ period: string | null; fn: number; fm: number | null; fp: number | null; an: number; am: number | null; ap: number | null }[]>`
    select to_char(t.at at time zone ${c.tz}, ${fmt(c)}) as period,
      count(t.business_ms) filter (where t.first)::int as fn,
      round(percentile_cont(0.5) within group (order by t.business_ms) filter (where t.first))::float8 as fm,
      round(percentile_cont(0.9) within group (order by t.business_ms) filter (where t.first))::float8 as fp,
      count(t.business_ms)::int as an,
      round(percentile_cont(0.5) within group (order by t.business_ms))::float8 as am,
      round(percentile_cont(0.9) within group (order by t.business_ms))::float8 as ap
    from app.message_responses t
    where t.org_id = ${org.id} and t.at >= ${start} and t.at < ${end} ${threadFilters(c)}
    group by grouping sets ((1), ()) order by 1 nulls first`;
}

async function expectedSla(c: Case) {
  const { start, end } = await bounds(c);
  return db.sql<{ target: string; total: number; met: number; missed: number; medianMs: number | null; p90Ms: number | null }[]>`
    select o.target, count(*)::int as total, count(*) filter (where o.met)::int as met, count(*) filter (where not o.met)::int as missed,
      round(percentile_cont(0.5) within group (order by o.elapsed_ms))::float8 as median_ms,
      round(percentile_cont(0.9) within group (order by o.elapsed_ms))::float8 as p90_ms
    from app.sla_outcomes o join app.threads t on t.id = o.thread_id
    where o.org_id = ${org.id} and o.at >= ${start} and o.at < ${end} ${threadFilters(c)}
    group by o.target order by o.target`;
}

describe.each(CASES)('analytics in $tz from $from to $to by $groupBy $filters', (c) => {
  it('volume: messages by channel and local period, as the raw messages count them', async () => {
    const res = await org.json('GET', `/api/analytics/volume?${queryOf(c)}`, { as: 'manager' });
    expect(res.status).toBe(200);
    const expected = await expectedVolume(c);
    expect(expected.some((r) => r.inbound + r.outbound > 0)).toBe(true);
    expect(res.body.series).toEqual(expected.map((r) => ({ ...r })));
    expect(res.body.totals.inbound).toBe(expected.reduce((n, r) => n + r.inbound, 0));
    expect(res.body.totals.outbound).toBe(expected.reduce((n, r) => n + r.outbound, 0));
  });

  it('response times: first and every response, median and p90, overall and by period', async () => {
    const res = await org.json('GET', `/api/analytics/response-times?${queryOf(c)}`, { as: 'manager' });
    expect(res.status).toBe(200);
    const [total, ...periods] = await expectedResponses(c);
    expect(total!.an).toBeGreaterThan(0);
    const pick = (s: any) => [s.count, s.wall.medianMs, s.wall.p90Ms];
    expect(pick(res.body.firstResponse)).toEqual([total!.fn, total!.fm, total!.fp]);
    expect(pick(res.body.responses)).toEqual([total!.an, total!.am, total!.ap]);
    // Every period of the range: a period without responses has count 0 and null times.
    const byPeriod = new Map(periods.map((p) => [p.period, p]));
    expect(res.body.series.map((p: any) => [p.period, ...pick(p.first), ...pick(p.all)])).toEqual(
      (await periodsOf(c)).map((period) => {
        const p = byPeriod.get(period);
        return [period, p?.fn ?? 0, p?.fm ?? null, p?.fp ?? null, p?.an ?? 0, p?.am ?? null, p?.ap ?? null];
      }),
    );
    expect(res.body.series.filter((p: any) => p.all.count === 0).every((p: any) => p.all.business === null)).toBe(true);
    // The organization keeps a business calendar: every response also has its business time, whose
    // percentiles are those of the fact rows, overall and in every period that has responses.
    expect(res.body.responses.business.count).toBe(total!.an);
    const [business, ...businessPeriods] = await expectedBusiness(c);
    const pickBusiness = (s: any) => [s.count, s.business?.medianMs ?? null, s.business?.p90Ms ?? null];
    expect([...pickBusiness(res.body.firstResponse), ...pickBusiness(res.body.responses)]).toEqual([
      business!.fn,
      business!.fm,
      business!.fp,
      business!.an,
      business!.am,
      business!.ap,
    ]);
    const businessBy = new Map(businessPeriods.map((p) => [p.period, p]));
    for (const p of res.body.series.filter((x: any) => x.all.count > 0)) {
      const e = businessBy.get(p.period)!;
      expect([p.period, ...pickBusiness(p.first).slice(1), ...pickBusiness(p.all).slice(1)]).toEqual([p.period, e.fm, e.fp, e.am, e.ap]);
    }
  });

  it('SLA: met and missed per target with median and p90', async () => {
    const res = await org.json('GET', `/api/analytics/sla?${queryOf(c)}`, { as: 'manager' });
    expect(res.status).toBe(200);
    const expected = await expectedSla(c);
    const got = [...res.body.targets].sort((a: any, b: any) => a.target.localeCompare(b.target));
    expect(got.map(({ compliance: _, ...t }: any) => t)).toEqual(expected.map((r) => ({ ...r })));
    for (const t of got) expect(t.compliance).toBeCloseTo(t.met / t.total, 4);
    // By period: every period with every target, zeros where none; they add up to the targets.
    const periods = await periodsOf(c);
    expect(res.body.series.map((s: any) => `${s.period} ${s.target}`)).toEqual(
      periods.flatMap((p) => ['firstResponse', 'nextResponse', 'resolution'].map((t) => `${p} ${t}`)),
    );
    for (const t of got) {
      const of = res.body.series.filter((s: any) => s.target === t.target);
      expect([of.reduce((n: number, s: any) => n + s.met, 0), of.reduce((n: number, s: any) => n + s.missed, 0)]).toEqual([t.met, t.missed]);
    }
  });

  it('agents: sent messages, responses and open assignments per member', async () => {
    const res = await org.json('GET', `/api/analytics/agents?${queryOf(c)}`, { as: 'manager' });
    expect(res.status).toBe(200);
    const { start, end } = await bounds(c);
    const sql = db.sql;
    const expected = await sql<{ userId: string; sent: number; openAssigned: number; fn: number; an: number; am: number | null; ap: number | null }[]>`
      with sent as (
        select m.author_id as user_id, count(*)::int as sent from app.messages m join app.threads t on t.id = m.thread_id
        where m.org_id = ${org.id} and m.direction = 'outbound' and m.status <> 'draft' and m.author_id is not null
          and m.occurred_at >= ${start} and m.occurred_at < ${end} ${messageFilters(c)}
        group by 1
      ), answered as (
        select t.author_id as user_id, count(*) filter (where t.first)::int as fn, count(*)::int as an,
          round(percentile_cont(0.5) within group (order by t.wall_ms))::float8 as am,
          round(percentile_cont(0.9) within group (order by t.wall_ms))::float8 as ap
        from (${responsesSql()}) t where t.at >= ${start} and t.at < ${end} and t.author_id is not null ${threadFilters(c)}
        group by 1
      ), assigned as (
        select t.assignee_id as user_id, count(*)::int as n from app.threads t
        where t.org_id = ${org.id} and t.status = 'open' and t.assignee_id is not null ${threadFilters(c)} group by 1
      )
      select u.user_id, coalesce(s.sent, 0) as sent, coalesce(g.n, 0) as open_assigned, coalesce(a.fn, 0) as fn, coalesce(a.an, 0) as an, a.am, a.ap
      from (select user_id from sent union select user_id from answered union select user_id from assigned) u
      left join sent s on s.user_id = u.user_id left join answered a on a.user_id = u.user_id left join assigned g on g.user_id = u.user_id
      order by u.user_id`;
    expect(expected.length).toBeGreaterThan(0);
    const got = [...res.body.members].sort((a: any, b: any) => a.userId.localeCompare(b.userId));
    expect(
      got.map((m: any) => ({
        userId: m.userId,
        sent: m.sent,
        openAssigned: m.openAssigned,
        fn: m.firstResponse.count,
        an: m.responses.count,
        am: m.responses.wall.medianMs,
        ap: m.responses.wall.p90Ms,
      })),
    ).toEqual(expected.map((r) => ({ ...r })));
  });

  it('customers: the busiest by messages, with their response times', async () => {
    const res = await org.json('GET', `/api/analytics/customers?${queryOf(c)}`, { as: 'manager' });
    expect(res.status).toBe(200);
    const { start, end } = await bounds(c);
    const expected = await db.sql<{ customerId: string; inbound: number; outbound: number; responses: number; medianMs: number | null }[]>`
      with traffic as (
        select t.customer_id, count(*) filter (where m.direction = 'inbound')::int as inbound, count(*) filter (where m.direction = 'outbound')::int as outbound
        from app.messages m join app.threads t on t.id = m.thread_id
        where m.org_id = ${org.id} and m.status <> 'draft' and t.customer_id is not null and m.occurred_at >= ${start} and m.occurred_at < ${end}
          ${messageFilters(c)}
        group by 1
      ), answered as (
        select t.customer_id, count(*)::int as responses, round(percentile_cont(0.5) within group (order by t.wall_ms))::float8 as median_ms
        from (${responsesSql()}) t where t.at >= ${start} and t.at < ${end} ${threadFilters(c)} group by 1
      )
      select x.customer_id, x.inbound, x.outbound, coalesce(a.responses, 0) as responses, a.median_ms
      from traffic x left join answered a on a.customer_id = x.customer_id
      order by x.inbound + x.outbound desc, x.customer_id`;
    expect(expected.length).toBeGreaterThan(0);
    expect(res.body.customers.map(({ name: _, p90Ms: __, ...x }: any) => x)).toEqual(expected.map((r) => ({ ...r })));
    // The shipments with most traffic: the messages linked to each, a rejected link not counted.
    const shipments = await db.sql<{ shipmentId: string; reference: string; inbound: number; outbound: number }[]>`
      select l.shipment_id, s.reference, count(*) filter (where m.direction = 'inbound')::int as inbound,
        count(*) filter (where m.direction = 'outbound')::int as outbound
      from app.message_shipments l join app.messages m on m.id = l.message_id join app.threads t on t.id = m.thread_id
      join app.shipments s on s.id = l.shipment_id
      where m.org_id = ${org.id} and l.link_source <> 'rejected' and m.status <> 'draft' and m.occurred_at >= ${start} and m.occurred_at < ${end}
        ${messageFilters(c)}
      group by 1, 2 order by count(*) desc, 1`;
    expect(shipments.length).toBeGreaterThan(0);
    expect(res.body.shipments.map(({ customerId: _, status: __, ...x }: any) => x)).toEqual(shipments.map((r) => ({ ...r })));
  });

  it('intents: the intent mix and sentiment trend of the analysed messages', async () => {
    const res = await org.json('GET', `/api/analytics/intents?${queryOf(c)}`, { as: 'manager' });
    expect(res.status).toBe(200);
    const { start, end } = await bounds(c);
    const where = db.sql`m.org_id = ${org.id} and m.analyzed_at is not null and m.occurred_at >= ${start} and m.occurred_at < ${end}
      ${messageFilters(c)}`;
    const mix = await db.sql<{ intent: string; messages: number }[]>`
      select m.intent, count(*)::int as messages from app.messages m join app.threads t on t.id = m.thread_id where ${where}
      group by 1 order by 2 desc, 1 nulls last`;
    const trend = await db.sql<{ period: string; positive: number; neutral: number; negative: number; averageScore: number | null }[]>`
      select to_char(m.occurred_at at time zone ${c.tz}, ${fmt(c)}) as period,
        count(*) filter (where m.sentiment = 'positive')::int as positive, count(*) filter (where m.sentiment = 'neutral')::int as neutral,
        count(*) filter (where m.sentiment = 'negative')::int as negative, round(avg(m.sentiment_score)::numeric, 4)::float8 as average_score
      from app.messages m join app.threads t on t.id = m.thread_id where ${where}
      group by 1 order by 1`;
    expect(mix.length).toBeGreaterThan(0);
    expect(res.body.intents).toEqual(mix.map((r) => ({ ...r })));
    // Every period of the range, zeros and a null average where no analysed message fell.
    const byPeriod = new Map(trend.map((t) => [t.period, t]));
    const full = (await periodsOf(c)).map((period) => byPeriod.get(period) ?? { period, positive: 0, neutral: 0, negative: 0, averageScore: null });
    // Scores are float4: the rollup's sum and the plain average may differ in the fourth decimal.
    const counts = (rows: any[]) => rows.map(({ averageScore: _, ...x }) => x);
    expect(counts(res.body.sentiment)).toEqual(counts(full));
    full.forEach((t, i) =>
      t.averageScore === null
        ? expect(res.body.sentiment[i].averageScore).toBeNull()
        : expect(res.body.sentiment[i].averageScore).toBeCloseTo(t.averageScore, 3),
    );
  });

  it('overview: totals, first response, SLA compliance and backlog agree with the raw rows', async () => {
    const res = await org.json('GET', `/api/analytics/overview?${queryOf(c)}`, { as: 'manager' });
    expect(res.status).toBe(200);
    const volume = await expectedVolume(c);
    expect(res.body.messages).toEqual({
      inbound: volume.reduce((n, r) => n + r.inbound, 0),
      outbound: volume.reduce((n, r) => n + r.outbound, 0),
    });
    const [total] = await expectedResponses(c);
    expect(res.body.firstResponse.count).toBe(total!.fn);
    const sla = await expectedSla(c);
    expect(res.body.sla.total).toBe(sla.reduce((n, r) => n + r.total, 0));
    expect(res.body.sla.met).toBe(sla.reduce((n, r) => n + r.met, 0));
    const [backlog] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from app.threads t where t.org_id = ${org.id} and t.status = 'open' ${threadFilters(c)}`;
    expect(res.body.backlog.find((b: any) => b.status === 'open').total).toBe(backlog!.n);
  });
});

describe('analytics', () => {
  it('measures business time on the calendar of the thread’s policy', async () => {
    const calendar = await asSystem(org.id, `test:${randomUUID()}`, [], async (ctx) => businessCalendarOf((await listCalendars(ctx)).data[0]!));
    const rows = await db.sql<{ since: Date; at: Date; businessMs: number }[]>`
      select since, at, business_ms::float8 as business_ms from app.message_responses where org_id = ${org.id} limit 20`;
    expect(rows.length).toBe(20);
    for (const r of rows) expect(r.businessMs).toBe(Math.round(calendar.msBetween(r.since.getTime(), r.at.getTime())));
  });

  it('counts a draft once it is sent, and an analysis once stored, moving it on a new analysis', async () => {
    const other = await newOrganization(db.sql);
    const sql = db.sql;
    const [t] = await sql<{ id: string }[]>`insert into app.threads (org_id, subject, channel) values (${other.id}, 'Draft', 'email') returning id`;
    const [m] = await sql<{ id: string }[]>`
      insert into app.messages (org_id, thread_id, channel, direction, status, occurred_at)
      values (${other.id}, ${t!.id}, 'email', 'outbound', 'draft', '2026-11-02T10:07:00Z'),
             (${other.id}, ${t!.id}, 'email', 'inbound', 'received', '2026-11-02T10:20:00Z')
      returning id`;
    const counts = () => sql<{ bucket: Date; direction: string; n: number }[]>`
      select bucket, direction, sum(messages)::int as n from app.message_rollups where org_id = ${other.id} and level = 0 group by 1, 2 order by 1, 2`;
    expect(await counts()).toEqual([{ bucket: new Date('2026-11-02T10:15:00Z'), direction: 'inbound', n: 1 }]);
    await sql`update app.messages set status = 'queued' where id = ${m!.id}`;
    await sql`update app.messages set status = 'sent' where id = ${m!.id}`;
    expect(await counts()).toEqual([
      { bucket: new Date('2026-11-02T10:00:00Z'), direction: 'outbound', n: 1 },
      { bucket: new Date('2026-11-02T10:15:00Z'), direction: 'inbound', n: 1 },
    ]);
    // The traffic (the same counts without the author) at every level.
    const traffic = await sql<{ level: number; bucket: Date; direction: string; n: number }[]>`
      select level, bucket, direction, sum(messages)::int as n from app.message_traffic where org_id = ${other.id}
      group by 1, 2, 3 having sum(messages) <> 0 order by 1, 2, 3`;
    const day = new Date('2026-11-02T00:00:00Z');
    const hour = new Date('2026-11-02T10:00:00Z');
    expect(traffic.map((x) => [x.level, x.bucket, x.direction, x.n])).toEqual([
      [0, hour, 'outbound', 1],
      [0, new Date('2026-11-02T10:15:00Z'), 'inbound', 1],
      [1, hour, 'inbound', 1],
      [1, hour, 'outbound', 1],
      [2, day, 'inbound', 1],
      [2, day, 'outbound', 1],
    ]);
    const mix = () => sql<{ intent: string; n: number }[]>`
      select intent, sum(messages)::int as n from app.message_analysis_rollups where org_id = ${other.id} and level = 0
      group by 1 having sum(messages) <> 0 order by 1`;
    expect(await mix()).toEqual([]);
    await sql`update app.messages set intent = 'booking', sentiment = 'neutral', analyzed_at = now() where org_id = ${other.id} and direction = 'inbound'`;
    expect(await mix()).toEqual([{ intent: 'booking', n: 1 }]);
    await sql`update app.messages set intent = 'tracking' where org_id = ${other.id} and direction = 'inbound'`;
    expect(await mix()).toEqual([{ intent: 'tracking', n: 1 }]);
    // The organization's totals moved with it, at every level.
    const totals = await sql<{ level: number; value: string; n: number }[]>`
      select level, value, sum(messages)::int as n from app.message_analysis_totals where org_id = ${other.id} and facet = 'intent'
      group by 1, 2 having sum(messages) <> 0 order by 1, 2`;
    expect(totals).toEqual([0, 1, 2].map((level) => ({ level, value: 'tracking', n: 1 })));
  });

  it('keeps every rollup’s hours and days equal to the sum of their quarter hours', async () => {
    const sql = db.sql;
    const tables = {
      'app.message_rollups': ['channel', 'direction', 'channel_id', 'team_id', 'customer_id', 'author_id'],
      'app.message_traffic': ['channel', 'direction', 'channel_id', 'team_id', 'customer_id'],
      'app.message_analysis_rollups': ['channel', 'channel_id', 'team_id', 'customer_id', 'intent', 'sentiment'],
      'app.shipment_rollups': ['shipment_id', 'channel', 'direction', 'channel_id', 'team_id', 'customer_id'],
    };
    for (const [table, dims] of Object.entries(tables)) {
      const values =
        table === 'app.message_analysis_rollups' ? 'sum(messages)::int, sum(scored)::int, round(sum(score_sum)::numeric, 6)' : 'sum(messages)::int';
      for (const level of [1, 2]) {
        // Both sides summed over slots, rows netting to nothing left out: the level's rows are the quarter hours', regrouped.
        const of = (where: string, bucket: string) =>
          sql.unsafe(
            `select ${bucket} as bucket, ${dims.join(', ')}, ${values} from ${table} where org_id = $1 and ${where}
            group by 1, ${dims.join(', ')} having sum(messages) <> 0 order by 1, ${dims.map((d) => `${d} nulls first`).join(', ')}`,
            [org.id],
          );
        const quarters = await of('level = 0', `app.rollup_bucket(bucket, ${level}::int2)`);
        expect(quarters.length).toBeGreaterThan(0);
        expect(await of(`level = ${level}`, 'bucket')).toEqual(quarters);
      }
    }
  });

  it('keeps the traffic and the authors’ totals equal to the message quarter hours they total, at every level', async () => {
    const sql = db.sql;
    const dims = 'channel, direction, channel_id, team_id, customer_id';
    for (const level of [0, 1, 2]) {
      const of = (table: string, bucket: string, where: string) =>
        sql.unsafe(
          `select ${bucket} as bucket, ${dims}, sum(messages)::int as n from ${table} where org_id = $1 and ${where}
          group by 1, ${dims} having sum(messages) <> 0 order by 1, ${dims.replaceAll(',', ' nulls first,')} nulls first`,
          [org.id],
        );
      const quarters = await of('app.message_rollups', `app.rollup_bucket(bucket, ${level}::int2)`, 'level = 0');
      expect(quarters.length).toBeGreaterThan(0);
      expect(await of('app.message_traffic', 'bucket', `level = ${level}`)).toEqual(quarters);
      // Each author's outbound messages, without the other dimensions.
      const authors = (table: string, bucket: string, where: string) =>
        sql.unsafe(
          `select ${bucket} as bucket, author_id, sum(messages)::int as n from ${table} where org_id = $1 and ${where}
          group by 1, 2 having sum(messages) <> 0 order by 1, 2`,
          [org.id],
        );
      const written = await authors(
        'app.message_rollups',
        `app.rollup_bucket(bucket, ${level}::int2)`,
        `level = 0 and direction = 'outbound' and author_id is not null`,
      );
      expect(written.length).toBeGreaterThan(0);
      expect(await authors('app.message_author_totals', 'bucket', `level = ${level}`)).toEqual(written);
    }
  });

  it('keeps the organization’s analysis totals equal to its analysis quarter hours, by intent and by sentiment, at every level', async () => {
    const sql = db.sql;
    for (const level of [0, 1, 2]) {
      for (const facet of ['intent', 'sentiment']) {
        const quarters = await sql.unsafe(
          `select app.rollup_bucket(bucket, $2::int2) as bucket, ${facet} as value, sum(messages)::int as n, sum(scored)::int as scored,
            round(sum(score_sum)::numeric, 6) as score from app.message_analysis_rollups where org_id = $1 and level = 0
          group by 1, 2 having sum(messages) <> 0 order by 1, 2 nulls first`,
          [org.id, level],
        );
        const totals = await sql`
          select bucket, value, sum(messages)::int as n, sum(scored)::int as scored, round(sum(score_sum)::numeric, 6) as score
          from app.message_analysis_totals where org_id = ${org.id} and level = ${level} and facet = ${facet}
          group by 1, 2 having sum(messages) <> 0 order by 1, 2 nulls first`;
        expect(quarters.length).toBeGreaterThan(0);
        expect(totals).toEqual(quarters);
      }
    }
  });

  it('streams CSV for format=csv and for Accept: text/csv', async () => {
    const q = queryOf(CASES[0]!);
    const res = await org.call('GET', `/api/analytics/volume?${q}&format=csv`, { as: 'manager' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="volume-2026-10-29-2026-11-07\.csv"$/);
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).toBe('period,channel,inbound,outbound');
    const json = await org.json('GET', `/api/analytics/volume?${q}`, { as: 'manager' });
    expect(lines.slice(1, -1)).toEqual(json.body.series.map((r: any) => `${r.period},${r.channel},${r.inbound},${r.outbound}`));
    expect(lines.at(-1)).toBe('');
    for (const name of ['overview', 'response-times', 'sla', 'agents', 'customers', 'intents']) {
      const other = await org.call('GET', `/api/analytics/${name}?${q}`, { as: 'manager', headers: { accept: 'text/csv' } });
      expect(other.status).toBe(200);
      expect(other.headers.get('content-type')).toMatch(/^text\/csv/);
      expect((await other.text()).split('\r\n').length).toBeGreaterThan(2);
    }
  });

  it('refuses a bad zone, a range off the quarter hours, an empty or too long range, naming the field', async () => {
    const issue = async (query: string) => {
      const res = await org.json('GET', `/api/analytics/volume?${query}`, { as: 'manager' });
      expect(res.status).toBe(422);
      return res.body.error.details.issues[0].path;
    };
    expect(await issue('from=2026-11-01&to=2026-11-02&tz=Asia/Nowhere')).toBe('query.tz');
    expect(await issue('from=2026-11-01&to=2026-11-02&tz=%2B05:45')).toBe('query.tz');
    expect(await issue('from=2026-11-01T10:07:00Z&to=2026-11-02')).toBe('query.from');
    expect(await issue('from=2026-11-03&to=2026-11-02')).toBe('query.to');
    expect(await issue('from=2026-01-01&to=2026-11-02&groupBy=hour')).toBe('query.to');
    expect(await issue('from=yesterday&to=2026-11-02')).toBe('query.from');
    expect(await issue('from=2026-11-01&to=2026-11-02&channel=fax')).toBe('query.channel');
    expect(await issue('from=2026-11-01&to=2026-11-02&team=sea')).toBe('query.team');
  });

  it('covers the last 30 days, today included, when the query names no range', async () => {
    // 00:30 on 2 December in Kolkata is still 1 December in UTC.
    setClock(new Date('2026-12-01T19:00:00Z'));
    try {
      const labels = async (query: string) => {
        const res = await org.json('GET', `/api/analytics/volume?${query}`, { as: 'manager' });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const periods = [...new Set(res.body.series.map((r: any) => r.period))];
        return [periods.length, periods[0], periods.at(-1)];
      };
      expect(await labels('tz=Asia/Kolkata')).toEqual([30, '2026-11-03', '2026-12-02']);
      expect(await labels('tz=UTC')).toEqual([30, '2026-11-02', '2026-12-01']);
      expect(await labels('tz=UTC&to=2026-11-10')).toEqual([30, '2026-10-12', '2026-11-10']);
      // A `to` instant is excluded: the range ends with the day of the instant before it.
      expect(await labels('tz=UTC&to=2026-11-10T00:00:00Z')).toEqual([30, '2026-10-11', '2026-11-09']);
      expect(await labels('tz=UTC&from=2026-11-25')).toEqual([7, '2026-11-25', '2026-12-01']);
    } finally {
      setClock(undefined);
    }
  });

  it('is for managers and up', async () => {
    const q = 'from=2026-11-01&to=2026-11-02';
    expect((await org.json('GET', `/api/analytics/overview?${q}`, { as: 'agent' })).status).toBe(403);
    expect((await org.json('GET', `/api/analytics/overview?${q}`, { as: 'viewer' })).status).toBe(403);
    expect((await org.json('GET', `/api/analytics/overview?${q}`, { as: 'admin' })).status).toBe(200);
  });
});

describe('the response backfill', () => {
  it('records the responses of threads answered before the table existed, once, through the job in batches', async () => {
    const other = await newOrganization(db.sql);
    const sql = db.sql;
    const at = (minutes: number) => new Date(START + minutes * MIN).toISOString();
    const threads: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [t] = await sql<{ id: string }[]>`
        insert into app.threads (org_id, subject, channel, status) values (${other.id}, ${`Old ${i}`}, 'email', 'resolved') returning id`;
      threads.push(t!.id);
      // Asked, answered 30 minutes later, asked again, answered after an hour (i = 2 never answered).
      const rows = [
        { org_id: other.id, thread_id: t!.id, channel: 'email', direction: 'inbound', status: 'received', author_id: null, occurred_at: at(i) },
        ...(i < 2
          ? [
              {
                org_id: other.id,
                thread_id: t!.id,
                channel: 'email',
                direction: 'outbound',
                status: 'sent',
                author_id: other.users.agent.id,
                occurred_at: at(i + 30),
              },
              { org_id: other.id, thread_id: t!.id, channel: 'email', direction: 'inbound', status: 'received', author_id: null, occurred_at: at(i + 40) },
              {
                org_id: other.id,
                thread_id: t!.id,
                channel: 'email',
                direction: 'outbound',
                status: 'sent',
                author_id: other.users.manager.id,
                occurred_at: at(i + 100),
              },
            ]
          : []),
      ];
      await sql`insert into app.messages ${sql(rows as never, 'org_id', 'thread_id', 'channel', 'direction', 'status', 'author_id', 'occurred_at')}`;
    }
    const recorded = () =>
      sql<{ responder: string; first: boolean; wallMs: number }[]>`
        select responder_id as responder, first, wall_ms::int from app.message_responses where org_id = ${other.id} order by thread_id, at`;
    expect(await recorded()).toEqual([]);

    const { enqueue } = await import('../../lib/jobs/enqueue.js');
    const { jobSpecs } = await import('../../lib/jobs/specs.js');
    const { runJob } = await import('../../lib/jobs/run.js');
    const { RESPONSES_BACKFILL_BATCH } = await import('../../lib/analytics/backfill.js');
    expect(RESPONSES_BACKFILL_BATCH).toBeGreaterThan(1);
    const first = await asSystem(other.id, `test:${randomUUID()}`, [], (ctx) => enqueue(ctx, jobSpecs.responsesBackfill, { after: null }));
    expect(await runJob(first)).toBe('done');
    expect(await runJob(first)).toBe('already');
    const expected = [0, 1].flatMap(() => [
      { responder: other.users.agent.id, first: true, wallMs: 30 * MIN },
      { responder: other.users.manager.id, first: false, wallMs: 60 * MIN },
    ]);
    expect(await recorded()).toEqual(expected);
    // A short batch ends it: nothing queued after; a second pass from a cursor adds nothing.
    expect(await sql`select 1 from app.outbox where org_id = ${other.id} and name = 'analytics.responses.backfill' and id <> ${first}`).toHaveLength(0);
    const { responsesBackfillBatch } = await import('../../lib/analytics/backfill.js');
    const pass = await asSystem(other.id, `test:${randomUUID()}`, [], async (ctx) => [
      await responsesBackfillBatch(ctx, null, 1),
      await responsesBackfillBatch(ctx, [...threads].sort()[0]!, 5),
    ]);
    expect(pass).toEqual([
      { added: 0, next: [...threads].sort()[0] },
      { added: 0, next: null },
    ]);
    expect(await recorded()).toEqual(expected);
  });
});

describe('response times over thousands of responses', () => {
  // More responses than the range's percentile search leaves to sort (GATHER in lib/analytics/reports.ts),
  // so it halves the values' span first: a third of them exactly 50 minutes (a median among equal
  // values), the rest spread, some without business time.
  it('are percentile_cont of the fact rows, overall and by period', async () => {
    const bulk = await newOrganization(db.sql);
    const sql = db.sql;
    const [thread] = await sql<{ id: string }[]>`
      insert into app.threads (org_id, subject, channel) values (${bulk.id}, 'Rate requests', 'email') returning id`;
    await sql`
      with m as (
        insert into app.messages (org_id, thread_id, channel, direction, status, occurred_at, snippet)
        select ${bulk.id}, ${thread!.id}, 'email', 'outbound', 'sent', ${new Date(START).toISOString()}::timestamptz + i * interval '97 seconds', i::text
        from generate_series(1, 3000) i
        returning id, occurred_at, snippet::int as i)
      insert into app.message_responses (message_id, org_id, thread_id, automated, first, since, at, wall_ms, business_ms, channel)
      select m.id, ${bulk.id}, ${thread!.id}, false, m.i % 5 = 0, m.occurred_at - interval '1 minute', m.occurred_at, v.wall_ms,
        case when m.i % 7 <> 0 then v.wall_ms * 2 / 5 end, 'email'
      from m cross join lateral (select case when m.i % 3 = 0 then 3000000 else (m.i::bigint * 7919) % 7200000 end as wall_ms) v`;
    // Three weeks later, half the responses take one minute and half two: the median lies between two
    // runs of equal values.
    await sql`
      with m as (
        insert into app.messages (org_id, thread_id, channel, direction, status, occurred_at, snippet)
        select ${bulk.id}, ${thread!.id}, 'email', 'outbound', 'sent', ${new Date(START + 21 * 86_400_000).toISOString()}::timestamptz + i * interval '97 seconds', i::text
        from generate_series(1, 3000) i
        returning id, occurred_at, snippet::int as i)
      insert into app.message_responses (message_id, org_id, thread_id, automated, first, since, at, wall_ms, business_ms, channel)
      select m.id, ${bulk.id}, ${thread!.id}, false, m.i % 5 = 0, m.occurred_at - interval '1 minute', m.occurred_at, w, w * 2 / 5, 'email'
      from m cross join lateral (select (1 + m.i % 2) * 60000 as w) v`;
    for (const c of [
      { tz: 'Asia/Kolkata', from: '2026-10-28', to: '2026-11-02', groupBy: 'day' },
      { tz: 'America/New_York', from: '2026-10-29', to: '2026-10-30', groupBy: 'hour' },
      { tz: 'UTC', from: '2026-11-19', to: '2026-11-23', groupBy: 'day' },
    ] as const) {
      const res = await bulk.json('GET', `/api/analytics/response-times?${new URLSearchParams(c)}`, { as: 'manager' });
      expect(res.status).toBe(200);
      const { start, end } = await bounds(c);
      const expected = await sql<{ period: string | null; stats: number[] }[]>`
        select to_char(t.at at time zone ${c.tz}, ${fmt(c)}) as period, array[
          count(*) filter (where t.first),
          round(percentile_cont(0.5) within group (order by t.wall_ms) filter (where t.first)),
          round(percentile_cont(0.9) within group (order by t.wall_ms) filter (where t.first)),
          round(percentile_cont(0.5) within group (order by t.business_ms) filter (where t.first)),
          round(percentile_cont(0.9) within group (order by t.business_ms) filter (where t.first)),
          count(*),
          round(percentile_cont(0.5) within group (order by t.wall_ms)),
          round(percentile_cont(0.9) within group (order by t.wall_ms)),
          round(percentile_cont(0.5) within group (order by t.business_ms)),
          round(percentile_cont(0.9) within group (order by t.business_ms))]::float8[] as stats
        from app.message_responses t
        where t.org_id = ${bulk.id} and t.at >= ${start} and t.at < ${end}
        group by grouping sets ((1), ()) order by 1 nulls first`;
      const pick = (first: any, all: any) =>
        [first, all].flatMap((s) => [s.count, s.wall.medianMs, s.wall.p90Ms, s.business?.medianMs ?? null, s.business?.p90Ms ?? null]);
      const [total, ...periods] = expected;
      expect(total!.stats[5]).toBeGreaterThan(1024);
      expect(total!.stats[6]).toBe(c.tz === 'UTC' ? 90_000 : 3_000_000);
      expect(pick(res.body.firstResponse, res.body.responses)).toEqual(total!.stats);
      const byPeriod = new Map(res.body.series.map((p: any) => [p.period, pick(p.first, p.all)]));
      for (const p of periods) expect([p.period, byPeriod.get(p.period)]).toEqual([p.period, p.stats]);
    }
  });
});
