// Backfills app.messages.identifiers for messages stored before the column existed: one batch of the
// organization's messages per run, in id order from `after`, each run queuing the next until a short
// batch ends it. Every writer of messages fills the column (messageIdentifiers: ingest, replies and
// drafts, AI drafts, calls, transcripts), so running it again only rewrites what the extractor now
// reads differently.
import type { Ctx } from '../context.js';
import { enqueue } from '../jobs/enqueue.js';
import { recordChange, topics } from '../realtime.js';
import { defineBackfill } from '../jobs/backfill.js';
import { jobSpecs } from '../jobs/specs.js';
import { messageIdentifiers } from '../logistics/identifiers.js';

/** Messages per run: a few hundred bodies keep one run to a second or two. */
export const BACKFILL_BATCH = 500;

/**
 * Queues the backfill of the acting organization's messages from the start (POST
 * /api/admin/identifiers-backfill); answers the job and how many messages it will read. Audited and
 * announced to the organization, as the search backfill is.
 */
export async function startIdentifiersBackfill(ctx: Ctx): Promise<{ jobId: string; messages: number }> {
  const [row] = await ctx.sql<{ messages: number }[]>`select count(*)::int as messages from app.messages where org_id = ${ctx.orgId}`;
  const jobId = await enqueue(ctx, jobSpecs.identifiersBackfill, { after: null });
  await recordChange(ctx, {
    event: 'identifiers.backfill_started',
    topics: [topics.org(ctx.orgId)],
    data: { jobId },
    audit: { entityType: 'job', entityId: jobId },
  });
  return { jobId, messages: row!.messages };
}

export async function backfillBatch(ctx: Ctx, after: string | null, batch = BACKFILL_BATCH): Promise<{ updated: number; next: string | null }> {
  const sql = ctx.sql;
  const rows = await sql<{ id: string; subject: string | null; bodyText: string | null; identifiers: string[] }[]>`
    select id, subject, coalesce(body_text, transcript) as body_text, identifiers from app.messages
    where org_id = ${ctx.orgId} ${after ? sql`and id > ${after}::uuid` : sql``}
    order by id limit ${batch}`;
  const changed = rows
    .map((m) => ({ id: m.id, identifiers: messageIdentifiers({ subject: m.subject, body: m.bodyText }), was: m.identifiers }))
    .filter((m) => m.identifiers.join(' ') !== [...m.was].sort().join(' '));
  if (changed.length) {
    await sql`
      update app.messages m set identifiers = v.identifiers::text[]
      from (select unnest(${changed.map((c) => c.id)}::uuid[]) as id, unnest(${changed.map((c) => `{${c.identifiers.map((i) => `"${i}"`).join(',')}}`)}::text[]) as identifiers) v
      where m.id = v.id and m.org_id = ${ctx.orgId}`;
  }
  return { updated: changed.length, next: rows.length === batch ? rows[rows.length - 1]!.id : null };
}

export const identifiersBackfill = defineBackfill(jobSpecs.identifiersBackfill, (ctx, after) => backfillBatch(ctx, after));
