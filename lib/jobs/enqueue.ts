// Writes a job into the outbox in the caller's transaction; it is published after commit.
import type { z } from 'zod';
import type { Ctx } from '../context.js';
import type { JobSpec } from './specs.js';

export interface EnqueueOptions {
  /** Do not run before this time. */
  runAt?: Date;
  /** Stop retrying after this time (the job is then dead). */
  deadlineAt?: Date;
  maxAttempts?: number;
  /** A second enqueue with the same key (per organization and job) returns the first job. */
  dedupeKey?: string;
}

export async function enqueue<S extends z.ZodType>(ctx: Ctx, job: JobSpec<S>, payload: z.infer<S>, options: EnqueueOptions = {}): Promise<string> {
  const parsed = job.schema.parse(payload);
  const maxAttempts = options.maxAttempts ?? job.maxAttempts ?? 8;
  const runAt = options.runAt ?? new Date();
  const deadlineAt = options.deadlineAt ?? (job.deadlineMs ? new Date(runAt.getTime() + job.deadlineMs) : null);
  const [row] = await ctx.sql<{ id: string }[]>`
    select app.enqueue_job(${job.name}, ${ctx.sql.json(parsed as never)}, ${runAt}, ${deadlineAt},
                           ${maxAttempts}, ${options.dedupeKey ?? null}) as id`;
  const id = row!.id;
  if (!ctx.jobs.some((j) => j.id === id)) ctx.jobs.push({ id, name: job.name, runAt, maxAttempts });
  return id;
}
