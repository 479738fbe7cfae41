// Fills app.messages.search_vector for messages stored before the column existed (new ones get it from
// the insert trigger, migration 20261206030000): one batch of the organization's messages per run, in
// id order from `after`, each run queuing the next until a short batch ends it. The vector is computed
// by the same SQL function the trigger uses, so the rule stays in one place; a message that already has
// one is left alone, so running it again costs only the reading.
import type { Ctx } from '../context.js';
import { enqueue } from '../jobs/enqueue.js';
import { defineBackfill } from '../jobs/backfill.js';
import { jobSpecs } from '../jobs/specs.js';
import { recordChange, topics } from '../realtime.js';

/** Messages per run: bodies are read and indexed in the database, a thousand in a second or two. */
export const SEARCH_BACKFILL_BATCH = 1000;

/** Queues the backfill of the acting organization's messages from the start (POST /api/admin/search-backfill). */
export async function startSearchBackfill(ctx: Ctx): Promise<{ jobId: string; missing: number }> {
  const [row] = await ctx.sql<{ missing: number }[]>`
    select count(*)::int as missing from app.messages where org_id = ${ctx.orgId} and search_vector is null`;
  const jobId = await enqueue(ctx, jobSpecs.searchBackfill, { after: null });
  // Audited and announced to the organization, as a job put back in the queue is (job.retried).
  await recordChange(ctx, {
    event: 'search.backfill_started',
    topics: [topics.org(ctx.orgId)],
    data: { jobId },
    audit: { entityType: 'job', entityId: jobId },
  });
  return { jobId, missing: row!.missing };
}

export async function searchBackfillBatch(ctx: Ctx, after: string | null, batch = SEARCH_BACKFILL_BATCH): Promise<{ updated: number; next: string | null }> {
  const sql = ctx.sql;
  const ids = await sql<{ id: string; missing: boolean }[]>`
    select id, search_vector is null as missing from app.messages
    where org_id = ${ctx.orgId} ${after ? sql`and id > ${after}::uuid` : sql``}
    order by id limit ${batch}`;
  const missing = ids.filter((r) => r.missing).map((r) => r.id);
  let updated = 0;
  if (missing.length) {
    const result = await sql`
      update app.messages m
      set search_vector = app.message_search_vector(m.subject, m.from_name, m.from_address, m.body_text, m.body_html, m.transcript)
      where m.org_id = ${ctx.orgId} and m.id = any(${missing}::uuid[]) and m.search_vector is null`;
    updated = result.count;
  }
  return { updated, next: ids.length === batch ? ids[ids.length - 1]!.id : null };
}

export const searchBackfill = defineBackfill(jobSpecs.searchBackfill, (ctx, after) => searchBackfillBatch(ctx, after));
