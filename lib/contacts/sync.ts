// The organization's contacts changed since an instant or the previous sync (lib/sync.ts): new and
// edited contacts, and deleted ones (soft-deleted, merged into another included: each is its own tombstone).
import type * as z from 'zod';
import type { Ctx } from '../context.js';
import { refuseFilters, syncKey, syncPage, syncPosition, syncQuery } from '../sync.js';
import { CONTACT_COLUMNS, contactListQuery } from './service.js';

export const contactListOrSyncQuery = contactListQuery.extend(syncQuery);

type Row = { id: string; syncKey: string; deletedAt: Date | null } & Record<string, unknown>;

export async function syncContacts(ctx: Ctx, q: z.infer<typeof contactListOrSyncQuery>) {
  refuseFilters(q, contactListQuery);
  const sql = ctx.sql;
  const p = await syncPosition(ctx, q, ctx.orgId);
  const k = syncKey(sql, p, { time: 'updated_at', xid: 'change_xid', id: 'id' });
  const rows = await sql<Row[]>`
    select ${sql.unsafe(CONTACT_COLUMNS)}, deleted_at, ${k.select} from app.contacts
    where org_id = ${ctx.orgId} and ${k.where}
    order by ${k.order}
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const changed = rows.filter((r) => r.deletedAt === null).map(({ deletedAt: _d, ...contact }) => contact);
  const deleted = rows.filter((r) => r.deletedAt !== null).map((r) => ({ id: r.id, deletedAt: r.deletedAt!, syncKey: r.syncKey }));
  return syncPage(p, q.limit, { changed, deleted });
}
