// npm run bench:workflows [-- --rate 20 --seconds 60 --workflows 50]
//
// The workflow engine on real PostgreSQL with the local job dispatcher, gated: exits 1 when a target
// below is missed.
//
//   Data:  a database `banxway_bench_workflows` (BENCH_WORKFLOWS_DATABASE_NAME to name another) on
//          BENCH_DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres), made
//          afresh: migrate() + seed(), then 50 enabled `message.received` workflows of the seeded
//          organization with a mix of conditions (nested all/any, re2js regexes on subject and body,
//          sender domains, tags, intent, customer tier, business hours): each message matches one
//          or two of them, whose first step tags the thread.
//   Load:  inbound emails stored by the real ingest (lib/email/ingest.ts) at 20 per second for 60 s,
//          each from a new sender (a new thread), parsed beforehand; the in-process dispatcher
//          (lib/jobs/local-dispatcher.ts) runs the jobs as they commit: the message's analysis (the
//          offline analyser), the workflow event, the first step.
//   Gates: CPU ms per message for trigger matching and condition evaluation (the engine's own
//          count: lib/workflows/engine.ts engineStats) <= 2; p95 time from a message stored (its
//          row's created_at, the start of the storing transaction) to its first step's effect (the
//          step's finished_at, committed with the tag) <= 2 s. Also reported: messages behind
//          schedule, the process's total CPU per message, runs started.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { asSystem, type QueuedJob } from '../lib/context.js';
import type { Sql } from '../lib/db/client.js';
import { closeDb, useDb } from '../lib/db/client.js';
import { migrate } from '../lib/db/migrate.js';
import { SEED_ORG_ID, seed } from '../lib/dev/seed.js';
import { ingestEmail } from '../lib/email/ingest.js';
import { parseEmail, type ParsedEmail } from '../lib/email/parse.js';
import { startLocalDispatcher } from '../lib/jobs/local-dispatcher.js';
import { publishJobs } from '../lib/jobs/publish.js';
import { engineStats } from '../lib/workflows/engine.js';
import { benchDatabaseName, fmt, freshDatabase, gates, loadAverage, percentile, round, sleep, table } from './shared.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '60' },
    workflows: { type: 'string', default: '50' },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const WORKFLOWS = Number(args.workflows);

const MATCH_CPU_MS_BUDGET = 2;
/** Ingests in flight at once (the pool has room for them and the dispatcher's runners). */
const INFLIGHT = 12;
const P95_MS_BUDGET = 2000;

const BENCH_DB = benchDatabaseName('BENCH_WORKFLOWS_DATABASE_NAME', 'banxway_bench_workflows');

const log = (line: string) => process.stdout.write(`${line}\n`);
const { failures, gate } = gates();

async function database(): Promise<Sql> {
  const url = await freshDatabase(BENCH_DB);
  return postgres(url.toString(), {
    max: 24,
    prepare: true,
    onnotice: () => {},
    transform: { ...postgres.camel, undefined: null },
    connection: { application_name: 'banxway-bench-workflows' },
  }) as unknown as Sql;
}

const LANES = ['sea', 'air', 'customs', 'rates', 'docs'];
// Every lane needs its workflow (i = 0, 10, 20 …), or its messages start nothing and the gate below misses.
const MIN_WORKFLOWS = 10 * (LANES.length - 1) + 1;
if (!(WORKFLOWS >= MIN_WORKFLOWS)) throw new Error(`--workflows must be at least ${MIN_WORKFLOWS}: one workflow per lane (${LANES.join(', ')})`);

/** Workflow i: what its conditions look for. Lane workflows (i % 10 === 0) match a message of their lane; the rest match almost nothing. */
function definition(i: number) {
  const lane = LANES[(i / 10) % LANES.length]!;
  const conditions =
    i % 10 === 0
      ? {
          all: [
            { field: 'subject', op: 'matches', value: `\\b${lane}\\b.*(request|enquiry|booking)` },
            {
              any: [
                { field: 'senderDomain', op: 'isNot', value: 'blocked.example' },
                { field: 'tier', op: 'is', value: 'strategic' },
              ],
            },
            { field: 'tags', op: 'hasNone', value: ['routed'] },
          ],
        }
      : {
          any: [
            {
              all: [
                { field: 'senderDomain', op: 'is', value: `partner-${i}.example` },
                { field: 'body', op: 'contains', value: 'urgent' },
              ],
            },
            { field: 'subject', op: 'matches', value: `^(fwd?|re):\\s*ref-${i}-[0-9]{4}$` },
            {
              all: [
                { field: 'tier', op: 'is', value: 'strategic' },
                { field: 'businessHours', op: 'outside' },
              ],
            },
            { field: 'body', op: 'matches', value: `container\\s+[A-Z]{4}${String(i).padStart(3, '0')}[0-9]{4}` },
            {
              all: [
                { field: 'intent', op: 'is', value: 'complaint' },
                { field: 'tags', op: 'hasAll', value: [`vip-${i}`] },
              ],
            },
          ],
        };
  return {
    trigger: { type: 'message.received', channels: ['email'] },
    conditions,
    steps: [
      { type: 'tags', add: [i % 10 === 0 ? `lane-${lane}` : `w-${i}`] },
      { type: 'priority', priority: 'high' },
    ],
  };
}

async function setup(sql: Sql) {
  for (let i = 0; i < WORKFLOWS; i++) {
    const d = definition(i);
    const [w] = await sql<{ id: string }[]>`
      insert into app.workflows (org_id, name, trigger_event, conditions, steps, enabled, priority)
      values (${SEED_ORG_ID}, ${`Bench ${i}`}, 'message.received', ${sql.json(d.conditions as never)}, ${sql.json(d.steps as never)}, true, ${i})
      returning id`;
    await sql`insert into app.workflow_versions (org_id, workflow_id, version, definition) values (${SEED_ORG_ID}, ${w!.id}, 1, ${sql.json(d as never)})`;
  }
}

async function messages(n: number): Promise<ParsedEmail[]> {
  const out: ParsedEmail[] = [];
  for (let i = 0; i < n; i++) {
    const lane = LANES[i % LANES.length]!;
    const raw = [
      `From: Shipper ${i} <shipper-${i}-${randomUUID().slice(0, 6)}@customer-${i % 97}.example>`,
      'To: ops@seahawk-logistics.in',
      `Subject: ${lane} rate request ${i} for next week`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${randomUUID()}@customer.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Dear team,\r\n\r\nPlease quote ${1 + (i % 4)}x40HC from Nhava Sheva to Jebel Ali, cargo ready on Friday. Container MSCU${String(1000000 + i).slice(-7)} for reference.\r\n\r\nRegards,\r\nShipper ${i}`,
      '',
    ].join('\r\n');
    out.push(await parseEmail(Buffer.from(raw)));
  }
  return out;
}

async function main() {
  delete process.env.OPENAI_API_KEY;
  process.env.JOBS_ADAPTER = 'local';
  const sql = await database();
  useDb(sql);
  await migrate(sql);
  await seed(sql);
  await setup(sql);
  const total = Math.round(RATE * SECONDS);
  log(`workflows bench: ${WORKFLOWS} enabled workflows, ${total} inbound emails at ${RATE}/s for ${SECONDS} s, database ${BENCH_DB}`);
  const parsed = await messages(total);
  const dispatcher = startLocalDispatcher({ intervalMs: 200, concurrency: 8 });

  const stored: string[] = [];
  let behind = 0;
  let lastStored = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Each message starts at its time (i / RATE s), whatever the earlier ones are doing, up to INFLIGHT at once.
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -1000 / RATE) behind++;
    while (inflight.size >= INFLIGHT) await Promise.race(inflight);
    const email = parsed[i]!;
    const p: Promise<void> = (async () => {
      const jobs: QueuedJob[] = [];
      const r = await asSystem(SEED_ORG_ID, `bench:${i}`, jobs, (ctx) => ingestEmail(ctx, email, { channelId: null, address: 'ops@seahawk-logistics.in' }));
      if (r.messageId) stored.push(r.messageId);
      lastStored = performance.now();
      await publishJobs(jobs);
    })().finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  const arrival = stored.length / Math.max(0.001, (lastStored - t0) / 1000);
  // Let the dispatcher finish what the load queued (bounded).
  const drainUntil = performance.now() + 60_000;
  for (;;) {
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from app.outbox where status in ('pending', 'running') and run_at <= now()`;
    if (left!.n === 0 || performance.now() > drainUntil) break;
    await sleep(250);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await dispatcher.stop();

  const latencies = (
    await sql<{ ms: number }[]>`
      select extract(epoch from (min(s.finished_at) - m.created_at)) * 1000 as ms
      from app.messages m
        join app.workflow_runs r on r.event ->> 'messageId' = m.id::text
        join app.workflow_run_steps s on s.run_id = r.id and s.step_key = '0' and s.status = 'succeeded'
      where m.id = any (${stored}::uuid[])
      group by m.id, m.created_at`
  )
    .map((r) => Number(r.ms))
    .sort((a, b) => a - b);
  const [counts] = await sql<{ runs: number; failed: number; dead: number }[]>`
    select (select count(*)::int from app.workflow_runs) as runs,
      (select count(*)::int from app.workflow_runs where status = 'failed') as failed,
      (select count(*)::int from app.outbox where status = 'dead') as dead`;

  const matchCpu = engineStats.events ? engineStats.matchCpuMs / engineStats.events : Number.NaN;
  const p95 = percentile(latencies, 95);
  const processCpu = (cpu.user + cpu.system) / 1000 / Math.max(1, stored.length);
  log(
    table([
      ['figure', 'value', 'target', ''],
      ['messages stored', stored.length, total, gate(stored.length === total, 'every message stored')],
      ['messages started late (> one interval)', behind, '-', ''],
      [
        'arrival rate achieved (stored per second)',
        fmt(arrival, 1),
        `>= ${fmt(RATE * 0.95, 1)}`,
        gate(arrival >= RATE * 0.95, `arrivals ${fmt(arrival, 1)}/s, not ${RATE}/s: the storing could not keep up on this machine`),
      ],
      ['workflow events handled', engineStats.events, stored.length, gate(engineStats.events >= stored.length, 'an event per message')],
      ['workflows evaluated per event', fmt(engineStats.evaluated / Math.max(1, engineStats.events)), WORKFLOWS, ''],
      ['runs started', counts!.runs, '-', ''],
      ['messages with a first step done', latencies.length, stored.length, gate(latencies.length === stored.length, 'a first step for every message')],
      [
        'failed runs / dead jobs',
        `${counts!.failed} / ${counts!.dead}`,
        '0 / 0',
        gate(counts!.failed === 0 && counts!.dead === 0, 'no failed runs or dead jobs'),
      ],
      [
        'CPU ms per message: trigger matching + conditions',
        fmt(matchCpu, 3),
        `<= ${MATCH_CPU_MS_BUDGET}`,
        gate(matchCpu <= MATCH_CPU_MS_BUDGET, `matching CPU ${fmt(matchCpu, 3)} ms per message`),
      ],
      ['stored -> first step effect p50 (ms)', fmt(percentile(latencies, 50), 0), '-', ''],
      ['stored -> first step effect p95 (ms)', fmt(p95, 0), `<= ${P95_MS_BUDGET}`, gate(p95 <= P95_MS_BUDGET, `p95 ${fmt(p95, 0)} ms`)],
      ['stored -> first step effect max (ms)', fmt(latencies.at(-1), 0), '-', ''],
      ['process CPU ms per message (ingest, analysis, engine, steps)', fmt(processCpu, 1), '-', ''],
      ['wall time (s)', round(elapsed, 1), '-', ''],
      ['load average (1 min) at the end', fmt(loadAverage(), 2), '-', ''],
    ]),
  );
  await closeDb();
  if (failures.length) {
    log(`MISSED: ${failures.join('; ')}`);
    process.exit(1);
  }
  log('all targets met');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
