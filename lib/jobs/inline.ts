// JOBS_ADAPTER=inline: jobs run in the function that committed them, after its response, one after
// another until the time budget is spent; whatever is left (delayed jobs, retries, jobs past the
// budget) waits in the outbox for the per-minute sweeper (/api/cron/jobs-sweep), which runs due jobs
// the same way. Loaded on demand by publishJobs and the sweeper.
import { db } from '../db/client.js';
import { log } from '../log.js';
import { withInlineSession, type InlineSession } from './publish.js';
import { runJob, type JobOutcome } from './run.js';

export interface InlineResult {
  ran: number;
  outcomes: Partial<Record<JobOutcome, number>>;
  /** Due jobs not started because the budget was spent (the sweeper runs them). */
  leftOver: number;
  /** Jobs not due yet (a delay or a retry's backoff): the sweeper runs them when they are. */
  notDue: number;
}

function tally(result: InlineResult, outcome: JobOutcome): void {
  result.ran++;
  result.outcomes[outcome] = (result.outcomes[outcome] ?? 0) + 1;
}

/**
 * Runs the session's queue (which grows with the jobs its jobs enqueue) until it is empty or the budget
 * is spent. The first due job always runs, whatever the budget: the request that committed it waits for nothing else.
 */
export async function drainInlineSession(session: InlineSession): Promise<InlineResult> {
  const result: InlineResult = { ran: 0, outcomes: {}, leftOver: 0, notDue: 0 };
  while (session.queue.length > 0) {
    if (result.ran > 0 && Date.now() >= session.deadline) {
      result.leftOver = session.queue.length;
      break;
    }
    const job = session.queue.shift()!;
    if (job.runAt.getTime() > Date.now() + 1000) {
      result.notDue++;
      continue;
    }
    tally(result, await runJob(job.id));
  }
  if (result.leftOver > 0) log.info('inline job budget spent; the sweeper runs the rest', { ...result });
  return result;
}

/** The sweeper's part in inline mode: runs every due job (oldest first) within the budget. */
export async function runDueJobsInline(budgetMs: number): Promise<InlineResult> {
  const sql = await db();
  const session: InlineSession = { queue: [], deadline: Date.now() + budgetMs };
  const result: InlineResult = { ran: 0, outcomes: {}, leftOver: 0, notDue: 0 };
  const seen = new Set<string>();
  await withInlineSession(session, async () => {
    while (Date.now() < session.deadline) {
      const due = await sql<{ id: string }[]>`
        select id from app.outbox
        where (status = 'pending' and run_at <= now()) or (status = 'running' and locked_until < now())
        order by run_at limit 50`;
      const fresh = due.filter((r) => !seen.has(r.id));
      if (fresh.length === 0) break;
      for (const { id } of fresh) {
        if (Date.now() >= session.deadline) break;
        seen.add(id);
        tally(result, await runJob(id));
      }
      // Jobs those jobs enqueued are in the outbox already: the next query finds them when due.
      session.queue.length = 0;
    }
  });
  const [left] = await sql<{ n: number }[]>`
    select count(*)::int as n from (
      select 1 from app.outbox
      where (status = 'pending' and run_at <= now()) or (status = 'running' and locked_until < now()) limit 10000) d`;
  result.leftOver = left?.n ?? 0;
  return result;
}
