// Links between a shipment and the conversations about it. Automatic links come from identifiers
// (a new shipment, or a reference added to one, finds the messages that already name it through
// app.messages_naming and the GIN index on messages.identifiers); members link, unlink and correct by
// hand. Unlinking keeps the link as `rejected`, so automatic matching never makes it again; linking by
// hand afterwards turns it back into a `manual` link.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { invalid, notFound } from '../errors.js';
import { recordChange, topics } from '../realtime.js';

export const threadLinkBody = z.strictObject({ threadId: z.uuid() });
export const threadUnlinkQuery = z.object({ threadId: z.uuid() });

/** Links the messages (and their threads) that name any of these canonical identifiers; returns the threads newly linked. */
export async function linkByIdentifiers(ctx: Ctx, shipmentId: string, identifiers: string[]): Promise<string[]> {
  if (!identifiers.length) return [];
  const sql = ctx.sql;
  const rows = await sql<{ threadId: string }[]>`
    with found as (
      select id, thread_id, matched from app.messages_naming(${identifiers}::text[])
    ), message_links as (
      insert into app.message_shipments (org_id, message_id, shipment_id, link_source, matched_identifier)
      select ${ctx.orgId}, id, ${shipmentId}, 'automatic', matched from found on conflict do nothing
    ), threads as (
      select distinct on (thread_id) thread_id, matched from found order by thread_id
    )
    insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source, matched_identifier)
    select ${ctx.orgId}, thread_id, ${shipmentId}, 'automatic', matched from threads
    on conflict do nothing
    returning thread_id`;
  const threadIds = rows.map((r) => r.threadId);
  for (const threadId of threadIds) await announceLink(ctx, shipmentId, threadId, 'automatic');
  return threadIds;
}

async function announceLink(ctx: Ctx, shipmentId: string, threadId: string, linkSource: 'automatic' | 'manual' | 'rejected') {
  await recordChange(ctx, {
    event: linkSource === 'rejected' ? 'shipment.thread_unlinked' : 'shipment.thread_linked',
    topics: [topics.shipment(ctx.orgId, shipmentId), topics.thread(ctx.orgId, threadId)],
    data: { shipmentId, threadId, linkSource },
    audit: linkSource === 'automatic' ? undefined : { entityType: 'shipment', entityId: shipmentId, data: { threadId, linkSource } },
  });
}

async function requireShipmentAndThread(ctx: Ctx, shipmentId: string, threadId: string, threadPath: string) {
  const [row] = await ctx.sql<{ shipment: string | null; thread: string | null }[]>`
    select (select id from app.shipments where id = ${shipmentId} and org_id = ${ctx.orgId}) as shipment,
           (select id from app.threads where id = ${threadId} and org_id = ${ctx.orgId}) as thread`;
  if (!row?.shipment) throw notFound('Shipment');
  if (!row.thread) throw invalid(threadPath, 'is not a thread of this organization');
}

/** Links a thread by hand (also restores one rejected before). */
export async function linkThread(ctx: Ctx, shipmentId: string, threadId: string) {
  await requireShipmentAndThread(ctx, shipmentId, threadId, 'body.threadId');
  const [link] = await ctx.sql<{ threadId: string; shipmentId: string; linkSource: string; matchedIdentifier: string | null; createdAt: Date }[]>`
    insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source, created_by)
    values (${ctx.orgId}, ${threadId}, ${shipmentId}, 'manual', ${ctx.userId})
    on conflict (thread_id, shipment_id) do update set link_source = 'manual', created_by = excluded.created_by
    returning thread_id, shipment_id, link_source, matched_identifier, created_at`;
  await announceLink(ctx, shipmentId, threadId, 'manual');
  return link!;
}

/** Unlinks a thread: the link stays as `rejected` (and so do its messages' links) so matching never restores it. */
export async function unlinkThread(ctx: Ctx, shipmentId: string, threadId: string): Promise<null> {
  await requireShipmentAndThread(ctx, shipmentId, threadId, 'query.threadId');
  await ctx.sql`
    insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source, created_by)
    values (${ctx.orgId}, ${threadId}, ${shipmentId}, 'rejected', ${ctx.userId})
    on conflict (thread_id, shipment_id) do update set link_source = 'rejected', created_by = excluded.created_by`;
  await ctx.sql`
    update app.message_shipments ms set link_source = 'rejected'
    from app.messages m
    where ms.org_id = ${ctx.orgId} and ms.shipment_id = ${shipmentId} and m.id = ms.message_id and m.org_id = ms.org_id and m.thread_id = ${threadId}`;
  await announceLink(ctx, shipmentId, threadId, 'rejected');
  return null;
}

/** The threads linked to a shipment (not the rejected ones), most recently active first. */
export async function linkedThreads(ctx: Ctx, shipmentId: string) {
  const sql = ctx.sql;
  const [exists] = await sql`select 1 from app.shipments where id = ${shipmentId} and org_id = ${ctx.orgId}`;
  if (!exists) throw notFound('Shipment');
  const data = await sql`
    select t.id, t.subject, t.status, t.channel, t.last_activity_at, ts.link_source, ts.matched_identifier
    from app.thread_shipments ts join app.threads t on t.id = ts.thread_id and t.org_id = ts.org_id
    where ts.org_id = ${ctx.orgId} and ts.shipment_id = ${shipmentId} and ts.link_source <> 'rejected'
    order by t.last_activity_at desc, t.id desc
    limit 200`;
  return { data };
}
