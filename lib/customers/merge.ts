// Merging duplicate customers: one company entered twice (a typo, a branch office, an import). Their
// contacts, threads, shipments and email domains go to the customer that stays; the merged customers
// stay as pointers.
import type { Ctx } from '../context.js';
import { checkCandidates, checkMergeIds, lockMerges, moveThreads, unite, type PartyMerge } from '../merge.js';
import { recordChange, topics } from '../realtime.js';
import { CONTACT_COLUMNS } from '../contacts/service.js';
import { CUSTOMER_DOMAINS_MAX, CUSTOMER_TAGS_MAX, customerColumns, getCustomer } from './service.js';

interface LockedCustomer {
  id: string;
  domains: string[];
  tags: string[];
  gstin: string | null;
  city: string | null;
  country: string | null;
  notes: string | null;
  ownerId: string | null;
  deletedAt: Date | null;
  mergedInto: string | null;
}

/** The fields the customer that stays fills in from the merged ones when it has none. */
const FILLED = ['gstin', 'city', 'country', 'notes', 'ownerId'] as const;

/**
 * Merges the customers `input.mergeIds` names into customer `id`, in one transaction:
 * - `id` takes their email domains (mail from a new sender on one is then filed under it) and tags, and
 *   its GSTIN, city, country, notes and owner where it has none; its name, kind and tier stay;
 * - every contact, thread (threads merged into others included) and shipment of a merged customer
 *   names `id`;
 * - each merged customer is soft-deleted with `mergedIntoCustomerId` = `id` (customers merged into it
 *   before now point to `id` too), answers GET with that pointer, and leaves the customer list (a sync
 *   reports it deleted).
 * A domain moves from one live customer to another in one commit, so a concurrent claim of it sees one
 * of them own it (lib/customers/service.ts claimDomains) and takes no lock here.
 */
export async function mergeCustomers(ctx: Ctx, id: string, input: PartyMerge) {
  const sql = ctx.sql;
  checkMergeIds('customer', id, input);
  await lockMerges(ctx);
  const rows = await sql<LockedCustomer[]>`
    select id, domains, tags, gstin, city, country, notes, owner_id, deleted_at, merged_into_customer_id as merged_into
    from app.customers where org_id = ${ctx.orgId} and id = any(${[id, ...input.mergeIds]}::uuid[])
    order by id for update`;
  const { survivor, merged } = checkCandidates('customer', id, input, new Map(rows.map((r) => [r.id, r])));

  const next = { ...survivor };
  for (const m of merged) {
    for (const field of FILLED) next[field] ??= m[field];
  }
  const mergedIds = merged.map((m) => m.id);
  const domains = unite(
    'domains',
    survivor.domains,
    merged.flatMap((m) => m.domains),
    CUSTOMER_DOMAINS_MAX,
  );
  const tags = unite(
    'tags',
    survivor.tags,
    merged.flatMap((m) => m.tags),
    CUSTOMER_TAGS_MAX,
  );

  await sql`
    update app.customers set deleted_at = now(), merged_into_customer_id = ${id}
    where org_id = ${ctx.orgId} and id = any(${mergedIds}::uuid[])`;
  await sql`update app.customers set merged_into_customer_id = ${id} where org_id = ${ctx.orgId} and merged_into_customer_id = any(${mergedIds}::uuid[])`;
  await sql`
    update app.customers set domains = ${domains}::text[], tags = ${tags}::text[], gstin = ${next.gstin}, city = ${next.city},
      country = ${next.country}, notes = ${next.notes}, owner_id = ${next.ownerId}
    where org_id = ${ctx.orgId} and id = ${id}`;

  const audit = { action: 'customer.merged', data: { intoCustomerId: id, mergedIds } };
  // Every contact moves (deleted and merged ones too, so nothing names a merged customer); live ones are announced.
  const contacts = await sql<{ id: string; deletedAt: Date | null }[]>`
    update app.contacts set customer_id = ${id}
    where org_id = ${ctx.orgId} and customer_id = any(${mergedIds}::uuid[])
    returning ${sql.unsafe(CONTACT_COLUMNS)}, deleted_at`;
  const shipments = await sql<{ id: string }[]>`
    update app.shipments set customer_id = ${id} where org_id = ${ctx.orgId} and customer_id = any(${mergedIds}::uuid[]) returning id`;
  const threadIds = await moveThreads(ctx, sql`customer_id = ${id}`, sql`t.customer_id = any(${mergedIds}::uuid[])`, audit);

  const views = await sql<{ id: string }[]>`
    select ${customerColumns(sql)} from app.customers c where c.org_id = ${ctx.orgId} and c.id = any(${[id, ...mergedIds]}::uuid[])`;
  const data = { ...audit.data, contactIds: contacts.map((c) => c.id), threadIds, shipmentIds: shipments.map((s) => s.id) };
  await Promise.all([
    ...contacts
      .filter((c) => c.deletedAt === null)
      .map(({ deletedAt: _d, ...contact }) => recordChange(ctx, { event: 'contact.updated', topics: [topics.org(ctx.orgId)], data: contact })),
    ...views
      .filter((v) => v.id !== id)
      .map((v) =>
        recordChange(ctx, {
          event: 'customer.merged',
          topics: [topics.org(ctx.orgId)],
          data: v,
          audit: { ...audit, entityType: 'customer', entityId: v.id, data },
        }),
      ),
    recordChange(ctx, {
      event: 'customer.updated',
      topics: [topics.org(ctx.orgId)],
      data: views.find((v) => v.id === id),
      audit: { ...audit, entityType: 'customer', entityId: id, data },
    }),
  ]);
  return getCustomer(ctx, id);
}
