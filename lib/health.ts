// What /api/health reports: database reachable, migrations current, which adapters are active, and
// how far behind the job queue is (a stalled queue makes the report degraded).
import * as z from 'zod';
import { config } from './config.js';
import { db, type Sql } from './db/client.js';
import { migrationState, type MigrationState } from './db/migrate.js';
import { outboundKind } from './email/outbound.js';
import { storageKind } from './storage/index.js';

/** How long the database check may take before health answers without it. */
const DATABASE_CHECK_MS = 3000;
/** Due jobs waiting longer than this mean nothing is running them. */
const STALLED_AFTER_SECONDS = 300;

export interface JobQueueHealth {
  /** qstash, inline (after each response, the minute cron as sweeper) or local (the dev dispatcher). */
  mode: string;
  ok: boolean;
  /** Jobs due now and not running (counted up to 10,000). */
  due: number;
  /** Queue lag: how long the oldest due job has waited, in seconds (0 when none is due). */
  oldestDueSeconds: number;
  running: number;
  /** Runs that stopped renewing their lease (crashed): the next delivery or sweep takes them over. */
  expiredLeases: number;
  dead: number;
}

async function jobQueue(sql: Sql, mode: string): Promise<JobQueueHealth> {
  const [q] = await sql<Omit<JobQueueHealth, 'mode' | 'ok'>[]>`
    select
      (select count(*)::int from (select 1 from app.outbox where status = 'pending' and run_at <= now() limit 10000) d) as due,
      coalesce((select round(extract(epoch from now() - min(run_at)))::int from app.outbox where status = 'pending' and run_at <= now()), 0) as oldest_due_seconds,
      (select count(*)::int from app.outbox where status = 'running') as running,
      (select count(*)::int from app.outbox where status = 'running' and locked_until < now()) as expired_leases,
      (select count(*)::int from (select 1 from app.outbox where status = 'dead' limit 10000) d) as dead`;
  return { mode, ok: q!.oldestDueSeconds <= STALLED_AFTER_SECONDS, ...q! };
}

export async function health() {
  const c = config();
  const adapters = {
    database: c.database.kind,
    auth: c.auth.jwksUrl ? (c.auth.secret ? 'supabase-jwks+hs256' : 'supabase-jwks') : 'hs256',
    jobs: c.jobs.adapter,
    rateLimit: c.redis ? 'upstash' : 'memory',
    realtime: c.database.kind === 'postgres' ? 'realtime.send' : 'realtime.send (local bootstrap)',
    storage: storageKind(),
    emailOut: outboundKind(),
    ai: c.ai.apiKey ? 'openai-compatible' : 'offline',
  };
  let database: { ok: boolean; latencyMs?: number; error?: string } = { ok: false };
  let migrations: { ok: boolean } & MigrationState = { ok: false, pending: [], outOfOrder: [], edited: [] };
  let jobs: JobQueueHealth | { mode: string; ok: false; error?: string } = { mode: c.jobs.adapter, ok: false };
  let timer: NodeJS.Timeout | undefined;
  try {
    const check = async () => {
      const sql = await db();
      const started = performance.now();
      await sql`select 1`;
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const state = await migrationState(sql);
      const current = state.pending.length === 0 && state.edited.length === 0;
      const queue = current
        ? await jobQueue(sql, c.jobs.adapter).catch((error: unknown) => ({
            mode: c.jobs.adapter,
            ok: false as const,
            error: (error as { code?: string }).code ?? 'unreadable',
          }))
        : undefined;
      return { latencyMs, state, current, queue };
    };
    // A database or network gone silent must not hold the answer (connect_timeout bounds only connecting).
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('database check timed out'), { code: 'timeout' })), DATABASE_CHECK_MS);
    });
    const { latencyMs, state, current, queue } = await Promise.race([check(), deadline]);
    database = { ok: true, latencyMs };
    migrations = { ok: current, ...state };
    if (queue) jobs = queue;
  } catch (error) {
    database = { ok: false, error: (error as { code?: string }).code ?? 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
  const ok = database.ok && migrations.ok && jobs.ok;
  return { status: ok ? 'ok' : 'degraded', env: c.env, database, migrations, jobs, adapters };
}

const versions = z.array(z.string());

/** The report in wire form, both when ok (200) and degraded (503). */
export const healthWire = z.strictObject({
  status: z.enum(['ok', 'degraded']),
  env: z.string(),
  database: z.strictObject({ ok: z.boolean(), latencyMs: z.number().optional(), error: z.string().optional() }),
  migrations: z.strictObject({ ok: z.boolean(), pending: versions, outOfOrder: versions, edited: versions }),
  jobs: z.union([
    z.strictObject({
      mode: z.string(),
      ok: z.boolean(),
      due: z.number().int(),
      oldestDueSeconds: z.number().int(),
      running: z.number().int(),
      expiredLeases: z.number().int(),
      dead: z.number().int(),
    }),
    z.strictObject({ mode: z.string(), ok: z.literal(false), error: z.string().optional() }),
  ]),
  adapters: z.record(z.string(), z.string()),
});
