// The in-process job dispatcher for the embedded default: polls the outbox for due rows and runs them
// with the same runJob the QStash executor uses. Development and tests only (loaded dynamically).
import { db } from '../db/client.js';
import { log } from '../log.js';
// Development runs every job in this process, the document jobs (their own function when deployed) too.
import '../documents/jobs.js';
import { onLocalJobs } from './publish.js';
import { runJob, type JobOutcome } from './run.js';

async function dueJobIds(limit: number): Promise<string[]> {
  const sql = await db();
  const rows = await sql<{ id: string }[]>`
    select id from app.outbox
    where (status = 'pending' and run_at <= now()) or (status = 'running' and locked_until < now())
    order by run_at limit ${limit}`;
  return rows.map((r) => r.id);
}

/** Runs every due job until none is left (jobs a job enqueues included); returns the outcomes. */
export async function drainJobs(options: { maxRounds?: number } = {}): Promise<JobOutcome[]> {
  const outcomes: JobOutcome[] = [];
  for (let round = 0; round < (options.maxRounds ?? 20); round++) {
    const ids = await dueJobIds(100);
    if (ids.length === 0) break;
    for (const id of ids) outcomes.push(await runJob(id));
    if (outcomes.slice(-ids.length).every((o) => o === 'retry' || o === 'busy' || o === 'early')) break;
  }
  return outcomes;
}

export interface LocalDispatcher {
  stop(): Promise<void>;
}

/**
 * Starts polling (every intervalMs, and at once when a request commits jobs). `concurrency` runners take
 * due jobs one by one from a shared queue that refills from the outbox when it runs dry, so a job that
 * commits while others run starts as soon as a runner is free, not after a whole batch.
 */
export function startLocalDispatcher(options: { intervalMs?: number; concurrency?: number } = {}): LocalDispatcher {
  const interval = options.intervalMs ?? 1000;
  const concurrency = options.concurrency ?? 4;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const queue: string[] = [];
  const taken = new Set<string>();
  const runners = new Set<Promise<void>>();
  let refilling: Promise<void> | undefined;
  let stale = false;

  /** One refill at a time; a kick during one asks for another after it (new jobs may have committed meanwhile). */
  const refill = (): Promise<void> => {
    if (refilling) {
      stale = true;
      return refilling;
    }
    refilling = (async () => {
      do {
        stale = false;
        const ids = await dueJobIds(concurrency * 4);
        for (const id of ids) if (!taken.has(id) && !queue.includes(id)) queue.push(id);
      } while (stale && !stopped);
    })()
      .catch((error: unknown) => log.error('local dispatcher refill failed', { error }))
      .finally(() => {
        refilling = undefined;
      });
    return refilling;
  };

  const runner = async () => {
    while (!stopped) {
      let id = queue.shift();
      if (!id) {
        await refill();
        id = queue.shift();
        if (!id) return;
      }
      taken.add(id);
      try {
        await runJob(id);
      } catch (error) {
        log.error('local dispatcher job failed', { jobId: id, error });
      } finally {
        taken.delete(id);
      }
    }
  };

  const kick = () => {
    if (stopped) return;
    void refill().then(() => {
      while (!stopped && runners.size < concurrency && queue.length > runners.size) {
        const r: Promise<void> = runner().finally(() => runners.delete(r));
        runners.add(r);
      }
    });
  };
  onLocalJobs(kick);
  timer = setInterval(kick, interval);
  timer.unref();
  kick();
  return {
    async stop() {
      stopped = true;
      onLocalJobs(undefined);
      if (timer) clearInterval(timer);
      timer = undefined;
      await refilling;
      await Promise.all([...runners]);
    },
  };
}
