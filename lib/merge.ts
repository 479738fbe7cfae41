// What merging duplicate contacts (lib/contacts/merge.ts) and customers (lib/customers/merge.ts) share:
// the request, its checks, the order locks are taken in, and moving threads with their announcements.
// The record in the path stays; the ones the body names are merged into it and kept as soft-deleted
// pointers to it (migration 20261205005600_party_merge).
import * as z from 'zod';
import type { Ctx } from './context.js';
import { AppError, invalid } from './errors.js';
import { takeLocks } from './threads/counterpart.js';
import { announceThreadView, threadViewColumns, type ThreadView } from './threads/view.js';

/** The most records one request merges. */
export const MERGE_MAX = 20;

export const partyMerge = z.strictObject({
  /** The records merged into the one in the path, which stays; each is kept only as a pointer to it. */
  mergeIds: z.array(z.uuid('must be a uuid')).min(1).max(MERGE_MAX),
});
export type PartyMerge = z.infer<typeof partyMerge>;

export type Party = 'contact' | 'customer';
const LABEL: Record<Party, string> = { contact: 'Contact', customer: 'Customer' };
const pointerField = (party: Party) => (party === 'contact' ? 'mergedIntoContactId' : 'mergedIntoCustomerId');

/** A record is not merged into itself, nor named twice. */
export function checkMergeIds(party: Party, id: string, input: PartyMerge): void {
  input.mergeIds.forEach((mergeId, i) => {
    if (mergeId === id) throw invalid(`body.mergeIds.${i}`, `is the ${party} in the path: a ${party} is not merged into itself`);
    if (input.mergeIds.indexOf(mergeId) !== i)
      throw invalid(`body.mergeIds.${i}`, `names the same ${party} as body.mergeIds.${input.mergeIds.indexOf(mergeId)}`);
  });
}

/**
 * Serialises the organization's merges (contacts and customers alike) before any row is locked: a
 * merge moves threads, contacts and shipments, which another merge may be moving too, so two running
 * at once could each hold what the other waits for. The rows are then locked in id order.
 */
export async function lockMerges(ctx: Ctx): Promise<void> {
  await takeLocks(ctx, [`${ctx.orgId}:party-merge`]);
}

export interface MergeCandidate {
  id: string;
  deletedAt: Date | null;
  mergedInto: string | null;
}

/**
 * The survivor and the merged records, checked: another organization's or a deleted record is a 404
 * (naming the body field for the merged ones), a record already merged is a 409 naming where it went.
 */
export function checkCandidates<T extends MergeCandidate>(party: Party, id: string, input: PartyMerge, locked: Map<string, T>): { survivor: T; merged: T[] } {
  const survivor = locked.get(id);
  if (!survivor || (survivor.deletedAt && !survivor.mergedInto)) throw new AppError('not_found', `${LABEL[party]} not found`);
  refuseMerged(party, survivor);
  const merged = input.mergeIds.map((mergeId, i) => {
    const record = locked.get(mergeId);
    if (!record || (record.deletedAt && !record.mergedInto)) {
      const path = `body.mergeIds.${i}`;
      throw new AppError('not_found', `${path}: no such ${party} in this organization`, {
        issues: [{ path, message: `is not a ${party} of this organization` }],
      });
    }
    refuseMerged(party, record);
    return record;
  });
  return { survivor, merged };
}

/** A merged record is a pointer now: nothing is merged into it, nor is it merged again, nor edited. */
export function refuseMerged(party: Party, record: { id: string; mergedInto: string | null }): void {
  if (record.mergedInto) {
    throw new AppError('conflict', `${LABEL[party]} ${record.id} was merged into ${party} ${record.mergedInto}`, {
      [`${party}Id`]: record.id,
      [pointerField(party)]: record.mergedInto,
    });
  }
}

/** The union of two lists of values, the survivor's first; a 422 when it would exceed what a record holds. */
export function unite(field: string, survivor: string[], merged: string[], max: number): string[] {
  const all = [...new Set([...survivor, ...merged])];
  if (all.length > max) {
    throw invalid('body.mergeIds', `together the ${field} would number ${all.length}, more than the ${max} a record holds: remove some first`);
  }
  return all;
}

/**
 * Repoints the organization's threads that `where` picks (alias `t`) with `set`, and announces each as
 * `thread.updated` with an audit row naming the merge, pipelined (one write for all of them), from the
 * rows the update returned. Returns the threads' ids.
 */
export async function moveThreads(
  ctx: Ctx,
  set: ReturnType<Ctx['sql']>,
  where: ReturnType<Ctx['sql']>,
  audit: { action: string; data: unknown },
): Promise<string[]> {
  const sql = ctx.sql;
  const moved = await sql<{ id: string }[]>`
    update app.threads t set ${set}, updated_at = now()
    where t.org_id = ${ctx.orgId} and ${where}
    returning t.id`;
  if (moved.length === 0) return [];
  const ids = moved.map((t) => t.id);
  // A thread's customer decides its SLA policy: the organization's clocks are recomputed by a job after
  // the merge commits (lib/sla/clock.ts, loaded here: its policies import the customers module, which
  // imports this one). Inline, the recompute's thread locks deadlocked with messages arriving meanwhile.
  const { scheduleRecompute } = await import('./sla/clock.js');
  await scheduleRecompute(ctx);
  const threads = await sql<ThreadView[]>`
    select ${threadViewColumns(sql)} from app.threads t left join app.customers c on c.id = t.customer_id
    where t.org_id = ${ctx.orgId} and t.id = any(${ids}::uuid[])
    order by t.id`;
  await Promise.all(threads.map((thread) => announceThreadView(ctx, 'thread.updated', thread, audit)));
  return threads.map((t) => t.id);
}
