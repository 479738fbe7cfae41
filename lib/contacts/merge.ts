// Merging duplicate contacts: the same person twice (an unknown sender who became a contact, and the one
// a member typed in; their email and their WhatsApp number as two contacts). Their threads go to the
// contact that stays, which takes the identities it lacks; the merged contacts stay as pointers.
import type { Ctx } from '../context.js';
import { invalid } from '../errors.js';
import { checkCandidates, checkMergeIds, lockMerges, moveThreads, type PartyMerge } from '../merge.js';
import { recordChange, topics } from '../realtime.js';
import { CONTACT_COLUMNS, getContact } from './service.js';

interface LockedContact {
  id: string;
  customerId: string | null;
  name: string;
  email: string | null;
  phone: string | null;
  whatsapp: string | null;
  designation: string | null;
  emailStatus: string;
  isPrimary: boolean;
  deletedAt: Date | null;
  mergedInto: string | null;
}

/** The identities a contact holds one of each. */
const IDENTITIES = ['email', 'phone', 'whatsapp'] as const;

/**
 * Merges the contacts `input.mergeIds` names into contact `id`, in one transaction:
 * - `id` takes each identity (email, phone, WhatsApp number) it lacks from the first merged contact
 *   that has one, and its name, designation and customer when it has none; the identities it could not
 *   take stay on the merged contact, whose pointer leads the inbound paths to `id`
 *   (lib/contacts/identity.ts), so mail or messages from any of them land on `id`;
 * - every thread of a merged contact (threads merged into others included) names `id`, and takes its
 *   customer when it had none;
 * - each merged contact is soft-deleted with `mergedIntoContactId` = `id` (contacts merged into it
 *   before now point to `id` too), answers GET with that pointer, and leaves the contact list (a sync
 *   reports it deleted).
 * Contacts of two different customers are refused (422): correct the customer first if it is wrong.
 */
export async function mergeContacts(ctx: Ctx, id: string, input: PartyMerge) {
  const sql = ctx.sql;
  checkMergeIds('contact', id, input);
  await lockMerges(ctx);
  const rows = await sql<LockedContact[]>`
    select id, customer_id, name, email, phone, whatsapp, designation, email_status, is_primary, deleted_at,
      merged_into_contact_id as merged_into
    from app.contacts where org_id = ${ctx.orgId} and id = any(${[id, ...input.mergeIds]}::uuid[])
    order by id for update`;
  const { survivor, merged } = checkCandidates('contact', id, input, new Map(rows.map((r) => [r.id, r])));

  const next = { ...survivor };
  const took: Record<string, string> = {};
  merged.forEach((m, i) => {
    if (m.customerId && next.customerId && m.customerId !== next.customerId) {
      throw invalid(
        `body.mergeIds.${i}`,
        'belongs to another customer than the contact in the path: only contacts of one customer merge (correct the customer first if it is wrong)',
      );
    }
    next.customerId ??= m.customerId;
    if (!next.name && m.name) next.name = m.name;
    next.designation ??= m.designation;
    next.isPrimary ||= m.isPrimary;
    for (const field of IDENTITIES) {
      if (next[field] || !m[field]) continue;
      next[field] = m[field];
      took[field] = m.id;
      if (field === 'email') next.emailStatus = m.emailStatus;
    }
  });
  const mergedIds = merged.map((m) => m.id);

  // Retired first: the email the survivor takes is then free of its live holder (one live contact per address).
  await sql`
    update app.contacts set deleted_at = now(), merged_into_contact_id = ${id}
    where org_id = ${ctx.orgId} and id = any(${mergedIds}::uuid[])`;
  await sql`update app.contacts set merged_into_contact_id = ${id} where org_id = ${ctx.orgId} and merged_into_contact_id = any(${mergedIds}::uuid[])`;
  await sql`
    update app.contacts set customer_id = ${next.customerId}, name = ${next.name}, email = ${next.email}, phone = ${next.phone},
      whatsapp = ${next.whatsapp}, designation = ${next.designation}, email_status = ${next.emailStatus}, is_primary = ${next.isPrimary}
    where org_id = ${ctx.orgId} and id = ${id}`;

  const audit = { action: 'contact.merged', data: { intoContactId: id, mergedIds, took } };
  const threadIds = await moveThreads(
    ctx,
    sql`contact_id = ${id}, customer_id = case when t.merged_into_thread_id is null then coalesce(t.customer_id, ${next.customerId}::uuid) else t.customer_id end`,
    sql`t.contact_id = any(${mergedIds}::uuid[])`,
    audit,
  );

  const views = await sql<{ id: string }[]>`
    select ${sql.unsafe(CONTACT_COLUMNS)} from app.contacts where org_id = ${ctx.orgId} and id = any(${[id, ...mergedIds]}::uuid[])`;
  const data = { ...audit.data, threadIds };
  await Promise.all([
    ...views
      .filter((v) => v.id !== id)
      .map((v) =>
        recordChange(ctx, {
          event: 'contact.merged',
          topics: [topics.org(ctx.orgId)],
          data: v,
          audit: { ...audit, entityType: 'contact', entityId: v.id, data },
        }),
      ),
    recordChange(ctx, {
      event: 'contact.updated',
      topics: [topics.org(ctx.orgId)],
      data: views.find((v) => v.id === id),
      audit: { ...audit, entityType: 'contact', entityId: id, data },
    }),
  ]);
  return getContact(ctx, id);
}
