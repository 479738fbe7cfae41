// Which contact an address or number reaches: the rule every inbound path (email, WhatsApp, SMS, calls)
// uses before it creates a contact. A live contact holding it; else the contact that a merged contact
// holding it was merged into (a contact holds one email, one phone and one WhatsApp number, so the ones
// the survivor of a merge could not take stay on the merged row, which points to it: lib/contacts/merge.ts).
import type { Ctx } from '../context.js';

export interface ReachedContact {
  id: string;
  customerId: string | null;
}

/** The contact this email address (lower case) reaches, if any. */
export async function contactByEmail(ctx: Ctx, address: string): Promise<ReachedContact | undefined> {
  const sql = ctx.sql;
  const [found] = await sql<ReachedContact[]>`
    select s.id, s.customer_id from (
      (select k.id, true as live, k.deleted_at from app.contacts k
       where k.org_id = ${ctx.orgId} and k.email = ${address} and k.deleted_at is null)
      union all
      (select k.merged_into_contact_id, false, k.deleted_at from app.contacts k
       where k.org_id = ${ctx.orgId} and k.email = ${address} and k.merged_into_contact_id is not null)
    ) h
    join app.contacts s on s.org_id = ${ctx.orgId} and s.id = h.id and s.deleted_at is null
    order by h.live desc, h.deleted_at desc
    limit 1`;
  return found;
}

/**
 * The contact this E.164 number reaches, if any: one holding it as the channel's kind of number first
 * (the WhatsApp number on WhatsApp, the phone otherwise), then a live holder before a merged one, then
 * one filed under a customer, then the oldest.
 */
export async function contactByNumber(ctx: Ctx, number: string, prefer: 'whatsapp' | 'phone'): Promise<ReachedContact | undefined> {
  const sql = ctx.sql;
  const preferred = prefer === 'whatsapp' ? sql`(k.whatsapp = ${number})` : sql`(k.phone = ${number})`;
  const [found] = await sql<ReachedContact[]>`
    select s.id, s.customer_id from (
      (select k.id, ${preferred} as preferred, true as live from app.contacts k
       where k.org_id = ${ctx.orgId} and k.deleted_at is null and (k.whatsapp = ${number} or k.phone = ${number}))
      union all
      (select k.merged_into_contact_id, ${preferred}, false from app.contacts k
       where k.org_id = ${ctx.orgId} and k.merged_into_contact_id is not null and (k.whatsapp = ${number} or k.phone = ${number}))
    ) h
    join app.contacts s on s.org_id = ${ctx.orgId} and s.id = h.id and s.deleted_at is null
    order by h.preferred desc, h.live desc, (s.customer_id is not null) desc, s.created_at
    limit 1`;
  return found;
}
