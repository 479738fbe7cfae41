// Links a message and its thread to the shipments whose freight identifiers it names: a link, never
// a thread merge. A link someone rejected stays rejected (automatic matching never makes it again).
import type { Ctx } from '../context.js';
import type { FreightIdentifiers } from './identifiers.js';

export async function linkShipments(ctx: Ctx, messageId: string, threadId: string, ids: FreightIdentifiers): Promise<string[]> {
  if (!ids.containers.length && !ids.awbs.length && !ids.bls.length && !ids.bookings.length) return [];
  const sql = ctx.sql;
  // One statement: app.shipments_naming uses the GIN indexes on the identifier arrays (which RLS
  // would rule out for &&); both inserts run whether or not their rows are selected.
  const shipments = await sql<{ id: string }[]>`
    with found as (
      select id, matched from app.shipments_naming(${ids.containers}::text[], ${ids.awbs}::text[], ${ids.bls}::text[], ${ids.bookings}::text[])
    ), message_links as (
      insert into app.message_shipments (org_id, message_id, shipment_id, link_source, matched_identifier)
      select ${ctx.orgId}, ${messageId}, id, 'automatic', matched from found on conflict do nothing
    ), thread_links as (
      insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source, matched_identifier)
      select ${ctx.orgId}, ${threadId}, id, 'automatic', matched from found on conflict do nothing
    )
    select id from found`;
  return shipments.map((s) => s.id);
}
