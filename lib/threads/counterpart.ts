// One contact and one conversation per outside party, however many of their messages arrive at once.
// Every inbound path (email from the poller, the import and quarantine reprocessing; WhatsApp, SMS and
// calls from Exotel) finds-or-creates the contact and thread of a counterpart under this lock.
import type { Ctx } from '../context.js';
import { toE164 } from '../phone.js';

/** The form a counterpart is locked by: an email address lower-cased, a phone number in E.164. */
export function counterpartKey(counterpart: string): string {
  const value = counterpart.trim();
  return value.includes('@') ? value.toLowerCase() : (toE164(value) ?? value);
}

/** The name of the acting organization's lock on a counterpart (see lockCounterpart). */
export function counterpartLock(orgId: string, counterpart: string): string {
  return `${orgId}:counterpart:${counterpartKey(counterpart)}`;
}

/**
 * Takes the acting organization's lock on this counterpart until the transaction ends. Call it before
 * looking up the counterpart's contact or thread, then create what the lookup did not find.
 *
 * Why a transaction-scoped advisory lock and not a unique key: which thread a message joins is a rule
 * (an open thread on the channel; for email the same subject within 14 days, reopen windows), not a
 * column a unique index could hold, and contacts by phone number are not unique either (members may
 * file two people under one office number). Why it is correct under READ COMMITTED: each statement
 * reads a snapshot taken when it starts, and the lookups start only after the lock is granted, which
 * is after the previous holder committed (or rolled back) and released it, so they see its contact and
 * thread. (Under REPEATABLE READ the snapshot of the transaction's first statement would hide them.)
 * Two holders of different counterparts never wait on each other.
 */
export async function lockCounterpart(ctx: Ctx, counterpart: string): Promise<void> {
  await takeLocks(ctx, [counterpartLock(ctx.orgId, counterpart)]);
}

/**
 * Takes transaction-scoped advisory locks by name, in the order given (a lock the transaction already
 * holds is granted again at once). A transaction that takes several must take them in one global
 * order, or two such transactions can wait on each other in a cycle.
 */
export async function takeLocks(ctx: Ctx, names: string[]): Promise<void> {
  if (names.length === 0) return;
  // The lock call is volatile, so PostgreSQL evaluates it after the sort, row by row in this order.
  await ctx.sql`select pg_advisory_xact_lock(hashtextextended(l.name, 0)) from unnest(${names}::text[]) with ordinality as l(name, n) order by l.n`;
}
