-- Service levels, part two: the clocks on threads (lib/sla/clock.ts).
--
-- A thread's clocks pause while it is pending, snoozed or resolved and resume with the paused time
-- added back. The thread keeps when the current pause began (sla_paused_since) and its finished pauses
-- as [start, end] pairs in epoch milliseconds (sla_pauses): each clock adds back only the pauses after
-- it started, measured on its own policy's calendar (business or calendar time), so a later change of
-- policy or calendar recomputes every due time exactly.
alter table app.threads
  add column sla_paused_since timestamptz,
  add column sla_pauses jsonb not null default '[]'::jsonb check (jsonb_typeof(sla_pauses) = 'array');
