// npm run bench [-- --duration 12 --engine all|postgres|pglite --reuse --cpu-prof]
//
// Throughput and latency of the thread endpoints on a realistic data set, next to a ceiling: the
// same SQL issued straight to the database by postgres.js at the same concurrency. Prints figures,
// never asserts.
//
//   postgres: a fresh database `banxway_bench` on BENCH_DATABASE_URL's server (default
//             postgres://postgres@127.0.0.1:5432/postgres), migrate() + seed() + 100,000 threads and
//             1,000,000 messages for the seeded organization. --reuse keeps a completed one.
//   pglite:   embedded PGlite in a temp directory with 5,000 threads / 50,000 messages, on one
//             connection (see PGLITE_POOL_MAX below).
//
// Besides latency and throughput it reports CPU milliseconds per request of the API process, of the
// database backends and of the load generator (from /proc): on a small shared machine these are
// steadier than wall-clock figures. --cpu-prof writes V8 CPU profiles of the API process under
// bench/results/profiles/.
//
// The API runs as a child process (`node --import tsx scripts/dev.ts`, what `tsx scripts/dev.ts`
// runs) so autocannon does not share its event loop. Results: stdout and bench/results/<ts>.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import postgres from 'postgres';
import type { Ctx } from '../lib/context.js';
import { createPool, type Sql, type Tx } from '../lib/db/client.js';
import { migrate } from '../lib/db/migrate.js';
import { SEED_ORG_ID, SEED_USERS, seed } from '../lib/dev/seed.js';
import { GET as getRoute } from '../api/threads/[id].js';
import { GET as listRoute } from '../api/threads/index.js';
import { signAccessToken } from '../lib/http/auth.js';
import { actAsMember } from '../lib/http/route.js';
import { getThread, listThreads, threadListQuery } from '../lib/threads/service.js';
import { counts, generate, generatedSize, type DataSize } from './data.js';
import {
  cpuSample, cpuUse, fmt, loadAverage, mark, repoRoot, resultsDir, round, sleep, summarize, table, timestamp, writeResult,
  type CpuUse, type LatencySummary,
} from './shared.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '12' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    engine: { type: 'string', default: 'all' },
    reuse: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    threads: { type: 'string', default: '100000' },
    messages: { type: 'string', default: '1000000' },
    'pglite-threads': { type: 'string', default: '5000' },
    'pglite-messages': { type: 'string', default: '50000' },
    'pool-max': { type: 'string', default: '10' },
  },
});

const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const POOL_MAX = Number(args['pool-max']);
// pglite-socket interleaves the extended-protocol messages of concurrent connections outside a
// transaction ("portal \"\" does not exist", then a hang), so the API uses one connection to PGlite,
// and the ceiling the same.
const PGLITE_POOL_MAX = 1;
const ENGINES = args.engine === 'all' ? ['postgres', 'pglite'] : [args.engine!];
if (!ENGINES.every((e) => e === 'postgres' || e === 'pglite')) throw new Error('--engine is postgres, pglite or all');

const TARGETS = { p95Ms: 25, rps: 800, shareOfCeiling: 40 };
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BENCH_DB = 'banxway_bench';
const AGENT = SEED_USERS.agent;

interface Endpoint {
  key: string;
  label: string;
  /** The request paths, cycled (one for list endpoints, many ids for the detail endpoint). */
  paths: string[];
  /** The same work straight on the database, inside the request's transaction. */
  db: (ctx: Ctx, i: number) => Promise<unknown>;
  /** Whether the route runs on generic plans (its route option), which the ceiling then does too. */
  genericPlans: boolean;
}

interface Measurement extends LatencySummary {
  non2xx: number;
  errors: number;
  cpu: CpuUse;
  /** autocannon's own histogram (integer ms) for reference. */
  autocannon?: { p50: number; p97_5: number; p99: number; rpsAverage: number };
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const union = (a: number[], b: number[]) => [...new Set([...a, ...b])];

// A failing database (PGlite's socket server under concurrency, for one) can reject promises nobody
// awaits any more inside postgres.js; count them instead of dying.
let unhandled = 0;
process.on('unhandledRejection', (error) => {
  if (unhandled++ === 0) log(`    (unhandled rejection, further ones only counted: ${error instanceof Error ? error.message : String(error)})`);
});

// ------------------------------------------------------------------------------------------------
// Endpoints
// ------------------------------------------------------------------------------------------------
function endpoints(threadIds: string[]): Endpoint[] {
  const q = (query: Record<string, string>) => threadListQuery.parse(query);
  const list = (query: Record<string, string>) => {
    const parsed = q(query);
    return (ctx: Ctx) => listThreads(ctx, parsed);
  };
  const listPlans = listRoute.meta.genericPlans;
  return [
    { key: 'list', label: 'GET /api/threads', paths: ['/api/threads'], db: list({}), genericPlans: listPlans },
    {
      key: 'list_open_me',
      label: 'GET /api/threads?status=open&assignee=me',
      paths: ['/api/threads?status=open&assignee=me'],
      db: list({ status: 'open', assignee: 'me' }),
      genericPlans: listPlans,
    },
    {
      key: 'list_tag_priority',
      label: 'GET /api/threads?tag=booking&priority=high',
      paths: ['/api/threads?tag=booking&priority=high'],
      db: list({ tag: 'booking', priority: 'high' }),
      genericPlans: listPlans,
    },
    {
      key: 'get',
      label: `GET /api/threads/{id} (${threadIds.length} ids)`,
      paths: threadIds.map((id) => `/api/threads/${id}`),
      db: (ctx, i) => getThread(ctx, threadIds[i % threadIds.length]!),
      genericPlans: getRoute.meta.genericPlans,
    },
  ];
}

async function sampleThreadIds(sql: Sql, n: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select id from app.threads where org_id = ${SEED_ORG_ID} order by md5(id::text) limit ${n}`;
  return rows.map((r) => r.id);
}

// ------------------------------------------------------------------------------------------------
// The API under autocannon
// ------------------------------------------------------------------------------------------------
interface Server {
  base: string;
  child: ChildProcess;
  /** The PostgreSQL backends serving the bench database (their CPU is counted); undefined for PGlite. */
  dbPids?: () => Promise<number[]>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function startApi(env: Record<string, string | undefined>, label: string, poolMax: number, dbPids?: () => Promise<number[]>): Promise<Server> {
  const port = await freePort();
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) childEnv[k] = v;
  // Nothing that would reach the network or change the code path under test.
  for (const k of ['APP_ENV', 'VERCEL', 'QSTASH_TOKEN', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'DATABASE_URL', 'PGLITE_DATA_DIR']) delete childEnv[k];
  Object.assign(childEnv, {
    PORT: String(port),
    DEV_CRON: 'false',
    DEV_JOBS: 'false',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_USER_PER_MINUTE: '1000000000',
    RATE_LIMIT_PER_IP_PER_MINUTE: '1000000000',
    DATABASE_POOL_MAX: String(poolMax),
  });
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  // One profile per thread (main thread and tsx's loader thread), hence a directory per run.
  const profDir = join(resultsDir, 'profiles', `api-${label}-${timestamp()}`);
  if (args['cpu-prof']) log(`  CPU profiles of the API process: ${profDir}`);
  const nodeArgs = [...(args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), '--import', 'tsx', 'scripts/dev.ts'];
  const child = spawn(process.execPath, nodeArgs, { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the API did not start within 180 s:\n${stderr}`)), 180_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Banxway API on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!.replace('localhost', '127.0.0.1'));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the API exited (${code}) before it started:\n${stderr}`));
    });
  });
  return {
    base,
    child,
    dbPids,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      if (stderr.trim()) log(`  (API stderr, last lines)\n${stderr.trim().split('\n').slice(-5).map((l) => `    ${l}`).join('\n')}`);
    },
  };
}

async function checkEndpoint(base: string, token: string, e: Endpoint): Promise<string> {
  const res = await fetch(`${base}${e.paths[0]}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${e.label} answered ${res.status}: ${text.slice(0, 500)}`);
  const body = JSON.parse(text) as { data?: unknown[]; id?: string };
  return Array.isArray(body.data) ? `${body.data.length} items, ${text.length} bytes` : `thread ${body.id}, ${text.length} bytes`;
}

async function runAutocannon(server: Server, token: string, e: Endpoint, duration: number): Promise<Measurement> {
  const base = server.base;
  let i = 0;
  const latencies: number[] = [];
  let non2xx = 0;
  const instance = autocannon({
    url: base,
    connections: CONNECTIONS,
    duration,
    timeout: 30,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: e.paths[i++ % e.paths.length]! }) }],
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
    else non2xx++;
  });
  const pids = server.dbPids ? await server.dbPids() : false;
  const before = cpuSample(server.child.pid, pids);
  const result = await instance;
  const after = cpuSample(server.child.pid, server.dbPids && pids ? union(pids, await server.dbPids()) : false);
  const summary = summarize(latencies, result.duration);
  return {
    ...summary,
    cpu: cpuUse(before, after, latencies.length + non2xx),
    non2xx,
    errors: result.errors + result.timeouts,
    autocannon: {
      p50: result.latency.p50 ?? Number.NaN,
      p97_5: result.latency.p97_5 ?? Number.NaN,
      p99: result.latency.p99 ?? Number.NaN,
      rpsAverage: result.requests.average,
    },
  };
}

const cpuText = (c: CpuUse) =>
  `CPU/request: API ${fmt(c.apiMsPerReq, 2)} ms, db ${fmt(c.dbMsPerReq, 2)} ms, load generator ${fmt(c.clientMsPerReq, 2)} ms ` +
  `(cores busy: ${fmt(c.apiCores, 2)} / ${fmt(c.dbCores, 2)} / ${fmt(c.clientCores, 2)})`;

async function measureApiEndpoint(server: Server, token: string, e: Endpoint): Promise<Measurement> {
  log(`  API ${e.label}: ${await checkEndpoint(server.base, token, e).catch((error: unknown) => `CHECK FAILED: ${(error as Error).message}`)}`);
  if (WARMUP > 0) await runAutocannon(server, token, e, WARMUP);
  const m = await runAutocannon(server, token, e, DURATION);
  log(`    ${fmt(m.rps)} req/s, p50 ${fmt(m.p50, 2)} ms, p95 ${fmt(m.p95, 2)} ms, p99 ${fmt(m.p99, 2)} ms${m.non2xx || m.errors ? `, ${m.non2xx} non-2xx, ${m.errors} errors` : ''}`);
  log(`    ${cpuText(m.cpu)}`);
  return m;
}

async function measureApi(server: Server, token: string, list: Endpoint[]): Promise<Record<string, Measurement>> {
  const out: Record<string, Measurement> = {};
  for (const e of list) out[e.key] = await measureApiEndpoint(server, token, e);
  return out;
}

// ------------------------------------------------------------------------------------------------
// The ceiling: what one request does in the database, straight through postgres.js
// ------------------------------------------------------------------------------------------------

/**
 * One API request's database work, statement for statement (lib/http/route.ts + the service): BEGIN;
 * the route's membership statement (which also sets the claims, the role and, for routes that ask,
 * generic plans); the handler's queries; COMMIT.
 */
async function dbRequest(sql: Sql, genericPlans: boolean, work: (ctx: Ctx) => Promise<unknown>): Promise<unknown> {
  return sql.begin(async (raw) => {
    const tx = raw as unknown as Tx;
    const membership = await actAsMember(tx, { userId: AGENT.id, email: AGENT.email }, null, genericPlans && sql.options.prepare);
    const ctx: Ctx = { requestId: 'bench', userId: AGENT.id, orgId: membership.orgId, role: membership.role, sql: tx, jobs: [] };
    return work(ctx);
  });
}

/** `concurrency` loops calling fn until the deadline; latencies per call. */
type LoopResult = LatencySummary & { errors: number; cpu: CpuUse };

async function loops(seconds: number, concurrency: number, fn: (i: number) => Promise<unknown>, dbPids?: () => Promise<number[]>): Promise<LoopResult> {
  const latencies: number[] = [];
  const pids = dbPids ? await dbPids() : false;
  const before = cpuSample(undefined, pids);
  let errors = 0;
  let firstError: unknown;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      let i = c;
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          // A call that never settles (PGlite's socket server can wedge under concurrency) must not
          // stall the benchmark: give up on it after 15 s and count it as an error.
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            fn(i),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('no answer within 15 s')), 15_000);
            }),
          ]).finally(() => clearTimeout(timer));
          latencies.push(performance.now() - t);
        } catch (error) {
          errors++;
          firstError ??= error;
        }
        i += concurrency;
      }
    }),
  );
  const after = cpuSample(undefined, dbPids && pids ? union(pids, await dbPids()) : false);
  if (firstError) log(`    first error: ${firstError instanceof Error ? firstError.message : String(firstError)}`);
  return { ...summarize(latencies, (performance.now() - started) / 1000), errors, cpu: cpuUse(before, after, latencies.length + errors) };
}

async function measureCeilingEndpoint(sql: Sql, e: Endpoint, dbPids?: () => Promise<number[]>): Promise<LoopResult> {
  if (WARMUP > 0) await loops(WARMUP, CONNECTIONS, (i) => dbRequest(sql, e.genericPlans, (ctx) => e.db(ctx, i)), dbPids);
  const m = await loops(DURATION, CONNECTIONS, (i) => dbRequest(sql, e.genericPlans, (ctx) => e.db(ctx, i)), dbPids);
  log(`  ceiling ${e.label}: ${fmt(m.rps)} req/s, p50 ${fmt(m.p50, 2)} ms, p95 ${fmt(m.p95, 2)} ms${m.errors ? `, ${m.errors} errors` : ''}`);
  log(`    ${cpuText(m.cpu).replace('API', 'n/a').replace('load generator', 'bench client')}`);
  return m;
}

/** Second reference: the first-page list statement alone (no transaction, no membership select, no
 * claims; the bench connects as the tables' owner, so RLS does not apply). */
async function measurePlainList(sql: Sql, list: Endpoint[], dbPids?: () => Promise<number[]>): Promise<LoopResult> {
  const first = list[0]!;
  const ctx: Ctx = { requestId: 'bench', userId: AGENT.id, orgId: SEED_ORG_ID, role: 'agent', sql: sql as unknown as Tx, jobs: [] };
  if (WARMUP > 0) await loops(WARMUP, CONNECTIONS, (i) => first.db(ctx, i), dbPids);
  const m = await loops(DURATION, CONNECTIONS, (i) => first.db(ctx, i), dbPids);
  log(`  list statement alone (no tx, no RLS): ${fmt(m.rps)} req/s, p50 ${fmt(m.p50, 2)} ms, p95 ${fmt(m.p95, 2)} ms`);
  log(`    ${cpuText(m.cpu).replace('API', 'n/a').replace('load generator', 'bench client')}`);
  return m;
}

async function measureCeiling(sql: Sql, list: Endpoint[], dbPids?: () => Promise<number[]>) {
  const ceiling: Record<string, LoopResult> = {};
  for (const e of list) ceiling[e.key] = await measureCeilingEndpoint(sql, e, dbPids);
  return { ceiling, plainList: await measurePlainList(sql, list, dbPids) };
}

// ------------------------------------------------------------------------------------------------
// Report
// ------------------------------------------------------------------------------------------------
interface EngineResult {
  engine: string;
  poolMax: number;
  server: string;
  data: Record<string, number>;
  generationSeconds?: number;
  reused: boolean;
  api: Record<string, Measurement>;
  ceiling: Record<string, LoopResult>;
  plainList: LoopResult;
  loadAverage: { before?: number; after?: number };
  verdict: Record<string, { p95: boolean; rps: boolean; share: boolean; sharePct: number }>;
}

function report(r: EngineResult, list: Endpoint[]): string {
  const rows: (string | number)[][] = [
    ['endpoint', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'non2xx/err', 'CPU ms/req API+db', 'ceiling req/s', 'ceil. p95', 'ceil. db CPU', 'API/ceiling', 'p95<=25', '>=800/s', '>=40%'],
  ];
  const cpu = (c: CpuUse) => (c.apiMsPerReq === undefined ? '-' : `${fmt(c.apiMsPerReq, 2)}+${fmt(c.dbMsPerReq, 2)}`);
  for (const e of list) {
    const a = r.api[e.key]!;
    const c = r.ceiling[e.key]!;
    const v = r.verdict[e.key]!;
    rows.push([
      e.label, fmt(a.rps), fmt(a.p50, 2), fmt(a.p95, 2), fmt(a.p99, 2), `${a.non2xx}/${a.errors}`, cpu(a.cpu),
      fmt(c.rps), fmt(c.p95, 2), fmt(c.cpu.dbMsPerReq, 2), `${fmt(v.sharePct)} %`, mark(v.p95), mark(v.rps), mark(v.share),
    ]);
  }
  rows.push(['list statement alone (no tx/RLS)', '', '', '', '', '', '', fmt(r.plainList.rps), fmt(r.plainList.p95, 2), fmt(r.plainList.cpu.dbMsPerReq, 2), '', '', '', '']);
  const head = `${r.engine} (${r.server}): ${Object.entries(r.data).map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`).join(', ')}` +
    `${r.reused ? ' (reused)' : r.generationSeconds !== undefined ? `, generated in ${fmt(r.generationSeconds)} s` : ''}`;
  return [
    head,
    `${CONNECTIONS} connections, ${DURATION} s per run, pool ${r.poolMax}; ceiling = the same SQL via postgres.js, ${CONNECTIONS} loops over a pool of ${r.poolMax};` +
      ` load average ${fmt(r.loadAverage.before, 2)} -> ${fmt(r.loadAverage.after, 2)}`,
    r.engine === 'pglite' ? 'CPU ms/req: PGlite runs inside the API process, so "API" includes the database and "db" is not separate.' : 'CPU ms/req: user+system CPU per request of the API process and of the PostgreSQL backends serving the bench database.',
    table(rows),
  ].join('\n');
}

function verdicts(api: Record<string, Measurement>, ceiling: Record<string, LatencySummary>) {
  const out: EngineResult['verdict'] = {};
  for (const [k, a] of Object.entries(api)) {
    const sharePct = round((100 * a.rps) / ceiling[k]!.rps, 1);
    out[k] = { p95: a.p95 <= TARGETS.p95Ms, rps: a.rps >= TARGETS.rps, share: sharePct >= TARGETS.shareOfCeiling, sharePct };
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Engines
// ------------------------------------------------------------------------------------------------
async function runPostgres(token: string): Promise<{ result: EngineResult; list: Endpoint[] }> {
  const size: DataSize = { threads: Number(args.threads), messages: Number(args.messages) };
  const benchUrl = new URL(ADMIN_URL);
  benchUrl.pathname = `/${BENCH_DB}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const [version] = await admin<{ serverVersion: string }[]>`select current_setting('server_version') as "serverVersion"`;
  const [exists] = await admin`select 1 from pg_database where datname = ${BENCH_DB}`;
  let sql: Sql | undefined;
  let reused = false;
  if (args.reuse && exists) {
    sql = createPool(benchUrl.toString(), { max: POOL_MAX, prepare: true });
    const have = await generatedSize(sql).catch(() => undefined);
    reused = have?.threads === size.threads && have.messages === size.messages;
    if (!reused) {
      await sql.end();
      sql = undefined;
    } else if ((await migrate(sql)).length > 0) {
      // Migrations added since the data set was made (new indexes, say) apply to it, then fresh statistics.
      await sql`analyze`;
    }
  }
  let generationSeconds: number | undefined;
  if (!reused) {
    log(`creating database ${BENCH_DB} (${size.threads.toLocaleString('en-US')} threads, ${size.messages.toLocaleString('en-US')} messages) ...`);
    await admin.unsafe(`drop database if exists ${BENCH_DB} with (force)`);
    await admin.unsafe(`create database ${BENCH_DB}`);
    sql = createPool(benchUrl.toString(), { max: POOL_MAX, prepare: true });
    await migrate(sql);
    await seed(sql);
    const t = performance.now();
    await generate(sql, size);
    generationSeconds = round((performance.now() - t) / 1000, 1);
    log(`  generated in ${generationSeconds} s`);
  }
  await admin.end();
  const data = await counts(sql!);
  const list = endpoints(await sampleThreadIds(sql!, 1000));
  // The backends of the bench database (the API's or the ceiling's pool), for their CPU time.
  const monitor = postgres(benchUrl.toString(), { max: 1, onnotice: () => {} });
  const dbPids = async () =>
    (await monitor<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`).map((r) => r.pid);

  const loadBefore = loadAverage();
  // Each endpoint's API run is followed at once by its ceiling run, so that both see the same
  // conditions on a shared machine (the API process idles meanwhile).
  log(`\nPostgreSQL ${version!.serverVersion}: API (child process, pool ${POOL_MAX}), then the same SQL straight through postgres.js (the ceiling)`);
  const server = await startApi({ DATABASE_URL: benchUrl.toString() }, 'postgres', POOL_MAX, dbPids);
  const api: Record<string, Measurement> = {};
  const ceiling: Record<string, LoopResult> = {};
  try {
    for (const e of list) {
      api[e.key] = await measureApiEndpoint(server, token, e);
      ceiling[e.key] = await measureCeilingEndpoint(sql!, e, dbPids);
    }
  } finally {
    await server.stop();
  }
  const plainList = await measurePlainList(sql!, list, dbPids);
  await sql!.end();
  await monitor.end();
  return {
    list,
    result: {
      engine: 'postgres', poolMax: POOL_MAX, server: `PostgreSQL ${version!.serverVersion}`, data, generationSeconds, reused, api, ceiling, plainList,
      loadAverage: { before: loadBefore, after: loadAverage() },
      verdict: verdicts(api, ceiling),
    },
  };
}

async function runPglite(token: string): Promise<{ result: EngineResult; list: Endpoint[] }> {
  const size: DataSize = { threads: Number(args['pglite-threads']), messages: Number(args['pglite-messages']) };
  const { startEmbedded } = await import('../lib/db/embedded.js');
  const keep = args.reuse;
  const dataDir = keep ? join(tmpdir(), 'banxway-bench-pglite') : mkdtempSync(join(tmpdir(), 'banxway-bench-pglite-'));
  let embedded = await startEmbedded({ dataDir, maxConnections: PGLITE_POOL_MAX });
  // As lib/db/client.ts connects to PGlite: prepare off.
  let sql = createPool(embedded.url, { max: PGLITE_POOL_MAX, prepare: false });
  const have = keep ? await generatedSize(sql).catch(() => undefined) : undefined;
  const reused = have?.threads === size.threads && have.messages === size.messages;
  let generationSeconds: number | undefined;
  try {
    if (!reused) {
      if (keep) {
        // A stale directory from another size: start over.
        await sql.end();
        await embedded.stop();
        rmSync(dataDir, { recursive: true, force: true });
        embedded = await startEmbedded({ dataDir, maxConnections: PGLITE_POOL_MAX });
        sql = createPool(embedded.url, { max: PGLITE_POOL_MAX, prepare: false });
      }
      log(`\ncreating PGlite database in ${dataDir} (${size.threads.toLocaleString('en-US')} threads, ${size.messages.toLocaleString('en-US')} messages) ...`);
      await migrate(sql);
      await seed(sql);
      const t = performance.now();
      await generate(sql, size);
      generationSeconds = round((performance.now() - t) / 1000, 1);
      log(`  generated in ${generationSeconds} s`);
    }
    const data = await counts(sql);
    const [version] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
    const list = endpoints(await sampleThreadIds(sql, 1000));

    // PGlite lives inside the API process, so its ceiling is measured in this process on the same
    // socket server the dev server uses, before the dev server opens the directory.
    const loadBefore = loadAverage();
    log(`\nceiling on PGlite ${version!.v} (in-process, pglite-socket, pool ${PGLITE_POOL_MAX})`);
    const { ceiling, plainList } = await measureCeiling(sql, list);
    await sql.end();
    await embedded.stop();

    log('\nAPI on PGlite (child process: DATABASE_URL unset, PGLITE_DATA_DIR)');
    const server = await startApi({ PGLITE_DATA_DIR: dataDir, DATABASE_URL: undefined }, 'pglite', PGLITE_POOL_MAX);
    let api: Record<string, Measurement>;
    try {
      api = await measureApi(server, token, list);
    } finally {
      await server.stop();
    }
    return {
      list,
      result: {
        engine: 'pglite', poolMax: PGLITE_POOL_MAX, server: `PGlite ${version!.v}`, data, generationSeconds, reused, api, ceiling, plainList,
        loadAverage: { before: loadBefore, after: loadAverage() },
        verdict: verdicts(api, ceiling),
      },
    };
  } finally {
    await sql.end().catch(() => {});
    await embedded.stop().catch(() => {});
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const started = new Date();
  const token = await signAccessToken(AGENT, { expiresIn: '2h' });
  log(`Banxway API benchmark: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}; engines: ${ENGINES.join(', ')}`);
  log('The machine is shared by the database, the API process and the load generator.\n');
  const results: EngineResult[] = [];
  const reports: string[] = [];
  for (const engine of ENGINES) {
    const { result, list } = engine === 'postgres' ? await runPostgres(token) : await runPglite(token);
    results.push(result);
    reports.push(report(result, list));
  }
  log(`\n${'='.repeat(100)}\nResults (targets: p95 <= ${TARGETS.p95Ms} ms, >= ${TARGETS.rps} req/s, >= ${TARGETS.shareOfCeiling} % of ceiling)\n`);
  log(reports.join('\n\n'));
  const file = writeResult(`${timestamp()}.json`, {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    options: { duration: DURATION, warmup: WARMUP, connections: CONNECTIONS, poolMax: POOL_MAX, pglitePoolMax: PGLITE_POOL_MAX, engines: ENGINES },
    targets: TARGETS,
    unhandledRejections: unhandled,
    results,
  });
  log(`\nJSON: ${file}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
