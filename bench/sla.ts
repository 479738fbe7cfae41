// npm run bench:sla [-- --threads 100000 --due 1000 --deadlines 300000]
//
// The service-level engine on real PostgreSQL, gated: exits 1 when a target below is missed.
//
//   Data:  a database `banxway_bench_sla` (BENCH_SLA_DATABASE_NAME to name another) on
//          BENCH_DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres), made
//          afresh: migrate() + seed() + 100,000 open threads of the seeded organization with running
//          clocks, 1,000 of them past their first-response warning and due time.
//   Tick:  one run of the sla-check cron (lib/sla/check.ts checkServiceLevels) must flag all 1,000
//          (breached, with a warning and a breach event each, announced, one sla.event job each) and a
//          second tick nothing. Reported: statements per tick (gated: at most STATEMENTS_BUDGET),
//          CPU ms per flagged thread (this process + the database backends, gated), and the EXPLAIN
//          (ANALYZE) of the firing statement, gated on reading threads through threads_sla_check_idx
//          with no sequential scan of threads.
//   Deadlines: business-time arithmetic in process (BusinessCalendar.addMinutes with its per-day
//          cache) over a stated mix, gated at >= 50,000 deadlines per second.
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import type { Sql } from '../lib/db/client.js';
import { closeDb, useDb } from '../lib/db/client.js';
import { migrate } from '../lib/db/migrate.js';
import { SEED_ORG_ID, seed } from '../lib/dev/seed.js';
import { BusinessCalendar, type MinuteInterval } from '../lib/sla/business-time.js';
import { checkServiceLevels, fireDueEvents } from '../lib/sla/check.js';
import { benchDatabaseName, cpuSample, fmt, freshDatabase, gates, postgresCpu, round, table } from './shared.js';

const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '100000' },
    due: { type: 'string', default: '1000' },
    deadlines: { type: 'string', default: '300000' },
  },
});
const THREADS = Number(args.threads);
const DUE = Number(args.due);
const DEADLINES = Number(args.deadlines);

/** Statements one tick may issue for one organization (fire, find organizations, announce with its claims, publish). */
const STATEMENTS_BUDGET = 12;
/** CPU (this process + database) per flagged thread: measured 0.73-0.89 ms on a shared 2-core machine; the worst plus about 70 %. */
const CPU_MS_PER_FLAGGED_BUDGET = 1.5;
const DEADLINES_PER_SECOND_TARGET = 50_000;

const BENCH_DB = benchDatabaseName('BENCH_SLA_DATABASE_NAME', 'banxway_bench_sla');

const log = (line: string) => process.stdout.write(`${line}\n`);
const { failures, gate } = gates();

let statements = 0;

async function database(): Promise<Sql> {
  const url = await freshDatabase(BENCH_DB);
  // The pool the API uses (lib/db/client.ts createPool), counting every statement sent.
  return postgres(url.toString(), {
    max: 4,
    prepare: false,
    onnotice: () => {},
    transform: { ...postgres.camel, undefined: null },
    connection: { application_name: 'banxway-bench-sla' },
    debug: () => {
      statements++;
    },
  }) as unknown as Sql;
}

async function generate(sql: Sql) {
  const [policy] = await sql<{ id: string }[]>`select id from app.sla_policies where org_id = ${SEED_ORG_ID} and is_default`;
  // Open threads with running clocks: DUE of them past their warning and due time, the rest due over
  // the next weeks (their next check ahead, out of the tick's way).
  await sql`
    insert into app.threads (org_id, subject, normalized_subject, status, priority, channel, sla_policy_id,
      first_response_due_at, first_response_warn_at, resolution_due_at, resolution_warn_at, sla_next_check_at, last_activity_at)
    select ${SEED_ORG_ID}, 'SLA bench ' || n, 'sla bench ' || n, 'open', 'normal', 'email', ${policy!.id},
      d.first_due, d.first_due - interval '60 minutes', d.first_due + interval '2 days', d.first_due + interval '1 day',
      d.first_due - interval '60 minutes', now() - interval '1 hour'
    from generate_series(1, ${THREADS}::int) n,
      lateral (select case when n <= ${DUE}::int then now() - interval '2 minutes' - (n % 50) * interval '1 second'
                           else now() + interval '2 hours' + (n % 40000) * interval '1 minute' end as first_due) d`;
  await sql`analyze app.threads`;
}

async function backendPids(sql: Sql): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${BENCH_DB} and application_name = 'banxway-bench-sla'`;
  return rows.map((r) => r.pid);
}

async function tick(sql: Sql) {
  // The EXPLAIN (ANALYZE) of the firing statement, rolled back: the plan the tick will run.
  let plan = '';
  await sql
    .begin(async (tx) => {
      const explained = await (tx as unknown as Sql)<
        Record<string, string>[]
      >`explain (analyze, buffers, costs off, timing off, summary off) ${fireDueEvents(tx as unknown as Sql, new Date())}`;
      plan = explained.map((r) => Object.values(r)[0]).join('\n');
      throw new Error('rollback');
    })
    .catch((e: unknown) => {
      if (!(e instanceof Error && e.message === 'rollback')) throw e;
    });

  // Warm the pool's connections so the CPU of the backends the tick uses is counted.
  await Promise.all(Array.from({ length: 4 }, () => sql`select 1`));
  const pids = await backendPids(sql);
  const before = cpuSample(undefined, pids);
  const n0 = statements;
  const t0 = performance.now();
  const result = await checkServiceLevels();
  const ms = performance.now() - t0;
  const used = statements - n0;
  const after = cpuSample(undefined, pids);
  const db0 = [...(before.db ?? new Map<number, number>()).values()].reduce((a, b) => a + b, 0);
  const db1 = [...(postgresCpu(pids) ?? after.db ?? new Map<number, number>()).values()].reduce((a, b) => a + b, 0);
  const cpuMs = after.self - before.self + (db1 - db0);

  const [state] = await sql<{ breached: number; events: number; announced: number; jobs: number }[]>`
    select (select count(*)::int from app.threads where org_id = ${SEED_ORG_ID} and sla_breached_at is not null) as breached,
      (select count(*)::int from app.sla_events) as events,
      (select count(*)::int from app.sla_events where announced_at is not null) as announced,
      (select count(*)::int from app.outbox where name = 'sla.event') as jobs`;
  const again = await checkServiceLevels();
  return { plan, result, ms, used, cpuMs, state: state!, again };
}

/** The stated mix: same day, across a weekend, a week with holidays; Asia/Kolkata and Europe/Berlin (across its October change). */
function deadlines() {
  const weekdays: MinuteInterval[] = [[570, 1110]];
  const kolkata = new BusinessCalendar({
    timezone: 'Asia/Kolkata',
    weekly: [[], weekdays, weekdays, weekdays, weekdays, weekdays, [[600, 840]], []],
    holidays: ['2026-12-25', '2027-01-01', '2027-01-26'],
  });
  const split: MinuteInterval[] = [
    [480, 720],
    [780, 1020],
  ];
  const berlin = new BusinessCalendar({
    timezone: 'Europe/Berlin',
    weekly: [[], split, split, split, split, split, [], []],
    holidays: ['2026-10-26', '2026-12-24', '2026-12-25', '2026-12-26'],
  });
  const mix: { label: string; calendar: BusinessCalendar; from: number; minutes: number }[] = [
    { label: 'Kolkata, same day (Tue 10:00 + 2 h)', calendar: kolkata, from: Date.parse('2026-12-08T04:30:00Z'), minutes: 120 },
    { label: 'Kolkata, across a weekend (Fri 17:00 + 4 h)', calendar: kolkata, from: Date.parse('2026-12-11T11:30:00Z'), minutes: 240 },
    { label: 'Kolkata, a week with holidays (Wed 24 Dec + 48 h)', calendar: kolkata, from: Date.parse('2026-12-24T05:00:00Z'), minutes: 2880 },
    { label: 'Berlin, same day (Mon 09:00 + 3 h)', calendar: berlin, from: Date.parse('2026-12-07T08:00:00Z'), minutes: 180 },
    { label: 'Berlin, across a weekend (Fri 16:00 + 8 h)', calendar: berlin, from: Date.parse('2026-12-11T15:00:00Z'), minutes: 480 },
    { label: 'Berlin, across the DST change, a holiday (Fri 23 Oct + 40 h)', calendar: berlin, from: Date.parse('2026-10-23T08:00:00Z'), minutes: 2400 },
  ];
  // Warm-up: the first call of a day fills the cache, as the first deadline after a deploy does.
  for (const m of mix) m.calendar.addMinutes(m.from, m.minutes);
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < DEADLINES; i++) {
    const m = mix[i % mix.length]!;
    // Starts spread over a few hours, so the in-day position varies.
    sink += m.calendar.addMinutes(m.from + (i % 240) * 60_000, m.minutes);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { mix: mix.map((m) => m.label), perSecond: Math.round(DEADLINES / seconds), sink };
}

async function main() {
  log(`bench:sla — ${THREADS.toLocaleString('en-US')} open threads, ${DUE.toLocaleString('en-US')} due, on ${BENCH_DB}`);
  const sql = await database();
  useDb(sql);
  await migrate(sql);
  await seed(sql);
  const g0 = performance.now();
  await generate(sql);
  log(`  data generated in ${round((performance.now() - g0) / 1000, 1)} s`);

  const t = await tick(sql);
  log('\nEXPLAIN (ANALYZE) of the firing statement:');
  log(
    t.plan
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  const usesIndex = t.plan.includes('threads_sla_check_idx');
  const seqScan = /Seq Scan on threads/.test(t.plan);
  const perFlagged = t.cpuMs / Math.max(1, t.result.checked);
  const d = deadlines();
  log('');
  log(
    table([
      ['check', 'figure', 'target', ''],
      [
        'threads flagged (breached) by one tick',
        t.state.breached,
        DUE,
        gate(t.result.checked === DUE && t.state.breached === DUE, 'one tick flags every due thread'),
      ],
      ['events recorded (warning + breach each)', t.state.events, 2 * DUE, gate(t.state.events === 2 * DUE, 'two events per due thread')],
      ['events announced', t.state.announced, 2 * DUE, gate(t.state.announced === 2 * DUE && t.result.announced === 2 * DUE, 'every event announced')],
      ['sla.event outbox rows', t.state.jobs, 2 * DUE, gate(t.state.jobs === 2 * DUE, 'one hook job per event')],
      ['events fired by a second tick', t.again.fired, 0, gate(t.again.fired === 0 && t.again.announced === 0, 'a second tick fires nothing')],
      ['statements per tick', t.used, `<= ${STATEMENTS_BUDGET}`, gate(t.used <= STATEMENTS_BUDGET, 'statements per tick')],
      ['tick wall ms', fmt(t.ms), '', ''],
      [
        'CPU ms per flagged thread (process + database)',
        fmt(perFlagged, 3),
        `<= ${CPU_MS_PER_FLAGGED_BUDGET}`,
        gate(perFlagged <= CPU_MS_PER_FLAGGED_BUDGET, 'CPU per flagged thread'),
      ],
      [
        'reads threads through threads_sla_check_idx, no seq scan',
        usesIndex && !seqScan ? 'yes' : 'no',
        'yes',
        gate(usesIndex && !seqScan, 'plan uses the due-time index'),
      ],
      [
        'deadlines per second (mix below)',
        d.perSecond.toLocaleString('en-US'),
        `>= ${DEADLINES_PER_SECOND_TARGET.toLocaleString('en-US')}`,
        gate(d.perSecond >= DEADLINES_PER_SECOND_TARGET, 'deadline throughput'),
      ],
    ]),
  );
  log(`\ndeadline mix (${DEADLINES.toLocaleString('en-US')} computations, cycled):`);
  for (const m of d.mix) log(`  - ${m}`);
  await closeDb();
  if (failures.length) {
    log(`\nMISSED: ${failures.join('; ')}`);
    process.exit(1);
  }
  log('\nall targets met');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
