// The one place committed jobs leave from, by JOBS_ADAPTER: to QStash (deduplicated on the outbox id),
// into this function's own time after its response (inline, through waitUntil), or to the in-process
// dispatcher (development). Light on purpose: every route imports it, none loads a handler through it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { config, publicUrl } from '../config.js';
import type { QueuedJob } from '../context.js';
import { db } from '../db/client.js';
import { log } from '../log.js';
import { now } from '../time.js';

type Waker = () => void;
let localWaker: Waker | undefined;

/** The in-process dispatcher registers here (dev server); without one, jobs wait for a drain. */
export function onLocalJobs(waker: Waker | undefined): void {
  localWaker = waker;
}

/** Document jobs (`document.*`) run in their own function, api/jobs/documents/[name].ts, which carries the OCR engine. */
export const isDocumentJob = (name: string) => name.startsWith('document.');

export function jobUrl(name: string): string {
  return publicUrl(isDocumentJob(name) ? `/api/jobs/documents/${name}` : `/api/jobs/${name}`);
}

let client: { for: string; client: Promise<import('@upstash/qstash').Client> } | undefined;

/** The client for the configured QStash (made again when the configuration names another). */
async function qstashClient() {
  const q = config().qstash!;
  const key = `${q.url} ${q.token}`;
  if (client?.for !== key) client = { for: key, client: import('@upstash/qstash').then(({ Client }) => new Client({ token: q.token, baseUrl: q.url })) };
  return client.client;
}

/** QStash retries a failed delivery itself; our own attempt count decides when a job is dead. */
const MAX_QSTASH_RETRIES = 5;

/**
 * The longest delay QStash takes on its free plan (7 days; pay-as-you-go allows a year:
 * https://upstash.com/docs/qstash/features/delay). A job due later (an action's due time weeks away)
 * is not published now: it waits in the outbox, unpublished, and the minute sweeper publishes it once
 * it is due (lib/jobs/sweep.ts), whatever the plan.
 */
export const QSTASH_MAX_DELAY_MS = 7 * 24 * 3_600_000;

/** Publishes one job to QStash (with its delay), unless it is due beyond QSTASH_MAX_DELAY_MS (lib/time.ts's clock). */
export async function publishToQStash(job: QueuedJob, deduplicationId = job.id): Promise<void> {
  const at = now().getTime();
  if (job.runAt.getTime() > at + QSTASH_MAX_DELAY_MS) return;
  const qstash = await qstashClient();
  const notBefore = Math.ceil(job.runAt.getTime() / 1000);
  await qstash.publishJSON({
    url: jobUrl(job.name),
    body: { outboxId: job.id },
    deduplicationId,
    retries: Math.min(MAX_QSTASH_RETRIES, Math.max(0, job.maxAttempts - 1)),
    ...(notBefore > at / 1000 + 1 ? { notBefore } : {}),
  });
  const sql = await db();
  await sql`update app.outbox set published_at = now() where id = ${job.id}`;
}

/** An inline run in progress: jobs its jobs enqueue join its queue and its time budget. */
export interface InlineSession {
  queue: QueuedJob[];
  deadline: number;
}

const inlineSessions = new AsyncLocalStorage<InlineSession>();

/** Runs fn as an inline session: what publishJobs is given meanwhile joins `session.queue`. */
export function withInlineSession<T>(session: InlineSession, fn: () => Promise<T>): Promise<T> {
  return inlineSessions.run(session, fn);
}

/**
 * Inline mode: the jobs run in this function after its response. waitUntil (Vercel's request context)
 * keeps the function alive for them; without one (npm run dev) the promise simply runs on. The runner
 * and @vercel/functions load on demand (awaited here, still inside the request's context), so other
 * modes and every route's bundle pay nothing for them.
 */
async function runInline(jobs: QueuedJob[]): Promise<void> {
  const current = inlineSessions.getStore();
  if (current) {
    current.queue.push(...jobs);
    return;
  }
  const { waitUntil } = await import('@vercel/functions');
  const work = (async () => {
    const { drainInlineSession } = await import('./inline.js');
    // The budget counts from here: loading the runner on a cold start is not the jobs' time.
    const session: InlineSession = { queue: [...jobs], deadline: Date.now() + config().jobs.inlineBudgetMs };
    await withInlineSession(session, () => drainInlineSession(session));
  })().catch((error: unknown) => log.error('inline jobs failed; the sweeper will run what is left', { error }));
  waitUntil(work);
}

/**
 * Publishes jobs committed by a request, webhook, cron or job. A failure here loses nothing: the rows
 * stay in the outbox and the cron sweeper publishes (or, inline, runs) them on its next tick.
 */
export async function publishJobs(jobs: QueuedJob[]): Promise<void> {
  if (jobs.length === 0) return;
  const adapter = config().jobs.adapter;
  if (adapter === 'local') {
    localWaker?.();
    return;
  }
  if (adapter === 'inline') {
    // Never fails the caller, whose transaction committed: the rows wait for the sweeper.
    await runInline(jobs).catch((error: unknown) => log.error('inline jobs not started; the sweeper will run them', { error }));
    return;
  }
  await Promise.all(
    jobs.map((job) => publishToQStash(job).catch((error: unknown) => log.warn('job publish failed; the sweeper will retry', { jobId: job.id, error }))),
  );
}
