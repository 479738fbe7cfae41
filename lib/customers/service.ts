// Customers (companies the forwarder works with) and their contacts (people, emails, E.164 phones).
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { escapeLike } from '../db/like.js';
import { AppError, notFound } from '../errors.js';
import { csvList, decodeCursor, pageQuery, toPage } from '../pagination.js';
import { requireActiveMember } from '../org/members.js';
import { normalizePhones } from '../org/region.js';
import { refuseMerged } from '../merge.js';
import { recordChange, topics } from '../realtime.js';

export const CUSTOMER_KINDS = ['shipper', 'consignee', 'overseas_agent', 'carrier', 'customs_broker', 'transporter', 'other'] as const;
export const CUSTOMER_TIERS = ['strategic', 'key', 'standard', 'occasional'] as const;
/** The most email domains and tags a customer holds. */
export const CUSTOMER_DOMAINS_MAX = 20;
export const CUSTOMER_TAGS_MAX = 30;

/** A company email domain, lower case: `maersk.com`. */
export const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?!-)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*\.[a-z]{2,}$/, 'must be a domain such as maersk.com');

/**
 * A phone number as people type it; normalised to E.164 by normalizePhones (lib/org/region.ts), which
 * reads a number without its country code in the organization's country.
 */
export const phoneNumber = z
  .string()
  .trim()
  .min(3)
  .max(40)
  .regex(/^[+(]?[0-9][0-9 ()./-]*$/, 'must be a phone number such as +91 98200 98200');

export const customerFields = {
  name: z.string().trim().min(1).max(300),
  kind: z.enum(CUSTOMER_KINDS),
  tier: z.enum(CUSTOMER_TIERS),
  domains: z.array(domainName).max(CUSTOMER_DOMAINS_MAX),
  gstin: z
    .string()
    .trim()
    .regex(/^[0-9]{2}[A-Z0-9]{10}[0-9A-Z]{3}$/, 'must be a 15-character GSTIN')
    .nullable(),
  city: z.string().trim().max(100).nullable(),
  country: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code')
    .nullable(),
  notes: z.string().max(10_000).nullable(),
  tags: z.array(z.string().trim().min(1).max(50)).max(CUSTOMER_TAGS_MAX),
  ownerId: z.uuid().nullable(),
};

export const customerCreate = z.strictObject({
  ...customerFields,
  kind: customerFields.kind.default('shipper'),
  tier: customerFields.tier.default('standard'),
  domains: customerFields.domains.default([]),
  tags: customerFields.tags.default([]),
  gstin: customerFields.gstin.optional(),
  city: customerFields.city.optional(),
  country: customerFields.country.optional(),
  notes: customerFields.notes.optional(),
  ownerId: customerFields.ownerId.optional(),
});
export const customerUpdate = z
  .strictObject(customerFields)
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const customerListQuery = z.object({
  ...pageQuery,
  q: z.string().trim().min(1).max(200).optional(),
  domain: domainName.optional(),
  email: z.string().trim().toLowerCase().max(320).optional(),
  phone: phoneNumber.optional(),
  kind: csvList(z.enum(CUSTOMER_KINDS)),
  tier: csvList(z.enum(CUSTOMER_TIERS)),
});

const cursorShape = z.tuple([z.string(), z.uuid()]);

export interface Customer {
  id: string;
  name: string;
  kind: string;
  tier: string;
  domains: string[];
  [key: string]: unknown;
}

/** A customer's columns (alias `c`) as every answer shows them. */
export const customerColumns = (sql: Ctx['sql']) =>
  sql`c.id, c.name, c.kind, c.tier, c.domains, c.gstin, c.city, c.country, c.notes, c.tags, c.owner_id, c.merged_into_customer_id, c.created_at, c.updated_at`;
const columns = customerColumns;
const RETURNING = 'id, name, kind, tier, domains, gstin, city, country, notes, tags, owner_id, merged_into_customer_id, created_at, updated_at';

export async function listCustomers(ctx: Ctx, query: z.infer<typeof customerListQuery>) {
  const sql = ctx.sql;
  const q = (await normalizePhones(ctx, query, ['phone'], 'query')).value;
  const after = decodeCursor(q.cursor, cursorShape);
  const rows = await sql<(Customer & { sortName: string })[]>`
    select ${columns(sql)}, lower(c.name) as sort_name from app.customers c
    where c.org_id = ${ctx.orgId} and c.deleted_at is null
      ${q.q ? sql`and c.name ilike ${`%${escapeLike(q.q)}%`}` : sql``}
      ${q.domain ? sql`and c.domains @> ${[q.domain]}::text[]` : sql``}
      ${q.kind ? sql`and c.kind = any(${q.kind}::text[])` : sql``}
      ${q.tier ? sql`and c.tier = any(${q.tier}::text[])` : sql``}
      ${q.email ? sql`and exists (select 1 from app.contacts k where k.customer_id = c.id and k.org_id = c.org_id and k.deleted_at is null and k.email = ${q.email})` : sql``}
      ${q.phone ? sql`and exists (select 1 from app.contacts k where k.customer_id = c.id and k.org_id = c.org_id and k.deleted_at is null and (k.phone = ${q.phone} or k.whatsapp = ${q.phone}))` : sql``}
      ${after ? sql`and (lower(c.name), c.id) > (${after[0]}, ${after[1]}::uuid)` : sql``}
    order by lower(c.name), c.id
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortName, r.id]);
  return { ...page, data: page.data.map(({ sortName: _s, ...c }) => c) };
}

/**
 * One customer with its contacts; a customer merged into another answers too, with
 * `mergedIntoCustomerId` naming the one it went to (and no contacts: they went there).
 */
export async function getCustomer(ctx: Ctx, id: string) {
  const sql = ctx.sql;
  const [customer] = await sql<Customer[]>`
    select ${columns(sql)} from app.customers c
    where c.id = ${id} and c.org_id = ${ctx.orgId} and (c.deleted_at is null or c.merged_into_customer_id is not null)`;
  if (!customer) throw notFound('Customer');
  const contacts = await sql`
    select id, name, email, phone, whatsapp, designation, email_status, is_primary
    from app.contacts where customer_id = ${id} and org_id = ${ctx.orgId} and deleted_at is null
    order by is_primary desc, name limit 200`;
  return { ...customer, contacts };
}

/** Why a live customer was not found for a write: merged into another (409 naming it) or absent (404). */
async function missingCustomer(ctx: Ctx, id: string): Promise<never> {
  const [merged] = await ctx.sql<{ mergedInto: string }[]>`
    select merged_into_customer_id as merged_into from app.customers where id = ${id} and org_id = ${ctx.orgId} and merged_into_customer_id is not null`;
  if (merged) refuseMerged('customer', { id, mergedInto: merged.mergedInto });
  throw notFound('Customer');
}

/**
 * A company email domain belongs to one customer of the organization (mail from a new sender on it
 * is then filed under that customer): a domain another customer already claims is a 409 naming it.
 * The per-domain lock makes two concurrent claims of the same domain queue, so only one wins.
 */
async function claimDomains(ctx: Ctx, domains: string[] | undefined, self?: string) {
  if (!domains?.length) return;
  await ctx.sql`select pg_advisory_xact_lock(hashtextextended(${ctx.orgId} || ':domain:' || d, 0)) from unnest(${[...new Set(domains)].sort()}::text[]) d`;
  const taken = await ctx.sql<{ id: string; name: string; domains: string[] }[]>`
    select id, name, domains from app.customers
    where org_id = ${ctx.orgId} and deleted_at is null and domains && ${domains}::text[] ${self ? ctx.sql`and id <> ${self}` : ctx.sql``}
    limit 1`;
  const owner = taken[0];
  if (!owner) return;
  const index = domains.findIndex((d) => owner.domains.includes(d));
  throw new AppError('conflict', `${domains[index]} already belongs to the customer ${owner.name}`, {
    issues: [{ path: `body.domains.${index}`, message: `already belongs to the customer ${owner.name}` }],
    customer: { id: owner.id, name: owner.name },
  });
}

export async function createCustomer(ctx: Ctx, input: z.infer<typeof customerCreate>) {
  const sql = ctx.sql;
  if (input.ownerId) await requireActiveMember(ctx, input.ownerId, 'body.ownerId');
  await claimDomains(ctx, input.domains);
  const [customer] = await sql<Customer[]>`
    insert into app.customers ${sql({ ...input, orgId: ctx.orgId } as never)}
    returning ${sql.unsafe(RETURNING)}`;
  await recordChange(ctx, {
    event: 'customer.created',
    topics: [topics.org(ctx.orgId)],
    data: customer,
    audit: { entityType: 'customer', entityId: customer!.id, data: input },
  });
  return customer!;
}

export async function updateCustomer(ctx: Ctx, id: string, input: z.infer<typeof customerUpdate>) {
  const sql = ctx.sql;
  if (input.ownerId) await requireActiveMember(ctx, input.ownerId, 'body.ownerId');
  await claimDomains(ctx, input.domains, id);
  const [customer] = await sql<Customer[]>`
    update app.customers set ${sql(input as never)}
    where id = ${id} and org_id = ${ctx.orgId} and deleted_at is null
    returning ${sql.unsafe(RETURNING)}`;
  if (!customer) return missingCustomer(ctx, id);
  if (input.tier !== undefined) {
    // Policies match customer tiers: the customer's threads with clocks follow (lib/sla/clock.ts, loaded
    // here: its policies import this module's tiers).
    const { applyServiceLevels } = await import('../sla/clock.js');
    const threads = await sql<{ id: string }[]>`
      select id from app.threads where org_id = ${ctx.orgId} and customer_id = ${id} and status in ('open', 'pending', 'snoozed')`;
    await applyServiceLevels(
      ctx,
      threads.map((t) => t.id),
    );
  }
  await recordChange(ctx, {
    event: 'customer.updated',
    topics: [topics.org(ctx.orgId)],
    data: customer,
    audit: { entityType: 'customer', entityId: id, data: input },
  });
  return customer;
}

export async function deleteCustomer(ctx: Ctx, id: string) {
  const sql = ctx.sql;
  const [row] = await sql`
    update app.customers set deleted_at = now() where id = ${id} and org_id = ${ctx.orgId} and deleted_at is null returning id`;
  if (!row) return missingCustomer(ctx, id);
  await recordChange(ctx, {
    event: 'customer.deleted',
    topics: [topics.org(ctx.orgId)],
    data: { id },
    audit: { entityType: 'customer', entityId: id },
  });
  return null;
}
