// Leases: a running job holds a short lease that its heartbeat renews, so a long job keeps it while a
// crashed one (no heartbeat) is taken over soon after; every claim is an attempt, so a job that keeps
// crashing its process ends dead (with onDead) instead of running forever; and a run that lost its
// lease cannot complete the job a second time.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { Ctx } from '../../lib/context.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { enqueue } from '../../lib/jobs/enqueue.js';
import { defineJob } from '../../lib/jobs/registry.js';
import { claimAndAbandon, runJob, setLeaseTiming } from '../../lib/jobs/run.js';
import { sweepJobs } from '../../lib/jobs/sweep.js';
import { engine, testDatabase, type TestDatabase } from '../helpers/database.js';

const T1 = '10000001-0000-4000-8000-000000000001';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

let restoreTiming: (() => void) | undefined;
afterEach(() => {
  restoreTiming?.();
  restoreTiming = undefined;
});

const handled: string[] = [];
const crashy = defineJob({
  name: 'test.lease-crashy',
  schema: z.object({ tag: z.string() }),
  maxAttempts: 3,
  async handle({ ctx, payload }) {
    handled.push(payload.tag);
    await ctx.sql`insert into app.notes (org_id, thread_id, body) values (${ctx.orgId}, ${T1}, ${`ran ${payload.tag}`})`;
  },
  async onDead({ ctx, payload, error }) {
    await ctx.sql`insert into app.notes (org_id, thread_id, body) values (${ctx.orgId}, ${T1}, ${`dead ${payload.tag}: ${error.slice(0, 80)}`})`;
  },
});

/** Gates that hold a run in the middle of its work until the test opens them (one per tag). */
const gates = new Map<string, { open: () => void; opened: Promise<void>; entered: number }>();
function gate(tag: string) {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const g = { open, opened, entered: 0 };
  gates.set(tag, g);
  return g;
}

/** Commits its steps itself: the first run waits at the gate with no transaction open, later runs do not wait. */
const long = defineJob({
  name: 'test.lease-long',
  schema: z.object({ tag: z.string() }),
  maxAttempts: 5,
  async perform({ transact, payload }) {
    const g = gates.get(payload.tag);
    if (g && g.entered++ === 0) await g.opened;
    await transact((ctx) => ctx.sql`insert into app.notes (org_id, thread_id, body) values (${ctx.orgId}, ${T1}, ${`long ${payload.tag}`})`);
  },
});

/** Holds its transaction open at the gate (PostgreSQL only: PGlite serves one connection). */
const longInTransaction = defineJob({
  name: 'test.lease-long-tx',
  schema: z.object({ tag: z.string() }),
  maxAttempts: 5,
  async handle({ ctx, payload }) {
    await ctx.sql`insert into app.notes (org_id, thread_id, body) values (${ctx.orgId}, ${T1}, ${`long-tx ${payload.tag}`})`;
    const g = gates.get(payload.tag);
    if (g && g.entered++ === 0) await g.opened;
  },
});

async function enqueueJob(job: typeof crashy | typeof long | typeof longInTransaction, tag: string): Promise<string> {
  return withClaims(systemClaims(SEED_ORG_ID), (sql) => {
    const ctx: Ctx = { requestId: 'test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] };
    return enqueue(ctx, job, { tag });
  });
}

const row = async (id: string) =>
  (
    await db.sql<{ status: string; attempts: number; lastError: string | null; leaseAlive: boolean }[]>`
    select status, attempts, last_error, locked_until > now() as lease_alive from app.outbox where id = ${id}`
  )[0]!;
const notes = async (prefix: string) => (await db.sql`select body from app.notes where body like ${`${prefix}%`}`).map((r) => r.body as string);
/** The lease of a crashed run has lapsed (what its timeout would do), without waiting 30 seconds. */
const lapse = (id: string) => db.sql`update app.outbox set locked_until = now() - interval '1 second' where id = ${id}`;

/** Waits for a condition of the database (not for a time): polls until it holds. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const stop = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > stop) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('crashed runs', () => {
  it('counts a re-claim after a crash as an attempt, and a job that keeps crashing ends dead with onDead', async () => {
    const id = await enqueueJob(crashy, 'c1');
    for (let attempt = 1; attempt <= 3; attempt++) {
      // Claimed by a process that then died: no heartbeat, no outcome.
      expect(await claimAndAbandon(id)).toBe(true);
      expect(await row(id)).toMatchObject({ status: 'running', attempts: attempt });
      await lapse(id);
    }
    // Three attempts of a three-attempt job were used by crashes: the next delivery buries it.
    expect(await runJob(id)).toBe('dead');
    const dead = await row(id);
    expect(dead).toMatchObject({ status: 'dead', attempts: 3 });
    expect(dead.lastError).toMatch(/the last of 3 attempts did not finish/);
    expect(handled).not.toContain('c1');
    expect(await notes('dead c1')).toHaveLength(1);
    // Redelivered again: still dead, onDead not run twice, the handler never.
    expect(await runJob(id)).toBe('dead');
    expect(await notes('dead c1')).toHaveLength(1);
    expect(await notes('ran c1')).toHaveLength(0);
  });

  it('lets the sweeper bury a job whose last attempt crashed, and re-run one with attempts left', async () => {
    const spent = await enqueueJob(crashy, 'c2');
    const left = await enqueueJob(crashy, 'c3');
    await db.sql`update app.outbox set attempts = 2 where id = ${spent}`;
    expect(await claimAndAbandon(spent)).toBe(true);
    expect(await claimAndAbandon(left)).toBe(true);
    await lapse(spent);
    await lapse(left);
    const swept = await sweepJobs();
    expect(swept.buried).toBeGreaterThanOrEqual(1);
    expect(await row(spent)).toMatchObject({ status: 'dead', attempts: 3 });
    expect(await notes('dead c2')).toHaveLength(1);
    expect(await row(left)).toMatchObject({ status: 'pending', attempts: 1 });
    expect(await runJob(left)).toBe('done');
    expect(await row(left)).toMatchObject({ status: 'done', attempts: 2 });
    expect(await notes('ran c3')).toHaveLength(1);
  });

  it('lets another delivery take a crashed run over once its short lease lapses', async () => {
    restoreTiming = setLeaseTiming({ leaseMs: 1_000, heartbeatMs: 200 });
    const id = await enqueueJob(crashy, 'c4');
    expect(await claimAndAbandon(id)).toBe(true);
    // The lease still runs: a second delivery must not start a parallel run.
    expect(await runJob(id)).toBe('busy');
    await until('the abandoned lease lapses', async () => !(await row(id)).leaseAlive);
    expect(await runJob(id)).toBe('done');
    expect(await row(id)).toMatchObject({ status: 'done', attempts: 2 });
    expect(await notes('ran c4')).toHaveLength(1);
  });
});

describe('heartbeats', () => {
  it("keep a long job's lease alive well past the lease length, so no other delivery takes it", async () => {
    restoreTiming = setLeaseTiming({ leaseMs: 1_000, heartbeatMs: 200 });
    const g = gate('h1');
    const id = await enqueueJob(long, 'h1');
    const run = runJob(id);
    await until('the run is at its gate', async () => g.entered === 1);
    // Three lease lengths later the lease is still alive: the heartbeat renewed it.
    await until('three leases have passed', async () => {
      const [r] = await db.sql<{ passed: boolean }[]>`select now() - first_attempt_at > interval '3 seconds' as passed from app.outbox where id = ${id}`;
      return r!.passed;
    });
    expect(await row(id)).toMatchObject({ status: 'running', attempts: 1, leaseAlive: true });
    expect(await runJob(id)).toBe('busy');
    g.open();
    expect(await run).toBe('done');
    expect(await row(id)).toMatchObject({ status: 'done', attempts: 1 });
    expect(await notes('long h1')).toHaveLength(1);
  });

  it('once stopped, let another delivery take the job over after the lease; the stale run then commits nothing', async () => {
    // heartbeatMs 0: the first run stops renewing (a frozen process) but wakes up later.
    restoreTiming = setLeaseTiming({ leaseMs: 1_000, heartbeatMs: 0 });
    const g = gate('h2');
    const id = await enqueueJob(long, 'h2');
    const stale = runJob(id);
    await until('the first run is at its gate', async () => g.entered === 1);
    expect(await runJob(id)).toBe('busy');
    await until('the lease lapses without heartbeats', async () => !(await row(id)).leaseAlive);
    // Another delivery takes over and finishes the job.
    expect(await runJob(id)).toBe('done');
    expect(await row(id)).toMatchObject({ status: 'done', attempts: 2 });
    // The first run wakes up: its next step finds the lease gone and writes nothing.
    g.open();
    expect(await stale).toBe('busy');
    expect(await notes('long h2')).toHaveLength(1);
    expect(await row(id)).toMatchObject({ status: 'done', attempts: 2 });
  });

  it.runIf(engine === 'postgres')('fence a transactional run that lost its lease: its transaction rolls back instead of completing twice', async () => {
    restoreTiming = setLeaseTiming({ leaseMs: 1_000, heartbeatMs: 0 });
    const g = gate('h3');
    const id = await enqueueJob(longInTransaction, 'h3');
    const stale = runJob(id);
    await until('the first run is at its gate', async () => g.entered === 1);
    await until('the lease lapses without heartbeats', async () => !(await row(id)).leaseAlive);
    expect(await runJob(id)).toBe('done');
    g.open();
    expect(await stale).toBe('busy');
    // The stale run's insert rolled back with its failed completion: one note, one completion.
    expect(await notes('long-tx h3')).toHaveLength(1);
    expect(await row(id)).toMatchObject({ status: 'done', attempts: 2 });
  });
});
