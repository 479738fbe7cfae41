-- Service levels, part four: the outcome of each target when a thread is resolved or closed, for
-- analytics (read by organization and time: (org_id, at)). One row per target the thread's policy set
-- and its clocks ran: met or missed, and how long it took on the target's own clock (business or
-- calendar milliseconds, paused time left out). Next response keeps the longest of its rounds.
create table app.sla_outcomes (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  thread_id uuid not null references app.threads (id) on delete cascade,
  policy_id uuid,
  target text not null check (target in ('firstResponse', 'nextResponse', 'resolution')),
  priority text not null,
  business boolean not null,
  target_minutes integer not null,
  elapsed_ms bigint not null check (elapsed_ms >= 0),
  met boolean not null,
  started_at timestamptz not null,
  at timestamptz not null
);
create index sla_outcomes_org_at_idx on app.sla_outcomes (org_id, at);
create index sla_outcomes_thread_idx on app.sla_outcomes (thread_id);

alter table app.sla_outcomes enable row level security;
create policy sla_outcomes_read on app.sla_outcomes for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy sla_outcomes_write on app.sla_outcomes for insert to authenticated
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()));
grant select, insert on app.sla_outcomes to authenticated;
grant all on app.sla_outcomes to service_role;
