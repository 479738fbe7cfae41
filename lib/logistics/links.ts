// Links a message and its thread to the shipments whose freight identifiers it names: a link, never
// a thread merge. A link someone rejected stays rejected (automatic matching never makes it again).
import type { Ctx } from '../context.js';
import type { FreightIdentifiers } from './identifiers.js';

export async function linkShipments(ctx: Ctx, messageId: string, threadId: string, ids: FreightIdentifiers): Promise<string[]> {
  if (!ids.containers.length && !ids.awbs.length && !ids.bls.length && !ids.bookings.length) return [];
  const sql = ctx.sql;
  // (app.shipments_naming: the GIN indexes on the identifier arrays, which RLS would rule out for &&.)
  const shipments = await sql<{ id: string; matched: string }[]>`
    select id, matched from app.shipments_naming(${ids.containers}::text[], ${ids.awbs}::text[], ${ids.bls}::text[], ${ids.bookings}::text[])`;
  for (const s of shipments) {
    await sql`
      insert into app.message_shipments (org_id, message_id, shipment_id, link_source, matched_identifier)
      values (${ctx.orgId}, ${messageId}, ${s.id}, 'automatic', ${s.matched}) on conflict do nothing`;
    await sql`
      insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source, matched_identifier)
      values (${ctx.orgId}, ${threadId}, ${s.id}, 'automatic', ${s.matched}) on conflict do nothing`;
  }
  return shipments.map((s) => s.id);
}

