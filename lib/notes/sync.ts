// A thread's notes changed since an instant or the previous sync (lib/sync.ts): new and edited notes,
// and deleted ones (a soft-deleted note is its own tombstone; a note moved to another thread leaves one).
import type * as z from 'zod';
import type { Ctx } from '../context.js';
import { notFound } from '../errors.js';
import { syncKey, syncPage, syncPosition, syncQuery, tombstonesSince } from '../sync.js';
import { noteListQuery, noteSelect, type Note } from './service.js';

export const noteListOrSyncQuery = noteListQuery.extend(syncQuery);

type Row = Note & { syncKey: string; sortAt: string; deletedAt: Date | null };

export async function syncNotes(ctx: Ctx, threadId: string, q: z.infer<typeof noteListOrSyncQuery>) {
  const sql = ctx.sql;
  const [thread] = await sql`select 1 from app.threads where id = ${threadId} and org_id = ${ctx.orgId}`;
  if (!thread) throw notFound('Thread');
  const p = await syncPosition(ctx, q, threadId);
  const take = sql.unsafe(String(q.limit + 1));
  const n = syncKey(sql, p, { time: 'n.updated_at', xid: 'n.change_xid', id: 'n.id' });
  const rows = await sql<Row[]>`
    ${noteSelect(sql, sql`, n.deleted_at, ${n.select}`)}
    where n.org_id = ${ctx.orgId} and n.thread_id = ${threadId} and ${n.where}
    order by ${n.order}
    limit ${take}`;
  const tombstones = await tombstonesSince(ctx, p, 'note', q.limit);
  const changed = rows.filter((r) => r.deletedAt === null).map(({ sortAt: _s, deletedAt: _d, ...note }) => note);
  const softDeleted = rows.filter((r) => r.deletedAt !== null).map((r) => ({ id: r.id, deletedAt: r.deletedAt!, syncKey: r.syncKey }));
  return syncPage(p, q.limit, { changed, deleted: [...softDeleted, ...tombstones] });
}
