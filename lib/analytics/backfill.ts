// Backfills app.message_responses for threads answered before the table existed: one batch of the
// organization's threads per run, in id order from `after`, each run queuing the next until a short
// batch ends it. The writing path (applyServiceLevels) records new responses; a response already
// recorded stays as it is, so a retried or repeated run adds nothing twice.
import { backfillResponses } from '../sla/clock.js';
import type { Ctx } from '../context.js';
import { defineBackfill } from '../jobs/backfill.js';
import { jobSpecs } from '../jobs/specs.js';

/** Threads per run: their messages' events are read in one statement. */
export const RESPONSES_BACKFILL_BATCH = 500;

export async function responsesBackfillBatch(ctx: Ctx, after: string | null, batch = RESPONSES_BACKFILL_BATCH) {
  const sql = ctx.sql;
  const ids = (
    await sql<{ id: string }[]>`
      select id from app.threads where org_id = ${ctx.orgId} ${after ? sql`and id > ${after}::uuid` : sql``} order by id limit ${batch}`
  ).map((t) => t.id);
  const added = await backfillResponses(ctx, ids);
  return { added, next: ids.length === batch ? ids[ids.length - 1]! : null };
}

export const responsesBackfill = defineBackfill(jobSpecs.responsesBackfill, (ctx, after) => responsesBackfillBatch(ctx, after));
