// The organization's customers changed since an instant or the previous sync (lib/sync.ts): new and
// edited customers, and deleted ones (soft-deleted, merged into another included: each is its own tombstone).
import type * as z from 'zod';
import type { Ctx } from '../context.js';
import { refuseFilters, syncKey, syncPage, syncPosition, syncQuery } from '../sync.js';
import { customerColumns, customerListQuery } from './service.js';

export const customerListOrSyncQuery = customerListQuery.extend(syncQuery);

type Row = { id: string; syncKey: string; deletedAt: Date | null } & Record<string, unknown>;

export async function syncCustomers(ctx: Ctx, q: z.infer<typeof customerListOrSyncQuery>) {
  refuseFilters(q, customerListQuery);
  const sql = ctx.sql;
  const p = await syncPosition(ctx, q, ctx.orgId);
  const c = syncKey(sql, p, { time: 'c.updated_at', xid: 'c.change_xid', id: 'c.id' });
  const rows = await sql<Row[]>`
    select ${customerColumns(sql)}, c.deleted_at, ${c.select} from app.customers c
    where c.org_id = ${ctx.orgId} and ${c.where}
    order by ${c.order}
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const changed = rows.filter((r) => r.deletedAt === null).map(({ deletedAt: _d, ...customer }) => customer);
  const deleted = rows.filter((r) => r.deletedAt !== null).map((r) => ({ id: r.id, deletedAt: r.deletedAt!, syncKey: r.syncKey }));
  return syncPage(p, q.limit, { changed, deleted });
}
