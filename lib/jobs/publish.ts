// After commit, jobs go to QStash (deduplicated on the outbox id) or wake the local dispatcher.
import { config, publicUrl } from '../config.js';
import type { QueuedJob } from '../context.js';
import { db } from '../db/client.js';
import { log } from '../log.js';

type Waker = () => void;
let localWaker: Waker | undefined;

/** The in-process dispatcher registers here (dev server); without one, jobs wait for a drain. */
export function onLocalJobs(waker: Waker | undefined): void {
  localWaker = waker;
}

export function jobUrl(name: string): string {
  return publicUrl(`/api/jobs/${name}`);
}

let client: Promise<import('@upstash/qstash').Client> | undefined;

async function qstashClient() {
  const q = config().qstash!;
  client ??= import('@upstash/qstash').then(({ Client }) => new Client({ token: q.token, baseUrl: q.url }));
  return client;
}

/** QStash retries a failed delivery itself; our own attempt count decides when a job is dead. */
const MAX_QSTASH_RETRIES = 5;

export async function publishToQStash(job: QueuedJob, deduplicationId = job.id): Promise<void> {
  const qstash = await qstashClient();
  const notBefore = Math.ceil(job.runAt.getTime() / 1000);
  await qstash.publishJSON({
    url: jobUrl(job.name),
    body: { outboxId: job.id },
    deduplicationId,
    retries: Math.min(MAX_QSTASH_RETRIES, Math.max(0, job.maxAttempts - 1)),
    ...(notBefore > Date.now() / 1000 + 1 ? { notBefore } : {}),
  });
  const sql = await db();
  await sql`update app.outbox set published_at = now() where id = ${job.id}`;
}

/**
 * Publishes jobs committed by a request. A failure here loses nothing: the rows stay unpublished and
 * the cron sweeper publishes them on its next tick.
 */
export async function publishJobs(jobs: QueuedJob[]): Promise<void> {
  if (!config().qstash) {
    localWaker?.();
    return;
  }
  await Promise.all(
    jobs.map((job) =>
      publishToQStash(job).catch((error: unknown) => log.warn('job publish failed; the sweeper will retry', { jobId: job.id, error })),
    ),
  );
}
