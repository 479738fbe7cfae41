// A backfill as a chain of jobs: each run does one batch of the organization's rows from the cursor
// `after` (in key order) and queues the next run from where it stopped, until a short batch ends it.
// Each batch commits with its run, so a crash repeats one batch at most and loses nothing.
import * as z from 'zod';
import { enqueue } from './enqueue.js';
import { defineJob } from './registry.js';
import type { JobSpec } from './specs.js';
import type { Ctx } from '../context.js';

type CursorSpec = JobSpec<z.ZodType<{ after: string | null }>>;

export function defineBackfill(spec: CursorSpec, batch: (ctx: Ctx, after: string | null) => Promise<{ next: string | null }>) {
  return defineJob({
    ...spec,
    async handle({ ctx, payload }) {
      const { next } = await batch(ctx, payload.after);
      if (next) await enqueue(ctx, spec, { after: next });
    },
  });
}
