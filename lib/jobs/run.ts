// Runs one outbox row: claim it, validate its payload, run its handler with the owning organization's
// system claims, and mark it done in the same transaction. Shared by the QStash executor route and the
// local dispatcher, so both behave the same way.
import { randomUUID } from 'node:crypto';
import type { Ctx, QueuedJob } from '../context.js';
import { db, systemClaims, withClaims } from '../db/client.js';
import { log } from '../log.js';
// Every handler, registered by import: enqueuers only know the specs (./specs.ts), whatever runs a job knows them all.
import './all.js';
import { publishJobs } from './publish.js';
import { jobDefinition, PermanentJobError, type JobInfo } from './registry.js';

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
}

/** How long a claimed job may run before another delivery may take it over. */
const LEASE_SECONDS = 300;

export function retryDelayMs(attempts: number): number {
  return Math.min(3_600_000, 5_000 * 2 ** Math.max(0, attempts - 1));
}

async function markDead(row: OutboxRow, error: string, info?: JobInfo, payload?: unknown): Promise<'dead'> {
  const sql = await db();
  await sql`update app.outbox set status = 'dead', locked_until = null, last_error = ${error.slice(0, 2000)} where id = ${row.id}`;
  log.warn('job dead', { jobId: row.id, job: row.name, error });
  const def = jobDefinition(row.name);
  if (def?.onDead && info && payload !== undefined && row.orgId) {
    const jobs: QueuedJob[] = [];
    await withClaims(systemClaims(row.orgId), (tx) =>
      def.onDead!({ ctx: systemCtx(row, tx, jobs), payload, job: info, error }),
    ).catch((e: unknown) => log.error('job onDead failed', { jobId: row.id, error: e }));
    await publishJobs(jobs);
  }
  return 'dead';
}

function systemCtx(row: OutboxRow, sql: Ctx['sql'], jobs: QueuedJob[]): Ctx {
  return { requestId: `job:${row.id}:${randomUUID().slice(0, 8)}`, userId: null, orgId: row.orgId, role: 'system', sql, jobs };
}

export async function runJob(outboxId: string, options: { expectedName?: string } = {}): Promise<JobOutcome> {
  const sql = await db();
  const [row] = await sql<OutboxRow[]>`
    update app.outbox set status = 'running', attempts = attempts + 1,
      locked_until = now() + make_interval(secs => ${LEASE_SECONDS}),
      first_attempt_at = coalesce(first_attempt_at, now())
    where id = ${outboxId}
      and run_at <= now() + interval '2 seconds'
      and (status = 'pending' or (status = 'running' and locked_until < now()))
    returning id, org_id, name, payload, status, attempts, max_attempts, run_at, deadline_at, first_attempt_at`;
  if (!row) {
    const [current] = await sql<{ status: string }[]>`select status from app.outbox where id = ${outboxId}`;
    if (!current) return 'missing';
    if (current.status === 'done') return 'already';
    if (current.status === 'dead') return 'dead';
    return current.status === 'running' ? 'busy' : 'early';
  }
  if (options.expectedName && options.expectedName !== row.name) {
    return markDead(row, `delivered to /api/jobs/${options.expectedName} but the job is ${row.name}`);
  }
  const def = jobDefinition(row.name);
  if (!def) return markDead(row, `no job named ${row.name} is registered`);
  const info: JobInfo = {
    id: row.id,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    firstAttemptAt: row.firstAttemptAt ?? new Date(),
    deadlineAt: row.deadlineAt,
  };
  const parsed = def.schema.safeParse(row.payload);
  if (!parsed.success) return markDead(row, `invalid payload: ${parsed.error.message}`);
  if (row.deadlineAt && row.deadlineAt.getTime() < Date.now()) {
    return markDead(row, 'the deadline passed before the job could run', info, parsed.data);
  }
  const jobs: QueuedJob[] = [];
  try {
    await withClaims(systemClaims(row.orgId), async (tx) => {
      await def.handle({ ctx: systemCtx(row, tx, jobs), payload: parsed.data, job: info });
      await tx`select app.complete_job(${row.id})`;
    });
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const nextRun = new Date(Date.now() + retryDelayMs(row.attempts));
    const exhausted = row.attempts >= row.maxAttempts || (row.deadlineAt !== null && nextRun > row.deadlineAt);
    if (error instanceof PermanentJobError || exhausted) return markDead(row, message, info, parsed.data);
    await sql`
      update app.outbox set status = 'pending', run_at = ${nextRun}, locked_until = null, last_error = ${message.slice(0, 2000)}
      where id = ${row.id}`;
    log.warn('job failed; will retry', { jobId: row.id, job: row.name, attempts: row.attempts, error: message });
    return 'retry';
  }
  await publishJobs(jobs);
  return 'done';
}
