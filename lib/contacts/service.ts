// Contacts: the people at customers (and unknown senders until someone files them under a customer).
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { AppError, notFound } from '../errors.js';
import { decodeCursor, pageQuery, toPage } from '../pagination.js';
import { escapeLike } from '../db/like.js';
import { phoneNumber } from '../customers/service.js';
import { normalizePhones } from '../org/region.js';
import { refuseMerged } from '../merge.js';
import { recordChange, topics } from '../realtime.js';
import { CONTACT_EMAIL_MAX, CONTACT_NAME_MAX } from './limits.js';

const email = z.string().trim().toLowerCase().pipe(z.email('must be an email address')).pipe(z.string().max(CONTACT_EMAIL_MAX));

export const contactFields = {
  customerId: z.uuid().nullable(),
  name: z.string().trim().max(CONTACT_NAME_MAX),
  email: email.nullable(),
  phone: phoneNumber.nullable(),
  whatsapp: phoneNumber.nullable(),
  designation: z.string().trim().max(200).nullable(),
  isPrimary: z.boolean(),
};

export const contactCreate = z
  .strictObject({
    customerId: contactFields.customerId.optional(),
    name: contactFields.name.default(''),
    email: contactFields.email.optional(),
    phone: contactFields.phone.optional(),
    whatsapp: contactFields.whatsapp.optional(),
    designation: contactFields.designation.optional(),
    isPrimary: contactFields.isPrimary.default(false),
  })
  .refine((c) => c.name || c.email || c.phone || c.whatsapp, {
    message: 'a contact needs at least a name, an email or a phone number',
    path: ['name'],
  });
export const contactUpdate = z
  .strictObject(contactFields)
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const contactListQuery = z.object({
  ...pageQuery,
  customerId: z.uuid().optional(),
  q: z.string().trim().min(1).max(200).optional(),
  email: z.string().trim().toLowerCase().max(320).optional(),
  domain: z.string().trim().toLowerCase().max(253).optional(),
  phone: phoneNumber.optional(),
});

/** A contact's columns as every answer shows them. */
export const CONTACT_COLUMNS =
  'id, customer_id, name, email, phone, whatsapp, designation, email_status, is_primary, merged_into_contact_id, created_at, updated_at';
const RETURNING = CONTACT_COLUMNS;
const cursorShape = z.tuple([z.string(), z.uuid()]);

export async function listContacts(ctx: Ctx, query: z.infer<typeof contactListQuery>) {
  const sql = ctx.sql;
  const q = (await normalizePhones(ctx, query, ['phone'], 'query')).value;
  const after = decodeCursor(q.cursor, cursorShape);
  const rows = await sql<{ id: string; sortName: string }[]>`
    select ${sql.unsafe(RETURNING)}, lower(name) as sort_name from app.contacts
    where org_id = ${ctx.orgId} and deleted_at is null
      ${q.customerId ? sql`and customer_id = ${q.customerId}` : sql``}
      ${q.q ? sql`and (name ilike ${`%${escapeLike(q.q)}%`} or email ilike ${`%${escapeLike(q.q)}%`})` : sql``}
      ${q.email ? sql`and email = ${q.email}` : sql``}
      ${q.domain ? sql`and email like ${`%@${escapeLike(q.domain)}`}` : sql``}
      ${q.phone ? sql`and (phone = ${q.phone} or whatsapp = ${q.phone})` : sql``}
      ${after ? sql`and (lower(name), id) > (${after[0]}, ${after[1]}::uuid)` : sql``}
    order by lower(name), id
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortName, r.id]);
  return { ...page, data: page.data.map(({ sortName: _s, ...c }) => c) };
}

/**
 * One contact; a contact merged into another answers too, with `mergedIntoContactId` naming the one it
 * went to (an old link still leads somewhere).
 */
export async function getContact(ctx: Ctx, id: string) {
  const [contact] = await ctx.sql`
    select ${ctx.sql.unsafe(RETURNING)} from app.contacts
    where id = ${id} and org_id = ${ctx.orgId} and (deleted_at is null or merged_into_contact_id is not null)`;
  if (!contact) throw notFound('Contact');
  return contact;
}

/** Why a live contact was not found for a write: merged into another (409 naming it) or absent (404). */
async function missingContact(ctx: Ctx, id: string): Promise<never> {
  const [merged] = await ctx.sql<{ mergedInto: string }[]>`
    select merged_into_contact_id as merged_into from app.contacts where id = ${id} and org_id = ${ctx.orgId} and merged_into_contact_id is not null`;
  if (merged) refuseMerged('contact', { id, mergedInto: merged.mergedInto });
  throw notFound('Contact');
}

async function assertCustomer(ctx: Ctx, customerId: string | null | undefined) {
  if (!customerId) return;
  const [c] = await ctx.sql`select 1 from app.customers where id = ${customerId} and org_id = ${ctx.orgId} and deleted_at is null`;
  if (!c) throw new AppError('validation_failed', 'body.customerId: no such customer', { issues: [{ path: 'body.customerId', message: 'no such customer' }] });
}

export async function createContact(ctx: Ctx, raw: z.infer<typeof contactCreate>) {
  const { value: input, assumed } = await normalizePhones(ctx, raw, ['phone', 'whatsapp'], 'body');
  await assertCustomer(ctx, input.customerId);
  const [contact] = await ctx.sql<{ id: string }[]>`
    insert into app.contacts ${ctx.sql({ ...input, orgId: ctx.orgId } as never)} returning ${ctx.sql.unsafe(RETURNING)}`;
  await recordChange(ctx, {
    event: 'contact.created',
    topics: [topics.org(ctx.orgId)],
    data: contact,
    audit: { entityType: 'contact', entityId: contact!.id, data: input },
  });
  return assumed ? { ...contact!, phoneRegionAssumed: assumed } : contact!;
}

export async function updateContact(ctx: Ctx, id: string, raw: z.infer<typeof contactUpdate>) {
  const { value: input, assumed } = await normalizePhones(ctx, raw, ['phone', 'whatsapp'], 'body');
  await assertCustomer(ctx, input.customerId);
  const [contact] = await ctx.sql`
    update app.contacts set ${ctx.sql(input as never)} where id = ${id} and org_id = ${ctx.orgId} and deleted_at is null
    returning ${ctx.sql.unsafe(RETURNING)}`;
  if (!contact) return missingContact(ctx, id);
  await recordChange(ctx, {
    event: 'contact.updated',
    topics: [topics.org(ctx.orgId)],
    data: contact,
    audit: { entityType: 'contact', entityId: id, data: input },
  });
  return assumed ? { ...contact, phoneRegionAssumed: assumed } : contact;
}

export async function deleteContact(ctx: Ctx, id: string) {
  const [row] = await ctx.sql`
    update app.contacts set deleted_at = now() where id = ${id} and org_id = ${ctx.orgId} and deleted_at is null returning id`;
  if (!row) return missingContact(ctx, id);
  await recordChange(ctx, { event: 'contact.deleted', topics: [topics.org(ctx.orgId)], data: { id }, audit: { entityType: 'contact', entityId: id } });
  return null;
}
