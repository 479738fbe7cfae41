// A shipment's timeline: its milestones, the messages and notes of the threads linked to it (not the
// rejected links; no drafts), and the actions and documents on it or on those threads, newest first,
// paginated. Each source reads at most a page through its own index (per linked thread for messages,
// notes and documents), and the page is the newest of those.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { decodeCursor, pageQuery, toPage } from '../pagination.js';
import { getShipment } from './service.js';

export const timelineQuery = z.object({ ...pageQuery });
const cursorShape = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

export interface TimelineItem {
  kind: 'milestone' | 'message' | 'note' | 'action' | 'document';
  id: string;
  at: Date;
  threadId: string | null;
  data: Record<string, unknown>;
  atKey?: string;
}

export async function shipmentTimeline(ctx: Ctx, shipmentId: string, q: z.infer<typeof timelineQuery>) {
  const sql = ctx.sql;
  await getShipment(ctx, shipmentId);
  const after = decodeCursor(q.cursor, cursorShape);
  const n = q.limit + 1;
  const before = (at: string, id: string) => (after ? sql`and (${sql.unsafe(at)}, ${sql.unsafe(id)}) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``);
  const rows = await sql<TimelineItem[]>`
    with links as materialized (
      select thread_id from app.thread_shipments
      where org_id = ${ctx.orgId} and shipment_id = ${shipmentId} and link_source <> 'rejected'
    ), items as (
      (select 'milestone' as kind, m.id, coalesce(m.actual_at, m.planned_at, m.created_at) as at, null::uuid as thread_id,
         json_build_object('code', m.code, 'label', m.label, 'location', m.location, 'plannedAt', m.planned_at,
           'actualAt', m.actual_at, 'source', m.source) as data
       from app.shipment_milestones m
       where m.org_id = ${ctx.orgId} and m.shipment_id = ${shipmentId} ${before('coalesce(m.actual_at, m.planned_at, m.created_at)', 'm.id')}
       order by coalesce(m.actual_at, m.planned_at, m.created_at) desc, m.id desc limit ${n})
      union all
      (select 'message', x.id, x.occurred_at, x.thread_id, x.data from links l cross join lateral (
         select m.id, m.occurred_at, m.thread_id,
           json_build_object('channel', m.channel, 'direction', m.direction, 'kind', m.kind, 'status', m.status, 'subject', m.subject,
             'snippet', m.snippet, 'fromName', m.from_name, 'fromAddress', m.from_address) as data
         from app.messages m
         where m.org_id = ${ctx.orgId} and m.thread_id = l.thread_id and m.status <> 'draft' ${before('m.occurred_at', 'm.id')}
         order by m.occurred_at desc, m.id desc limit ${n}) x)
      union all
      (select 'note', x.id, x.created_at, x.thread_id, x.data from links l cross join lateral (
         select k.id, k.created_at, k.thread_id, json_build_object('body', k.body, 'authorId', k.author_id) as data
         from app.notes k
         where k.org_id = ${ctx.orgId} and k.thread_id = l.thread_id and k.deleted_at is null ${before('k.created_at', 'k.id')}
         order by k.created_at desc, k.id desc limit ${n}) x)
      union all
      (select 'action', a.id, a.created_at, a.thread_id,
         json_build_object('title', a.title, 'type', a.type, 'status', a.status, 'priority', a.priority, 'dueAt', a.due_at, 'assigneeId', a.assignee_id) as data
       from app.actions a
       where a.org_id = ${ctx.orgId} and (a.shipment_id = ${shipmentId} or a.thread_id in (select thread_id from links)) ${before('a.created_at', 'a.id')}
       order by a.created_at desc, a.id desc limit ${n})
      union all
      (select 'document', x.id, x.created_at, x.thread_id,
         json_build_object('title', x.title, 'type', x.type, 'status', x.status, 'source', x.source, 'readStatus', x.read_status) as data
       from (
         (select d.id, d.created_at, d.thread_id, d.title, d.type, d.status, d.source, d.read_status from app.documents d
          where d.org_id = ${ctx.orgId} and d.shipment_id = ${shipmentId} ${before('d.created_at', 'd.id')}
          order by d.created_at desc, d.id desc limit ${n})
         union
         (select y.* from links l cross join lateral (
            select d.id, d.created_at, d.thread_id, d.title, d.type, d.status, d.source, d.read_status from app.documents d
            where d.org_id = ${ctx.orgId} and d.thread_id = l.thread_id ${before('d.created_at', 'd.id')}
            order by d.created_at desc, d.id desc limit ${n}) y)
       ) x)
    )
    select kind, id, at, thread_id, data, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at_key
    from items order by at desc, id desc limit ${n}`;
  const page = toPage(rows, q.limit, (r) => [r.atKey, r.id]);
  return { ...page, data: page.data.map(({ atKey: _k, ...item }) => item) };
}
