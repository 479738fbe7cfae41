// A thread's messages changed since an instant or the previous sync (lib/sync.ts): new and changed
// messages (status, delivery, analysis, draft edits), and those gone from the thread (a draft
// discarded, a message moved to another thread).
import type * as z from 'zod';
import type { Ctx } from '../context.js';
import { notFound } from '../errors.js';
import { syncKey, syncPage, syncPosition, syncQuery, tombstonesSince } from '../sync.js';
import { columns, messageListQuery, type Message } from './service.js';

export const messageListOrSyncQuery = messageListQuery.extend(syncQuery);

export async function syncMessages(ctx: Ctx, threadId: string, q: z.infer<typeof messageListOrSyncQuery>) {
  const sql = ctx.sql;
  const [thread] = await sql`select 1 from app.threads where id = ${threadId} and org_id = ${ctx.orgId}`;
  if (!thread) throw notFound('Thread');
  const p = await syncPosition(ctx, q, threadId);
  const take = sql.unsafe(String(q.limit + 1));
  const m = syncKey(sql, p, { time: 'm.updated_at', xid: 'm.change_xid', id: 'm.id' });
  const changed = await sql<(Message & { syncKey: string })[]>`
    select ${columns(sql)}, ${m.select} from app.messages m
    where m.org_id = ${ctx.orgId} and m.thread_id = ${threadId} and ${m.where}
    order by ${m.order}
    limit ${take}`;
  const deleted = await tombstonesSince(ctx, p, 'message', q.limit);
  return syncPage(p, q.limit, { changed, deleted });
}
