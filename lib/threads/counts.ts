// The inbox sidebar's counts in one statement, read from the counters the database keeps
// (migration 20261205004100_thread_counts): open threads that are the caller's, unassigned, each of
// the caller's teams', unread by the caller, every status, and SLA clocks at risk or breached.
import type { Ctx } from '../context.js';
import { AppError } from '../errors.js';
import type * as z from 'zod';
import { THREAD_STATUSES } from './service.js';
import { slaWhere } from './sla-state.js';
import { SLA_AT_RISK_MINUTES, type threadCountsWire } from './wire.js';

export type ThreadCounts = z.infer<typeof threadCountsWire>;

interface Row {
  statuses: Record<string, number> | null;
  mine: number;
  unassigned: number;
  withMessages: number;
  caughtUp: number;
  teams: ThreadCounts['teams'];
  atRisk: number;
  breached: number;
  merged: number;
}

export async function threadCounts(ctx: Ctx): Promise<ThreadCounts> {
  if (!ctx.userId) throw new AppError('forbidden', 'The sidebar counts are a member’s');
  const sql = ctx.sql;
  const me = ctx.userId;
  const [row] = await sql<Row[]>`
    with buckets as materialized (
      select status, assignee_id, team_id, threads, with_messages from app.thread_counts where org_id = ${ctx.orgId}
    )
    select
      (select json_object_agg(s.status, s.n) from (select status, sum(threads)::int as n from buckets group by status) s) as statuses,
      (select coalesce(sum(threads), 0)::int from buckets where status = 'open' and assignee_id = ${me}) as mine,
      (select coalesce(sum(threads), 0)::int from buckets where status = 'open' and assignee_id is null) as unassigned,
      (select coalesce(sum(with_messages), 0)::int from buckets where status = 'open') as with_messages,
      coalesce((select caught_up from app.thread_read_counts where org_id = ${ctx.orgId} and user_id = ${me}), 0) as caught_up,
      (select coalesce(json_agg(json_build_object('id', tm.id, 'name', tm.name,
                'open', (select coalesce(sum(b.threads), 0)::int from buckets b where b.status = 'open' and b.team_id = tm.id))
              order by tm.name, tm.id), '[]'::json)
         from app.team_members x join app.teams tm on tm.id = x.team_id and tm.org_id = x.org_id
         where x.org_id = ${ctx.orgId} and x.user_id = ${me}) as teams,
      (select count(*)::int from app.threads t where t.org_id = ${ctx.orgId} ${slaWhere(sql, 'at_risk')}) as at_risk,
      (select count(*)::int from app.threads t where t.org_id = ${ctx.orgId} ${slaWhere(sql, 'breached')}) as breached,
      -- Merged threads are closed but never listed (a few, on a partial index): not counted either.
      (select count(*)::int from app.threads t where t.org_id = ${ctx.orgId} and t.merged_into_thread_id is not null) as merged`;
  const r = row!;
  const statuses = Object.fromEntries(THREAD_STATUSES.map((s) => [s, r.statuses?.[s] ?? 0])) as ThreadCounts['statuses'];
  statuses.closed = Math.max(0, statuses.closed - r.merged);
  return {
    open: statuses.open,
    mine: r.mine,
    unassigned: r.unassigned,
    unread: Math.max(0, r.withMessages - r.caughtUp),
    teams: r.teams,
    statuses,
    sla: { atRisk: r.atRisk, breached: r.breached, atRiskMinutes: SLA_AT_RISK_MINUTES },
  };
}
