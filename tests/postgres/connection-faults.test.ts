// Backend connections killed (pg_terminate_backend) while pipelined writes are in flight must neither
// crash the process (postgres.js 3.4.9 threw from a timer: "Cannot read properties of null (reading
// 'write')") nor answer 500, nor duplicate a write a client retries with its Idempotency-Key. The load
// runs in a child process so a crash shows as its exit instead of taking the test runner down.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../lib/db/client.js';
import { migrate } from '../../lib/db/migrate.js';
import { seed } from '../../lib/dev/seed.js';
import type { LoadReport } from '../helpers/db-load-child.js';
import { emptyDatabase, engine } from '../helpers/database.js';

const childScript = fileURLToPath(new URL('../helpers/db-load-child.ts', import.meta.url));

let database: { url: string; drop(): Promise<void> };
let killer: postgres.Sql;

beforeAll(async () => {
  if (engine !== 'postgres') throw new Error('tests/postgres runs on real PostgreSQL only');
  database = await emptyDatabase();
  const sql = createPool(database.url, { max: 2, prepare: true });
  await migrate(sql);
  await seed(sql);
  await sql.end();
  killer = postgres(database.url, { max: 1, onnotice: () => {}, connection: { application_name: 'fault-killer' } });
});

afterAll(async () => {
  await killer?.end();
  await database?.drop();
});

interface Run {
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ready: Promise<void>;
  report: Promise<LoadReport>;
  stderr: () => string;
  child: ChildProcess;
}

function startLoad(tag: string, prepare: boolean): Run {
  const child = fork(childScript, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, FAULT_DATABASE_URL: database.url, FAULT_TAG: tag, FAULT_PREPARE: String(prepare) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: { type: string }) => m.type === 'ready' && resolve());
    void exit.then(() => reject(new Error(`the load process ended before its first write:\n${stderr}`)));
  });
  const report = new Promise<LoadReport>((resolve, reject) => {
    child.on('message', (m: { type: string; report?: LoadReport }) => m.type === 'report' && resolve(m.report!));
    void exit.then(({ code, signal }) => reject(new Error(`the load process died (code ${code}, signal ${signal}):\n${stderr}`)));
  });
  // Awaited later (or never, when the process died first): no unhandled rejection in between.
  ready.catch(() => {});
  report.catch(() => {});
  return { exit, ready, report, stderr: () => stderr, child };
}

/** Terminates every backend of the load process's pool (the killer's own application name differs). */
async function killBackends(): Promise<number> {
  const rows = await killer`
    select pg_terminate_backend(pid) as killed from pg_stat_activity
    where datname = current_database() and application_name = 'banxway' and pid <> pg_backend_pid()`;
  return rows.filter((r) => r.killed).length;
}

async function storm(tag: string, prepare: boolean) {
  const run = startLoad(tag, prepare);
  try {
    await run.ready;
    let killed = 0;
    for (let round = 0; round < 25 && run.child.connected; round++) {
      killed += await killBackends();
      await new Promise((r) => setTimeout(r, 40 + Math.random() * 120));
    }
    if (run.child.connected) run.child.send({ type: 'stop' });
    const report = await run.report;
    const exit = await run.exit;
    return { report, exit, killed, stderr: run.stderr() };
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  }
}

describe.each([
  { prepare: true, tag: 'prepared' },
  { prepare: false, tag: 'unprepared' },
])('backends killed under load (prepare: $prepare)', ({ prepare, tag }) => {
  it('keeps the process alive, answers 503 (never 500) while connections drop, and the next request succeeds', async () => {
    const { report, exit, killed, stderr } = await storm(tag, prepare);
    expect(stderr).not.toMatch(/Cannot read properties of null|uncaught|unhandled/i);
    expect(exit.code).toBe(0);
    expect(killed).toBeGreaterThan(0);
    // The storm hit requests in flight: some failed and were answered 503, none 500.
    expect(report.statuses['503'] ?? 0).toBeGreaterThan(0);
    expect(report.withClaimsFailed).toBeGreaterThan(0);
    expect(report.unexpected).toEqual([]);
    expect(report.unexpectedErrors).toEqual([]);
    expect(report.after.status).toBe(201);

    // Every key the API confirmed has its note exactly once, retries included; nothing else was written.
    const rows = await killer<{ body: string; n: number }[]>`
      select body, count(*)::int as n from app.notes where body like ${`${tag} %`} group by body`;
    const byBody = new Map(rows.map((r) => [r.body, r.n]));
    for (const key of report.confirmed) expect(byBody.get(`${tag} ${key}`)).toBe(1);
    expect([...byBody.values()].every((n) => n === 1)).toBe(true);
    expect(byBody.size).toBe(new Set(report.confirmed).size + 1);
  });
});
