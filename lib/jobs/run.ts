// Runs one outbox row: claim it under a short lease that a heartbeat renews while it runs, validate its
// payload, run its handler with the owning organization's system claims, and mark it done in the same
// transaction, fenced by the lease. Shared by the QStash executor route, the inline runner and the local
// dispatcher, so all behave the same way.
import { randomUUID } from 'node:crypto';
import { asSystem, type Ctx, type QueuedJob } from '../context.js';
import { db, systemClaims, withClaims, type Sql } from '../db/client.js';
import { log } from '../log.js';
// Every handler, registered by import: enqueuers only know the specs (./specs.ts), whatever runs a job knows them all.
import './all.js';
import { publishJobs } from './publish.js';
import { jobDefinition, PermanentJobError, type JobDefinition, type JobInfo, type Transact } from './registry.js';

/** done: ran now; already: ran before; dead: will never run (again); retry / busy / early: try later. */
export type JobOutcome = 'done' | 'already' | 'dead' | 'missing' | 'retry' | 'busy' | 'early';

interface OutboxRow {
  id: string;
  orgId: string;
  name: string;
  payload: unknown;
  status: string;
  attempts: number;
  maxAttempts: number;
  runAt: Date;
  deadlineAt: Date | null;
  firstAttemptAt: Date | null;
  lastError: string | null;
}

/**
 * A claimed run holds its job for leaseMs and renews that every heartbeatMs while it lives. A run whose
 * process died stops renewing: another delivery (or the sweeper) takes the job over once the lease
 * lapses, well under a minute later, and that counts as the next attempt.
 */
const timing = { leaseMs: 30_000, heartbeatMs: 10_000 };

/** Shorter leases and heartbeats (tests); heartbeatMs 0 stops heartbeats, as if the process froze. */
export function setLeaseTiming(next: Partial<typeof timing>): () => void {
  const before = { ...timing };
  Object.assign(timing, next);
  return () => Object.assign(timing, before);
}

const leaseSeconds = () => timing.leaseMs / 1000;

/** Raised by app.complete_job when another run took the job over (its lease lapsed). */
const LEASE_LOST = 'BXJ01';

class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

const isLeaseLost = (error: unknown) => error instanceof LeaseLostError || (error as { code?: string })?.code === LEASE_LOST;

export function retryDelayMs(attempts: number): number {
  return Math.min(3_600_000, 5_000 * 2 ** Math.max(0, attempts - 1));
}

const errorText = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

const runRequestId = (row: Pick<OutboxRow, 'id'>) => `job:${row.id}:${randomUUID().slice(0, 8)}`;

function infoOf(row: OutboxRow): JobInfo {
  return { id: row.id, attempts: row.attempts, maxAttempts: row.maxAttempts, firstAttemptAt: row.firstAttemptAt ?? new Date(), deadlineAt: row.deadlineAt };
}

/** Runs the job's onDead (in its own transaction) when its payload is valid. */
async function runOnDead(row: OutboxRow, def: JobDefinition | undefined, error: string): Promise<void> {
  if (!def?.onDead || !row.orgId) return;
  const parsed = def.schema.safeParse(row.payload);
  if (!parsed.success) return;
  const jobs: QueuedJob[] = [];
  await asSystem(row.orgId, runRequestId(row), jobs, (ctx) => def.onDead!({ ctx, payload: parsed.data, job: infoOf(row), error })).catch((e: unknown) =>
    log.error('job onDead failed', { jobId: row.id, error: e }),
  );
  await publishJobs(jobs);
}

/** Dead-letters a run that still holds its lease (a run taken over by another changes nothing). */
async function markDead(sql: Sql, row: OutboxRow, leaseId: string, error: string, withOnDead = true): Promise<JobOutcome> {
  const updated = await sql`
    update app.outbox set status = 'dead', locked_until = null, lease_id = null, last_error = ${error.slice(0, 2000)}
    where id = ${row.id} and lease_id = ${leaseId} and status = 'running' returning id`;
  if (updated.length === 0) return 'busy';
  log.warn('job dead', { jobId: row.id, job: row.name, error });
  if (withOnDead) await runOnDead(row, jobDefinition(row.name), error);
  return 'dead';
}

const claimable = (sql: Sql) => sql`
  run_at <= now() + interval '2 seconds' and (status = 'pending' or (status = 'running' and locked_until < now()))`;

const returning = (sql: Sql) => sql`
  returning id, org_id, name, payload, status, attempts, max_attempts, run_at, deadline_at, first_attempt_at, last_error`;

/**
 * Claims a due job for one attempt: a pending one, or one whose previous run stopped renewing its lease
 * (the process died). Every claim is an attempt, so a job that keeps crashing its process stops.
 */
async function claim(sql: Sql, outboxId: string, leaseId: string): Promise<OutboxRow | undefined> {
  const [row] = await sql<OutboxRow[]>`
    update app.outbox set status = 'running', attempts = attempts + 1, lease_id = ${leaseId},
      locked_until = now() + make_interval(secs => ${leaseSeconds()}),
      first_attempt_at = coalesce(first_attempt_at, now())
    where id = ${outboxId} and ${claimable(sql)} and attempts < max_attempts
    ${returning(sql)}`;
  return row;
}

/**
 * A due job whose attempts are used up although it never failed cleanly: its last run stopped without
 * finishing (the process died or lost its lease). It is dead now, with onDead run once (the update
 * decides who runs it when several deliveries race).
 */
export async function buryIfSpent(outboxId: string): Promise<boolean> {
  const sql = await db();
  const [row] = await sql<OutboxRow[]>`
    update app.outbox set status = 'dead', locked_until = null, lease_id = null,
      last_error = left('the last of ' || attempts || ' attempts did not finish: its process stopped or lost the lease'
        || coalesce(' (before that: ' || last_error || ')', ''), 2000)
    where id = ${outboxId} and ${claimable(sql)} and attempts >= max_attempts
    ${returning(sql)}`;
  if (!row) return false;
  log.warn('job dead', { jobId: row.id, job: row.name, error: row.lastError });
  await runOnDead(row, jobDefinition(row.name), row.lastError ?? '');
  return true;
}

/** Renews the run's lease every heartbeatMs on a connection of its own, until stopped. */
function startHeartbeat(row: OutboxRow, leaseId: string): { stop(): Promise<void> } {
  if (timing.heartbeatMs <= 0) return { stop: async () => {} };
  let stopped = false;
  let inflight: Promise<void> | undefined;
  const beat = () => {
    if (stopped || inflight) return;
    inflight = (async () => {
      const sql = await db();
      const renewed = await sql`
        update app.outbox set locked_until = now() + make_interval(secs => ${leaseSeconds()})
        where id = ${row.id} and lease_id = ${leaseId} and status = 'running' returning id`;
      if (renewed.length === 0 && !stopped) log.warn('job lost its lease; another run may take it over', { jobId: row.id, job: row.name });
    })()
      .catch((error: unknown) => log.warn('job heartbeat failed', { jobId: row.id, error }))
      .finally(() => {
        inflight = undefined;
      });
  };
  // Embedded PGlite serves one connection: a beat queues behind the job's transaction and runs after
  // it (no one else can claim meanwhile either). Awaiting the last beat on stop() is therefore safe.
  const timer = setInterval(beat, timing.heartbeatMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inflight;
    },
  };
}

/** Transactions of a self-committing job: each checks that the run still holds its lease first. */
function transactionsOf(row: OutboxRow, leaseId: string): Transact {
  return async <T>(fn: (ctx: Ctx) => Promise<T>): Promise<T> => {
    const jobs: QueuedJob[] = [];
    const result = await asSystem(row.orgId, runRequestId(row), jobs, async (ctx) => {
      const [held] = await ctx.sql`select 1 as held from app.outbox where id = ${row.id} and lease_id = ${leaseId}`;
      if (!held) throw new LeaseLostError(`job ${row.id} lost its lease to another run`);
      return fn(ctx);
    });
    if (jobs.length > 0) await publishJobs(jobs);
    return result;
  };
}

export async function runJob(outboxId: string, options: { expectedName?: string } = {}): Promise<JobOutcome> {
  const sql = await db();
  const leaseId = randomUUID();
  const row = await claim(sql, outboxId, leaseId);
  if (!row) {
    if (await buryIfSpent(outboxId)) return 'dead';
    const [current] = await sql<{ status: string }[]>`select status from app.outbox where id = ${outboxId}`;
    if (!current) return 'missing';
    if (current.status === 'done') return 'already';
    if (current.status === 'dead') return 'dead';
    return current.status === 'running' ? 'busy' : 'early';
  }
  const heartbeat = startHeartbeat(row, leaseId);
  try {
    return await runClaimed(sql, row, leaseId, options);
  } finally {
    await heartbeat.stop();
  }
}

async function runClaimed(sql: Sql, row: OutboxRow, leaseId: string, options: { expectedName?: string }): Promise<JobOutcome> {
  if (options.expectedName && options.expectedName !== row.name) {
    return markDead(sql, row, leaseId, `delivered to /api/jobs/${options.expectedName} but the job is ${row.name}`, false);
  }
  const def = jobDefinition(row.name);
  if (!def) return markDead(sql, row, leaseId, `no job named ${row.name} is registered`, false);
  const parsed = def.schema.safeParse(row.payload);
  if (!parsed.success) return markDead(sql, row, leaseId, `invalid payload: ${parsed.error.message}`, false);
  if (row.deadlineAt && row.deadlineAt.getTime() < Date.now()) {
    return markDead(sql, row, leaseId, 'the deadline passed before the job could run');
  }
  const info = infoOf(row);
  const jobs: QueuedJob[] = [];
  try {
    if (def.perform) {
      await def.perform({ transact: transactionsOf(row, leaseId), orgId: row.orgId, payload: parsed.data, job: info });
      await withClaims(systemClaims(row.orgId), (tx) => tx`select app.complete_job(${row.id}, ${leaseId})`);
    } else {
      await asSystem(row.orgId, runRequestId(row), jobs, async (ctx) => {
        await def.handle({ ctx, payload: parsed.data, job: info });
        await ctx.sql`select app.complete_job(${row.id}, ${leaseId})`;
      });
    }
  } catch (error) {
    if (isLeaseLost(error)) {
      // Another run took the job over after this one stopped renewing its lease: it owns the outcome.
      log.warn('job run lost its lease; its transaction rolled back', { jobId: row.id, job: row.name });
      return 'busy';
    }
    const message = errorText(error);
    const nextRun = new Date(Date.now() + retryDelayMs(row.attempts));
    const exhausted = row.attempts >= row.maxAttempts || (row.deadlineAt !== null && nextRun > row.deadlineAt);
    if (error instanceof PermanentJobError || exhausted) return markDead(sql, row, leaseId, message);
    const updated = await sql`
      update app.outbox set status = 'pending', run_at = ${nextRun}, locked_until = null, lease_id = null, last_error = ${message.slice(0, 2000)}
      where id = ${row.id} and lease_id = ${leaseId} and status = 'running' returning id`;
    if (updated.length === 0) return 'busy';
    log.warn('job failed; will retry', { jobId: row.id, job: row.name, attempts: row.attempts, error: message });
    return 'retry';
  }
  await publishJobs(jobs);
  return 'done';
}

/** Claims a job without running it and lets go of nothing: what a process that dies right after its claim leaves behind (tests). */
export async function claimAndAbandon(outboxId: string): Promise<boolean> {
  return Boolean(await claim(await db(), outboxId, randomUUID()));
}
