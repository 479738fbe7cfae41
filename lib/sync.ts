// Catching up after a reconnect: the lists of threads, messages, notes, actions, customers and contacts
// answer what changed since an instant (`updatedSince`) or since the end of the previous sync (a sync
// cursor), deletions included, in pages. Realtime broadcasts are not replayed; this is how an offline client resynchronises.
//
// Order and completeness. A sync reads one or more streams (changed rows, tombstones ...) in one key
// order and merges them into pages: from an instant the key is (updated_at, id), from a sync cursor
// (change_xid, id), the id of the transaction that last wrote the row (migration
// 20261205004110_sync_changes). A row's updated_at is its writing transaction's start, so a
// transaction that commits after a page was read may hold changes older than that page. Such a
// change is not lost: the first page of every sync records the oldest transaction then still running
// (pg_snapshot_xmin of its snapshot, the watermark), and the sync cursor the last page hands out asks
// the next sync for every change by that transaction or a later one. Everything below the watermark
// had committed (or rolled back) before the first page was read, so it was seen by this sync or an
// earlier one. Changes may arrive twice (once in each of two syncs): a client applies them by id.
import * as z from 'zod';
import type { Ctx } from './context.js';
import { AppError, invalid } from './errors.js';
import { encodeCursor, pageQuery } from './pagination.js';

/**
 * How long a sync may look back: tombstones are kept a day longer (lib/jobs/sweep.ts prunes them), so
 * a sync from further back could miss deletions and answers 410: the client loads the list afresh.
 */
export const SYNC_MAX_AGE_DAYS = 90;
export const TOMBSTONE_RETENTION_DAYS = SYNC_MAX_AGE_DAYS + 1;
const MAX_AGE_MS = SYNC_MAX_AGE_DAYS * 86_400_000;

export const updatedSince = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with an offset, e.g. 2026-12-05T10:00:00Z' });

/** Query fields every syncable list accepts. */
export const syncQuery = { updatedSince: updatedSince.optional() };

/** What a sync page answers. */
export interface SyncPage<T> {
  /** Rows created or changed, each as the list shows it, oldest change first. */
  data: T[];
  /** Rows gone from the list since: deleted (or moved to another thread). */
  deleted: { id: string; deletedAt: Date }[];
  /** The next page of this sync; null on the last page. */
  nextCursor: string | null;
  /** On the last page: pass it as `cursor` to the next sync, which answers every change since this one began. */
  syncCursor: string | null;
}

type Mode = 'time' | 'xid';

/** Where a sync stands: from what (an instant or a watermark), up to which key, for which list. */
export interface SyncPosition {
  mode: Mode;
  /** The instant (time mode) or the watermark (xid mode) this sync starts from. */
  from: string;
  /** The watermark the next sync starts from, taken when this one read its first page. */
  next: string;
  /** The key of the last row handed out: [sort key as text, id]. */
  after: [string, string] | null;
  /** The list: the organization (threads, actions, customers, contacts) or the thread (messages, notes). */
  scope: string;
  /** When the sync this position continues began (ISO): its age decides whether tombstones still cover it. */
  issued: string;
}

const cursorShape = z.tuple([
  z.literal('sync'),
  z.enum(['time', 'xid']),
  z.string().max(40),
  z
    .string()
    .regex(/^\d{1,20}$/)
    .nullable(),
  z.string().max(40).nullable(),
  z.uuid().nullable(),
  z.uuid(),
  z.iso.datetime(),
]);

/** A key in time mode: UTC with milliseconds (an updatedSince) or microseconds (a row's key). */
const TIME_KEY = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{3}|\d{6})Z$/;
const XID = /^\d{1,20}$/;

function decodeSync(cursor: string): z.infer<typeof cursorShape> | undefined {
  try {
    const parsed = cursorShape.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (!parsed.success) return undefined;
    const [, mode, from, , afterKey, afterId] = parsed.data;
    const keyOk = (k: string) => (mode === 'xid' ? XID.test(k) : TIME_KEY.test(k) && !Number.isNaN(Date.parse(k)));
    if (!keyOk(from) || (afterKey !== null && !keyOk(afterKey)) || (afterKey === null) !== (afterId === null)) return undefined;
    return parsed.data;
  } catch {
    return undefined;
  }
}

/** Whether a list request is a sync: `updatedSince` given, or a cursor a sync handed out. */
export function isSync(q: { updatedSince?: string; cursor?: string }): boolean {
  return q.updatedSince !== undefined || (q.cursor !== undefined && decodeSync(q.cursor) !== undefined);
}

function encode(p: { mode: Mode; from: string; next: string | null; after: [string, string] | null; scope: string; issued: string }): string {
  return encodeCursor(['sync', p.mode, p.from, p.next, p.after?.[0] ?? null, p.after?.[1] ?? null, p.scope, p.issued]);
}

const tooOld = (what: string) =>
  new AppError('gone', `${what} is more than ${SYNC_MAX_AGE_DAYS} days old: deletions are not kept that long; load the list afresh`);

/**
 * Filters a sync refuses (every field of the list's query but paging, so a filter added to the list is
 * refused too): a row that stops matching one would leave the client's copy without a tombstone to say
 * so. A sync answers every change of the list; the client filters what it holds.
 */
export function refuseFilters(q: Record<string, unknown>, list: z.ZodObject) {
  for (const name of Object.keys(list.shape)) {
    if (name in pageQuery || q[name] === undefined) continue;
    throw invalid(`query.${name}`, 'does not combine with updatedSince: a sync answers every change of the list (filter on the client)');
  }
}

/** The position of this page: from the cursor, or a new sync from `updatedSince` (the watermark taken now). */
export async function syncPosition(ctx: Ctx, q: { updatedSince?: string; cursor?: string }, scope: string): Promise<SyncPosition> {
  if (q.cursor !== undefined) {
    const c = decodeSync(q.cursor);
    if (!c) throw invalid('query.cursor', 'is not a cursor this list issued');
    const [, mode, from, next, afterKey, afterId, cursorScope, issued] = c;
    if (cursorScope !== scope) throw invalid('query.cursor', 'belongs to another list');
    if (Date.parse(issued) < Date.now() - MAX_AGE_MS) throw tooOld('The sync cursor');
    // A sync cursor (no watermark yet) starts a new sync: its watermark and start time are taken now.
    if (next === null) return { mode, from, next: await watermark(ctx), after: null, scope, issued: new Date().toISOString() };
    return { mode, from, next, after: afterKey === null ? null : [afterKey, afterId!], scope, issued };
  }
  const from = new Date(q.updatedSince!);
  if (from.getTime() < Date.now() - MAX_AGE_MS) throw tooOld('updatedSince');
  return { mode: 'time', from: from.toISOString(), next: await watermark(ctx), after: null, scope, issued: new Date().toISOString() };
}

/** The oldest transaction still running: every change by an older one is visible from here on. */
async function watermark(ctx: Ctx): Promise<string> {
  const [row] = await ctx.sql<{ xmin: string }[]>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`;
  return row!.xmin;
}

/** Column names (with their table alias) of one stream's sort key. */
export interface KeyColumns {
  time: string;
  xid: string;
  id: string;
}

/**
 * The stream's part of the statement: its key as `sync_key` (text), the rows after the position, in
 * key order, at most limit + 1.
 */
export function syncKey(sql: Ctx['sql'], p: SyncPosition, cols: KeyColumns) {
  const col = sql.unsafe(p.mode === 'time' ? cols.time : cols.xid);
  const id = sql.unsafe(cols.id);
  return {
    select: p.mode === 'time' ? sql`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sync_key` : sql`${col}::text as sync_key`,
    where:
      p.after === null
        ? p.mode === 'time'
          ? sql`${col} >= ${p.from}::text::timestamptz`
          : sql`${col} >= ${p.from}::text::xid8`
        : p.mode === 'time'
          ? sql`(${col}, ${id}) > (${p.after[0]}::text::timestamptz, ${p.after[1]}::uuid)`
          : sql`(${col}, ${id}) > (${p.after[0]}::text::xid8, ${p.after[1]}::uuid)`,
    order: sql`${col}, ${id}`,
  };
}

interface Keyed {
  syncKey: string;
  id: string;
}

function compare(mode: Mode, a: Keyed, b: Keyed): number {
  if (a.syncKey !== b.syncKey) {
    if (mode === 'xid') return BigInt(a.syncKey) < BigInt(b.syncKey) ? -1 : 1;
    return a.syncKey < b.syncKey ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Merges the streams (each already in key order, at most limit + 1 rows after the position) into
 * one page. A row changed in two streams (a thread and the caller's read marker on it) is handed out
 * once per page, as it is now.
 */
export function syncPage<T extends Keyed>(
  p: SyncPosition,
  limit: number,
  streams: { changed?: T[]; deleted?: (Keyed & { deletedAt: Date })[] },
  view: (row: T) => unknown = (row) => row,
): SyncPage<unknown> {
  const items = [
    ...(streams.changed ?? []).map((row) => ({ key: row, row, gone: false as const })),
    ...(streams.deleted ?? []).map((row) => ({ key: row, row, gone: true as const })),
  ].sort((a, b) => compare(p.mode, a.key, b.key));
  const more = items.length > limit;
  const page = items.slice(0, limit);
  const data = new Map<string, unknown>();
  const deleted: SyncPage<unknown>['deleted'] = [];
  for (const item of page) {
    if (item.gone) deleted.push({ id: item.row.id, deletedAt: (item.row as { deletedAt: Date }).deletedAt });
    else {
      const { syncKey: _k, ...row } = item.row as T;
      data.delete(row.id as string);
      data.set(row.id as string, view(row as unknown as T));
    }
  }
  const last = page[page.length - 1];
  return {
    data: [...data.values()],
    deleted,
    nextCursor: more && last ? encode({ ...p, after: [last.key.syncKey, last.key.id] }) : null,
    syncCursor: more ? null : encode({ mode: 'xid', from: p.next, next: null, after: null, scope: p.scope, issued: p.issued }),
  };
}

/** The list's tombstones after the position, in key order (at most limit + 1): rows deleted or moved away. */
export function tombstonesSince(ctx: Ctx, p: SyncPosition, entity: 'thread' | 'message' | 'note' | 'action', limit: number) {
  const sql = ctx.sql;
  const d = syncKey(sql, p, { time: 'd.deleted_at', xid: 'd.change_xid', id: 'd.id' });
  return sql<{ id: string; deletedAt: Date; syncKey: string }[]>`
    select d.id, d.deleted_at, ${d.select} from app.sync_tombstones d
    where d.org_id = ${ctx.orgId} and d.entity = ${entity} and d.scope_id = ${p.scope} and ${d.where}
    order by ${d.order}
    limit ${sql.unsafe(String(limit + 1))}`;
}
