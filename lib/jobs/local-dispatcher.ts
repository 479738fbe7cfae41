// The in-process job dispatcher for the embedded default: polls the outbox for due rows and runs them
// with the same runJob the QStash executor uses. Development and tests only (loaded dynamically).
import { db } from '../db/client.js';
import { log } from '../log.js';
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

/** Starts polling (every intervalMs, and at once when a request commits jobs). */
export function startLocalDispatcher(options: { intervalMs?: number; concurrency?: number } = {}): LocalDispatcher {
  const interval = options.intervalMs ?? 1000;
  const concurrency = options.concurrency ?? 4;
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const tick = async () => {
    const ids = await dueJobIds(concurrency * 4);
    // A pool of `concurrency` runners over the batch: a slow job (an analysis) holds one runner, not the batch.
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, ids.length) }, async () => {
        while (next < ids.length) await runJob(ids[next++]!);
      }),
    );
    if (ids.length === concurrency * 4) again = true;
  };
  const kick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = tick()
      .catch((error: unknown) => log.error('local dispatcher tick failed', { error }))
      .finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          kick();
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
      await running;
    },
  };
}
