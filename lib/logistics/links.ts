// Links a message and its thread to the shipments whose freight identifiers it names: a link, never
// a thread merge. A link someone rejected stays rejected (automatic matching never makes it again).
import type { Ctx } from '../context.js';
import type { FreightIdentifiers } from './identifiers.js';

export async function linkShipments(ctx: Ctx, messageId: string, threadId: string, ids: FreightIdentifiers): Promise<string[]> {
  if (!ids.containers.length && !ids.awbs.length && !ids.bls.length && !ids.bookings.length) return [];
  const sql = ctx.sql;
  const shipments = await sql<{ id: string; matched: string }[]>`
    select s.id, coalesce(
      (select c from unnest(s.container_numbers) c where c = any(${ids.containers}::text[]) limit 1),
      (select a from unnest(s.awb_numbers) a where a = any(${ids.awbs}::text[]) limit 1),
      (select b from unnest(s.bl_numbers) b where b = any(${ids.bls}::text[]) limit 1),
      (select k from unnest(s.booking_numbers) k where k = any(${ids.bookings}::text[]) limit 1)) as matched
    from app.shipments s
    where s.org_id = ${ctx.orgId}
      and (s.container_numbers && ${ids.containers}::text[] or s.awb_numbers && ${ids.awbs}::text[]
        or s.bl_numbers && ${ids.bls}::text[] or s.booking_numbers && ${ids.bookings}::text[])`;
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

