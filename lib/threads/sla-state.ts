// A thread's service-level state, as the inbox list filters it (GET /api/threads?sla=) and the sidebar
// counts it (GET /api/threads/counts): one definition, so a count and the list it opens agree.
// Only open threads are in a state: a pending, snoozed or resolved thread's clocks are paused.
import type { Ctx } from '../context.js';

/** An open thread whose SLA falls due within this many minutes is at risk. */
export const SLA_AT_RISK_MINUTES = 60;

export const SLA_STATES = ['breached', 'at_risk', 'ok'] as const;
export type SlaState = (typeof SLA_STATES)[number];

/** The earliest due time of a thread's clocks, as the partial indexes on app.threads spell it. */
export const NEXT_DUE = 'least(t.first_response_due_at, t.next_response_due_at, t.resolution_due_at)';

/**
 * `and …` for threads `t` in the state: breached (marked by the sla-check cron, until no clock is past
 * due); at risk (not marked, the earliest due time less than SLA_AT_RISK_MINUTES away or past); ok
 * (clocks running, none that close).
 */
export function slaWhere(sql: Ctx['sql'], state: SlaState) {
  const due = sql.unsafe(NEXT_DUE);
  const soon = sql`now() + make_interval(mins => ${SLA_AT_RISK_MINUTES}::int)`;
  if (state === 'breached') return sql`and t.status = 'open' and t.sla_breached_at is not null`;
  if (state === 'at_risk') return sql`and t.status = 'open' and t.sla_breached_at is null and ${due} < ${soon}`;
  return sql`and t.status = 'open' and t.sla_breached_at is null and ${due} >= ${soon}`;
}
