// The cron sweeper: takes back leases of crashed runs, republishes jobs that were never acknowledged
// (QStash mode) and drops expired idempotency keys and old finished jobs. Bounded work per tick.
import { config } from '../config.js';
import { db } from '../db/client.js';
import { log } from '../log.js';
import { publishToQStash } from './publish.js';

export interface SweepResult {
  leasesExpired: number;
  republished: number;
  idempotencyKeysDeleted: number;
  finishedJobsDeleted: number;
}

/** A published job whose delivery has not been acknowledged for this long is published again. */
const UNACKNOWLEDGED_MINUTES = 10;

export async function sweepJobs(options: { limit?: number } = {}): Promise<SweepResult> {
  const sql = await db();
  const limit = options.limit ?? 200;
  const expired = await sql`
    update app.outbox set status = 'pending', locked_until = null,
      last_error = coalesce(last_error, 'the previous run did not finish (lease expired)')
    where status = 'running' and locked_until < now()
    returning id`;
  let republished = 0;
  if (config().qstash) {
    const due = await sql<{ id: string; name: string; runAt: Date; maxAttempts: number }[]>`
      select id, name, run_at, max_attempts from app.outbox
      where status = 'pending' and run_at <= now() + interval '1 minute'
        and (published_at is null or published_at < now() - make_interval(mins => ${UNACKNOWLEDGED_MINUTES}))
      order by run_at limit ${limit}`;
    for (const job of due) {
      // A fresh deduplication id: QStash keeps ids for 90 days and would drop a republish of the first.
      await publishToQStash(job, `${job.id}-${Date.now()}`)
        .then(() => republished++)
        .catch((error: unknown) => log.warn('job republish failed', { jobId: job.id, error }));
    }
  }
  const keys = await sql`delete from app.idempotency_keys where expires_at < now() returning key`;
  const finished = await sql`
    delete from app.outbox where id in (
      select id from app.outbox where status = 'done' and done_at < now() - interval '7 days' limit 1000)
    returning id`;
  return {
    leasesExpired: expired.length,
    republished,
    idempotencyKeysDeleted: keys.length,
    finishedJobsDeleted: finished.length,
  };
}
