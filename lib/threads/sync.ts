// Threads changed since an instant or the previous sync (lib/sync.ts), for a client catching up after
// a reconnect: threads created or changed, threads whose read state changed for the caller (read or
// marked unread elsewhere), and threads deleted.
import type * as z from 'zod';
import type { Ctx } from '../context.js';
import { refuseFilters, syncKey, syncPage, syncPosition, syncQuery, tombstonesSince } from '../sync.js';
import { threadListQuery, threadSelect, type Thread } from './service.js';

export const threadListOrSyncQuery = threadListQuery.extend(syncQuery);

type Keyed<T> = T & { syncKey: string; id: string };

export async function syncThreads(ctx: Ctx, q: z.infer<typeof threadListOrSyncQuery>) {
  refuseFilters(q, threadListQuery);
  const sql = ctx.sql;
  const p = await syncPosition(ctx, q, ctx.orgId);
  const take = sql.unsafe(String(q.limit + 1));
  const t = syncKey(sql, p, { time: 't.updated_at', xid: 't.change_xid', id: 't.id' });
  const changed = await sql<Keyed<Thread>[]>`
    ${threadSelect(ctx, sql`, ${t.select}`)}
    where t.org_id = ${ctx.orgId} and ${t.where}
    order by ${t.order}
    limit ${take}`;
  // The caller's read markers set, changed or removed since: the thread as the caller now sees it.
  let readState: Keyed<Thread>[] = [];
  if (ctx.userId) {
    const r = syncKey(sql, p, { time: 'r2.last_read_at', xid: 'r2.change_xid', id: 'r2.thread_id' });
    const u = syncKey(sql, p, { time: 'u.deleted_at', xid: 'u.change_xid', id: 'u.id' });
    readState = await sql<Keyed<Thread>[]>`
      ${threadSelect(ctx, sql`, x.sync_key`)}
      join (
        (select r2.thread_id as id, ${r.select} from app.thread_reads r2
         where r2.org_id = ${ctx.orgId} and r2.user_id = ${ctx.userId} and ${r.where} order by ${r.order} limit ${take})
        union all
        (select u.id, ${u.select} from app.sync_tombstones u
         where u.org_id = ${ctx.orgId} and u.entity = 'read' and u.scope_id = ${ctx.userId} and ${u.where} order by ${u.order} limit ${take})
      ) x on x.id = t.id
      where t.org_id = ${ctx.orgId}`;
  }
  const deleted = await tombstonesSince(ctx, p, 'thread', q.limit);
  return syncPage(p, q.limit, { changed: [...changed, ...readState], deleted });
}
