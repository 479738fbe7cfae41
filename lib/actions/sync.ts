// The organization's actions changed since an instant or the previous sync (lib/sync.ts): new and
// changed actions, and deleted ones.
import type * as z from 'zod';
import type { Ctx } from '../context.js';
import { refuseFilters, syncKey, syncPage, syncPosition, syncQuery, tombstonesSince } from '../sync.js';
import { actionListQuery, actionSelect, type Action } from './service.js';

export const actionListOrSyncQuery = actionListQuery.extend(syncQuery);

type Row = Action & { syncKey: string; sortDue: string | null; sortCreated: string };

export async function syncActions(ctx: Ctx, q: z.infer<typeof actionListOrSyncQuery>) {
  refuseFilters(q, actionListQuery);
  const sql = ctx.sql;
  const p = await syncPosition(ctx, q, ctx.orgId);
  const take = sql.unsafe(String(q.limit + 1));
  const a = syncKey(sql, p, { time: 'a.updated_at', xid: 'a.change_xid', id: 'a.id' });
  const rows = await sql<Row[]>`
    ${actionSelect(sql, sql`, ${a.select}`)}
    where a.org_id = ${ctx.orgId} and ${a.where}
    order by ${a.order}
    limit ${take}`;
  const deleted = await tombstonesSince(ctx, p, 'action', q.limit);
  const changed = rows.map(({ sortDue: _d, sortCreated: _c, ...action }) => action);
  return syncPage(p, q.limit, { changed, deleted });
}
