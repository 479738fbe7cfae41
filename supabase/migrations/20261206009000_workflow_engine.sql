-- The workflow engine (lib/workflows): versioned definitions, durable runs and steps, waits that an
-- event wakes, round-robin cursors, the automated-reply budget, and outgoing webhook endpoints with
-- their delivery log.
--
-- app.workflows keeps the current definition (trigger, conditions, steps) and its version number;
-- every save also writes the definition to app.workflow_versions, and a run keeps the version it
-- started with. The old unique index on (workflow, trigger event, subject) allowed one run per thread
-- and event type ever: a run is now deduplicated on the triggering occurrence instead (the event's id,
-- or the schedule's fire time and thread).

alter table app.workflows
  add column priority integer not null default 100 check (priority between 0 and 100000),
  add column stop_later boolean not null default false,
  -- The schedule trigger's cron (5 fields, the organization's time zone) and its next fire time.
  add column schedule text check (schedule is null or length(schedule) <= 100),
  add column next_fire_at timestamptz,
  add constraint workflows_trigger_check check (trigger_event in (
    'message.received', 'message.sent', 'thread.created', 'thread.updated', 'note.created', 'sla.warning', 'sla.breached',
    'action.overdue', 'shipment.milestone', 'schedule')),
  add constraint workflows_name_check check (length(trim(name)) between 1 and 200);
-- What an event looks up: the organization's enabled workflows for the trigger, in priority order.
create index workflows_trigger_idx on app.workflows (org_id, trigger_event, priority, id) where enabled;
-- The schedule cron: enabled schedules whose fire time came.
create index workflows_schedule_idx on app.workflows (next_fire_at) where enabled and trigger_event = 'schedule';
-- The management list.
create index workflows_list_idx on app.workflows (org_id, priority, name, id);

create table app.workflow_versions (
  org_id uuid not null,
  workflow_id uuid not null,
  version integer not null check (version >= 1),
  -- { trigger, conditions, steps } as saved.
  definition jsonb not null,
  created_by uuid,
  created_at timestamptz not null default now(),
  primary key (workflow_id, version),
  foreign key (org_id, workflow_id) references app.workflows (org_id, id) on delete cascade
);

drop index app.workflow_runs_trigger_idx;
alter table app.workflow_runs drop constraint workflow_runs_status_check;
alter table app.workflow_runs
  add column dedupe_key text,
  add column thread_id uuid,
  -- How many workflow runs led to the event that started this one (0: a person or the world did).
  add column depth integer not null default 0,
  add column event jsonb not null default '{}'::jsonb,
  add column current_step text,
  add constraint workflow_runs_status_check check (status in ('running', 'waiting', 'completed', 'failed', 'cancelled', 'skipped'));
update app.workflow_runs set dedupe_key = id::text where dedupe_key is null;
alter table app.workflow_runs alter column dedupe_key set not null;
-- One run per workflow and triggering occurrence: a redelivered event or a double cron tick starts nothing twice.
create unique index workflow_runs_dedupe_idx on app.workflow_runs (workflow_id, dedupe_key);
-- A thread's run history, newest first.
create index workflow_runs_thread_idx on app.workflow_runs (org_id, thread_id, started_at desc, id desc) where thread_id is not null;
drop index app.workflow_runs_workflow_idx;
create index workflow_runs_workflow_idx on app.workflow_runs (org_id, workflow_id, started_at desc, id desc);

create table app.workflow_run_steps (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  run_id uuid not null references app.workflow_runs (id) on delete cascade,
  -- The step's place in the definition: "2", or "3.onEvent.0" inside a wait's branch.
  step_key text not null check (length(step_key) <= 200),
  type text not null,
  status text not null check (status in ('running', 'waiting', 'succeeded', 'failed', 'skipped')),
  input jsonb,
  output jsonb,
  error jsonb,
  attempts integer not null default 1,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  unique (run_id, step_key)
);
create index workflow_run_steps_org_idx on app.workflow_run_steps (org_id, run_id);

-- A run waiting for an event on its thread: the event wakes it (a lookup by thread, never a scan);
-- a delayed job ends the wait at expires_at. The row is deleted by whichever comes first.
create table app.workflow_waits (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  run_id uuid not null references app.workflow_runs (id) on delete cascade,
  thread_id uuid not null,
  step_key text not null,
  events text[] not null,
  conditions jsonb,
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  unique (run_id, step_key)
);
create index workflow_waits_thread_idx on app.workflow_waits (org_id, thread_id);

-- The thread as the last thread event showed it, for `thread.updated`'s "what changed" (written only
-- while the organization has workflows or waits that listen).
create table app.workflow_thread_state (
  thread_id uuid primary key,
  org_id uuid not null,
  state jsonb not null,
  updated_at timestamptz not null default now(),
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade
);

-- Round robin: the member a team's last automatic assignment went to.
create table app.workflow_assign_cursors (
  org_id uuid not null references app.organizations (id) on delete cascade,
  team_id uuid not null,
  last_user_id uuid,
  updated_at timestamptz not null default now(),
  primary key (team_id),
  foreign key (org_id, team_id) references app.teams (org_id, id) on delete cascade
);

-- Automated replies per counterpart and day (UTC): at most WORKFLOW_AUTO_REPLIES_PER_DAY each.
create table app.workflow_auto_replies (
  org_id uuid not null references app.organizations (id) on delete cascade,
  counterpart text not null,
  day date not null,
  count integer not null default 0,
  primary key (org_id, counterpart, day)
);

create table app.webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  url text not null check (length(url) between 8 and 2000),
  description text check (description is null or length(description) <= 500),
  -- The whsec_ secret, sealed (lib/crypto/secrets.ts); the one before a rotation stays valid until previous_expires_at.
  secret jsonb not null,
  previous_secret jsonb,
  previous_expires_at timestamptz,
  enabled boolean not null default true,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id)
);
create index webhook_endpoints_list_idx on app.webhook_endpoints (org_id, created_at desc, id desc);
create trigger webhook_endpoints_updated_at before update on app.webhook_endpoints for each row execute function app.updated_at_trigger();

create table app.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  endpoint_id uuid not null,
  -- The webhook-id header: derived from the run and step that sent it, the same on every retry.
  webhook_id text not null check (length(webhook_id) <= 200),
  event text not null,
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  response_status integer,
  error text,
  created_at timestamptz not null default now(),
  last_attempt_at timestamptz,
  delivered_at timestamptz,
  unique (endpoint_id, webhook_id),
  foreign key (org_id, endpoint_id) references app.webhook_endpoints (org_id, id) on delete cascade
);
-- An endpoint's delivery log, newest first.
create index webhook_deliveries_endpoint_idx on app.webhook_deliveries (org_id, endpoint_id, created_at desc, id desc);

-- Versions: read by members, written with the workflow (managers, the system).
alter table app.workflow_versions enable row level security;
create policy workflow_versions_read on app.workflow_versions for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy workflow_versions_write on app.workflow_versions for insert to authenticated
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) = any ('{owner,admin,manager,system}'::text[]));
grant select, insert on app.workflow_versions to authenticated;

-- Managers cancel and retry runs (the engine, as the system, does the rest).
create policy workflow_runs_manage on app.workflow_runs for update to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) = any ('{owner,admin,manager}'::text[]))
  with check (org_id = (select app.acting_org()));

do $$
declare t text;
begin
  -- Steps and waits: read by members, written by the engine; managers may settle them on cancel/retry.
  foreach t in array array['workflow_run_steps', 'workflow_waits']
  loop
    execute format('alter table app.%I enable row level security', t);
    execute format('create policy %I on app.%I for select to authenticated using (org_id = (select app.acting_org()) and (select app.acting_ok()))', t || '_read', t);
    execute format('create policy %I on app.%I for all to authenticated using (org_id = (select app.acting_org()) and (select app.acting_role()) = any (''{owner,admin,manager,system}''::text[])) with check (org_id = (select app.acting_org()) and (select app.acting_role()) = any (''{owner,admin,manager,system}''::text[]))', t || '_write', t);
    execute format('grant select, insert, update, delete on app.%I to authenticated', t);
    execute format('grant all on app.%I to service_role', t);
  end loop;
  -- Written with the thread's change, by whoever changes it.
  alter table app.workflow_thread_state enable row level security;
  create policy workflow_thread_state_read on app.workflow_thread_state for select to authenticated
    using (org_id = (select app.acting_org()) and (select app.acting_ok()));
  create policy workflow_thread_state_write on app.workflow_thread_state for all to authenticated
    using (org_id = (select app.acting_org()) and (select app.acting_can_write()))
    with check (org_id = (select app.acting_org()) and (select app.acting_can_write()));
  grant select, insert, update, delete on app.workflow_thread_state to authenticated;
  grant all on app.workflow_thread_state to service_role;
  -- The engine's own bookkeeping: the system only.
  foreach t in array array['workflow_assign_cursors', 'workflow_auto_replies']
  loop
    execute format('alter table app.%I enable row level security', t);
    execute format('create policy %I on app.%I for all to authenticated using (org_id = (select app.acting_org()) and (select app.acting_role()) = ''system'') with check (org_id = (select app.acting_org()) and (select app.acting_role()) = ''system'')', t || '_system', t);
    execute format('grant select, insert, update, delete on app.%I to authenticated', t);
    execute format('grant all on app.%I to service_role', t);
  end loop;
  -- Webhook endpoints (secrets inside) and their deliveries: the roles that manage workflows, and the system.
  foreach t in array array['webhook_endpoints', 'webhook_deliveries']
  loop
    execute format('alter table app.%I enable row level security', t);
    execute format('create policy %I on app.%I for all to authenticated using (org_id = (select app.acting_org()) and (select app.acting_role()) = any (''{owner,admin,manager,system}''::text[])) with check (org_id = (select app.acting_org()) and (select app.acting_role()) = any (''{owner,admin,manager,system}''::text[]))', t || '_managers', t);
    execute format('grant select, insert, update, delete on app.%I to authenticated', t);
    execute format('grant all on app.%I to service_role', t);
  end loop;
end $$;
grant all on app.workflow_versions to service_role;
