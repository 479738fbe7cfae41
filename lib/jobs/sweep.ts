// The cron sweeper (every minute): takes back the leases of crashed runs (a run that used the last
// attempt makes its job dead), republishes jobs QStash never acknowledged, runs due jobs itself in
// inline mode, and drops expired idempotency keys, old finished jobs and sync tombstones older than any
// sync may look back (lib/sync.ts). Bounded work per tick.
import { config } from '../config.js';
import { db } from '../db/client.js';
import { log } from '../log.js';
import { now } from '../time.js';
import { publishToQStash } from './publish.js';
import { TOMBSTONE_RETENTION_DAYS } from '../sync.js';

export interface SweepResult {
  leasesExpired: number;
  /** Crashed runs that were their job's last attempt: those jobs are dead now (onDead ran). */
  buried: number;
  republished: number;
  /** Inline mode: jobs run by this sweep, and due jobs it left for the next one (budget spent). */
  ranInline: number;
  leftInline: number;
  idempotencyKeysDeleted: number;
  finishedJobsDeleted: number;
  tombstonesDeleted: number;
}

/** A published job whose delivery has not been acknowledged for this long is published again. */
const UNACKNOWLEDGED_MINUTES = 10;

export async function sweepJobs(options: { limit?: number } = {}): Promise<SweepResult> {
  const sql = await db();
  const limit = options.limit ?? 200;
  const cfg = config();
  const spent = await sql<{ id: string }[]>`
    select id from app.outbox where status = 'running' and locked_until < now() and attempts >= max_attempts limit ${limit}`;
  let buried = 0;
  if (spent.length > 0) {
    // The runner (with every handler) loads only when needed: the cron function stays small otherwise.
    const { buryIfSpent } = await import('./run.js');
    for (const { id } of spent) if (await buryIfSpent(id)) buried++;
  }
  // Published again at once (published_at cleared): QStash may have given up on the crashed delivery.
  const expired = await sql`
    update app.outbox set status = 'pending', locked_until = null, lease_id = null, published_at = null,
      last_error = coalesce(last_error, 'the previous run did not finish (lease expired)')
    where status = 'running' and locked_until < now() and attempts < max_attempts
    returning id`;
  let republished = 0;
  if (cfg.jobs.adapter === 'qstash') {
    // Due by the clock publishToQStash decides with (lib/time.ts), so a job it left for later because
    // QStash takes no delay that long is published here once it is due.
    const due = await sql<{ id: string; name: string; runAt: Date; maxAttempts: number }[]>`
      select id, name, run_at, max_attempts from app.outbox
      where status = 'pending' and run_at <= ${now()}::timestamptz + interval '1 minute'
        and (published_at is null or published_at < now() - make_interval(mins => ${UNACKNOWLEDGED_MINUTES}))
      order by run_at limit ${limit}`;
    for (const job of due) {
      // A fresh deduplication id: QStash keeps ids for 90 days and would drop a republish of the first.
      await publishToQStash(job, `${job.id}-${Date.now()}`)
        .then(() => republished++)
        .catch((error: unknown) => log.warn('job republish failed', { jobId: job.id, error }));
    }
  }
  let ranInline = 0;
  let leftInline = 0;
  if (cfg.jobs.adapter === 'inline') {
    const { runDueJobsInline } = await import('./inline.js');
    const ran = await runDueJobsInline(cfg.jobs.inlineBudgetMs);
    ranInline = ran.ran;
    leftInline = ran.leftOver;
  }
  const keys = await sql`delete from app.idempotency_keys where expires_at < now() returning key`;
  const finished = await sql`
    delete from app.outbox where id in (
      select id from app.outbox where status = 'done' and done_at < now() - interval '7 days' limit 1000)
    returning id`;
  const tombstones = await sql`
    delete from app.sync_tombstones where ctid in (
      select ctid from app.sync_tombstones where deleted_at < now() - make_interval(days => ${TOMBSTONE_RETENTION_DAYS}) limit 1000)
    returning id`;
  return {
    leasesExpired: expired.length,
    buried,
    republished,
    ranInline,
    leftInline,
    idempotencyKeysDeleted: keys.length,
    finishedJobsDeleted: finished.length,
    tombstonesDeleted: tombstones.length,
  };
}
