-- Service levels, part three: warnings and breaches raised by the sla-check cron (lib/sla/check.ts).
--
-- Each clock also stores when its warning is due (the policy's warningPercent of the target), and the
-- thread keeps the earliest warning or due time still ahead (sla_next_check_at), so one tick reads only
-- the threads with something due, through a partial index, never a scan of open threads.
-- app.sla_events records each event fired: unique per thread, target, kind and due time, so an event
-- is raised exactly once even when ticks overlap or retry (a due time moved by a pause or a policy
-- change is a new deadline, with events of its own). announced_at marks the events sent out (realtime,
-- audit, the sla.event hook), so a tick that dies after recording announces them on the next one.
alter table app.threads
  add column first_response_warn_at timestamptz,
  add column next_response_warn_at timestamptz,
  add column resolution_warn_at timestamptz,
  add column sla_next_check_at timestamptz;
create index threads_sla_check_idx on app.threads (sla_next_check_at) where status = 'open' and sla_next_check_at is not null;

create table app.sla_events (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  thread_id uuid not null references app.threads (id) on delete cascade,
  target text not null check (target in ('firstResponse', 'nextResponse', 'resolution')),
  kind text not null check (kind in ('warning', 'breached')),
  due_at timestamptz not null,
  fired_at timestamptz not null default now(),
  announced_at timestamptz,
  unique (thread_id, target, kind, due_at)
);
create index sla_events_unannounced_idx on app.sla_events (org_id, fired_at) where announced_at is null;
create index sla_events_org_idx on app.sla_events (org_id, fired_at desc);

alter table app.sla_events enable row level security;
create policy sla_events_read on app.sla_events for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy sla_events_system on app.sla_events for update to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) = 'system')
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) = 'system');
grant select, update on app.sla_events to authenticated;
grant all on app.sla_events to service_role;
