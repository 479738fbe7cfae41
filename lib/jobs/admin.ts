// Jobs as owners and admins see them: the dead ones (and any other status) and a retry.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { notFound } from '../errors.js';
import { decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { recordChange, topics } from '../realtime.js';
import { jobDefinition } from './registry.js';

export const jobListQuery = z.object({
  ...pageQuery,
  status: z.enum(['pending', 'running', 'done', 'dead']).default('dead'),
  name: z.string().max(64).optional(),
});

const columns = 'id, name, payload, status, attempts, max_attempts, run_at, deadline_at, last_error, first_attempt_at, done_at, created_at, updated_at';

export async function listJobs(ctx: Ctx, q: z.infer<typeof jobListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, z.tuple([z.iso.datetime({ offset: true }), z.uuid()]));
  const rows = await sql<{ id: string; sortAt: string }[]>`
    select ${sql.unsafe(columns)}, ${exactInstant(sql, 'updated_at', 'sort_at')} from app.outbox
    where org_id = ${ctx.orgId} and status = ${q.status}
      ${q.name ? sql`and name = ${q.name}` : sql``}
      ${after ? sql`and (updated_at, id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
    order by updated_at desc, id desc limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.id]);
  return { ...page, data: page.data.map(({ sortAt: _s, ...job }) => job) };
}

/**
 * Puts a dead job back in the queue (attempts and deadline start afresh) and lets the job undo what
 * made it final (onRetry: a failed message goes back to queued, so the run sends it again). Both in
 * the caller's transaction; the job leaves after commit.
 */
export async function retryDeadJob(ctx: Ctx, id: string) {
  const [job] = await ctx.sql<{ id: string | null; name: string; payload: unknown; runAt: Date; maxAttempts: number }[]>`
    select (j).id, (j).name, (j).payload, (j).run_at, (j).max_attempts from (select app.retry_job(${id}) as j) r`;
  if (!job?.id) throw notFound('Dead job');
  // The handlers load only here (a retry is rare): the admin routes stay small otherwise.
  await import('./all.js');
  const def = jobDefinition(job.name);
  const payload = def?.schema.safeParse(job.payload);
  if (def?.onRetry && payload?.success) await def.onRetry({ ctx, payload: payload.data, job: { id: job.id } });
  ctx.jobs.push({ id: job.id, name: job.name, runAt: job.runAt, maxAttempts: job.maxAttempts });
  await recordChange(ctx, {
    event: 'job.retried',
    topics: [topics.org(ctx.orgId)],
    data: { id: job.id, name: job.name },
    audit: { entityType: 'job', entityId: job.id },
  });
  return { id: job.id, name: job.name, status: 'pending' };
}
