-- Banxway foundation: the app schema, tenancy (organizations, members, teams), the helpers every RLS
-- policy uses, realtime emission, audit, jobs (outbox), idempotency keys and raw webhook events.
-- Applies unchanged to Supabase (`supabase db push`); roles, auth.* and realtime.* come from Supabase
-- there and from supabase/local/bootstrap.sql on local databases.

create schema if not exists app;
create extension if not exists pg_trgm with schema extensions;

-- Supabase's Data API must never reach these tables: the schema is not exposed, and anon gets nothing.
revoke all on schema app from public;
revoke all on schema app from anon;
grant usage on schema app to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Claims helpers. The API sets request.jwt.claims per transaction: sub (the user), org_id (the
-- organization the request acts for) and, for jobs and webhooks, actor = 'system' with no sub.
-- ---------------------------------------------------------------------------------------------
create or replace function app.claims() returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;

create or replace function app.acting_org() returns uuid
language sql stable set search_path = '' as $$
  select nullif(app.claims() ->> 'org_id', '')::uuid
$$;

create or replace function app.updated_at_trigger() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.updated_at := now();
  return new;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Organizations, members, teams
-- ---------------------------------------------------------------------------------------------
create table app.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(trim(name)) between 1 and 200),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  timezone text not null default 'Asia/Kolkata',
  plan text not null default 'free' check (plan in ('free', 'pro', 'enterprise')),
  settings jsonb not null default '{}'::jsonb,
  signature text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- The organization's own email domains: never matched as a customer's company domain.
create table app.organization_domains (
  org_id uuid not null references app.organizations (id) on delete cascade,
  domain text not null check (domain = lower(domain) and domain ~ '^[a-z0-9.-]+\.[a-z]{2,}$'),
  verified boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (org_id, domain)
);

create table app.members (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'manager', 'agent', 'viewer')),
  display_name text not null default '',
  email text,
  phone text check (phone is null or phone ~ '^\+[1-9][0-9]{6,14}$'),
  status text not null default 'active' check (status in ('active', 'disabled')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, user_id)
);
create index members_user_idx on app.members (user_id) where status = 'active';

create table app.teams (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  name text not null check (length(trim(name)) between 1 and 100),
  description text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, name),
  unique (org_id, id)
);

create table app.team_members (
  org_id uuid not null,
  team_id uuid not null,
  user_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (team_id, user_id),
  foreign key (org_id, team_id) references app.teams (org_id, id) on delete cascade,
  foreign key (org_id, user_id) references app.members (org_id, user_id) on delete cascade
);

-- Is the caller an active member of the acting organization (or a system actor acting for it)?
-- Security definer so that policies on members itself do not recurse. No row arguments: policies
-- call it as `(select app.acting_ok())`, which the planner evaluates once per statement.
create or replace function app.acting_ok() returns boolean
language sql stable security definer set search_path = '' as $$
  select app.acting_org() is not null and (
    (app.claims() ->> 'actor' = 'system' and auth.uid() is null)
    or exists (
      select 1 from app.members m
      where m.org_id = app.acting_org() and m.user_id = auth.uid() and m.status = 'active'
    )
  )
$$;

-- The caller's role in the acting organization ('system' for jobs and webhooks).
create or replace function app.acting_role() returns text
language sql stable security definer set search_path = '' as $$
  select case
    when app.acting_org() is null then null
    when app.claims() ->> 'actor' = 'system' and auth.uid() is null then 'system'
    else (select m.role from app.members m
          where m.org_id = app.acting_org() and m.user_id = auth.uid() and m.status = 'active')
  end
$$;

-- Viewers read only; everyone else (and the system actor) may write rows of the acting organization.
create or replace function app.acting_can_write() returns boolean
language sql stable security definer set search_path = '' as $$
  select coalesce(app.acting_role() in ('owner', 'admin', 'manager', 'agent', 'system'), false)
$$;

-- Which organizations does the caller belong to (for Realtime subscriptions, whose JWT has no org).
create or replace function app.may_subscribe(topic text) returns boolean
language sql stable security definer set search_path = '' as $$
  select topic is not null and auth.uid() is not null and (
    topic = 'user:' || auth.uid()::text
    or exists (
      select 1 from app.members m
      where m.user_id = auth.uid() and m.status = 'active'
        and (topic = 'org:' || m.org_id::text or topic like 'org:' || m.org_id::text || ':%')
    )
  )
$$;

-- ---------------------------------------------------------------------------------------------
-- Realtime: every event leaves through app.emit, which refuses topics of other organizations.
-- ---------------------------------------------------------------------------------------------
create or replace function app.emit(topic text, event text, payload jsonb) returns void
language plpgsql security definer set search_path = '' as $$
declare
  org uuid := app.acting_org();
begin
  if org is null or not app.acting_ok() then
    raise exception 'no acting organization for realtime event %', event using errcode = '42501';
  end if;
  if not (
    topic = 'org:' || org::text
    or topic like 'org:' || org::text || ':%'
    or exists (select 1 from app.members m where m.org_id = org and topic = 'user:' || m.user_id::text)
  ) then
    raise exception 'topic % does not belong to the acting organization', topic using errcode = '42501';
  end if;
  perform realtime.send(payload, event, topic, true);
end $$;

-- Members receive broadcasts on their organizations' topics and on their own user topic only.
drop policy if exists "banxway members receive their topics" on realtime.messages;
create policy "banxway members receive their topics" on realtime.messages
  for select to authenticated
  using (realtime.messages.extension = 'broadcast' and app.may_subscribe((select realtime.topic())));

-- ---------------------------------------------------------------------------------------------
-- Audit log (written only through app.audit)
-- ---------------------------------------------------------------------------------------------
create table app.audit_log (
  id bigint generated always as identity primary key,
  org_id uuid not null references app.organizations (id) on delete cascade,
  actor_user_id uuid,
  actor text not null default 'user' check (actor in ('user', 'system')),
  action text not null,
  entity_type text not null,
  entity_id uuid,
  data jsonb not null default '{}'::jsonb,
  request_id text,
  created_at timestamptz not null default now()
);
create index audit_log_entity_idx on app.audit_log (org_id, entity_type, entity_id, created_at desc);
create index audit_log_org_time_idx on app.audit_log (org_id, created_at desc);

create or replace function app.audit(action text, entity_type text, entity_id uuid, data jsonb, request_id text)
returns void language plpgsql security definer set search_path = '' as $$
begin
  if not app.acting_ok() then
    raise exception 'no acting organization for audit %', action using errcode = '42501';
  end if;
  insert into app.audit_log (org_id, actor_user_id, actor, action, entity_type, entity_id, data, request_id)
  values (app.acting_org(), auth.uid(), case when auth.uid() is null then 'system' else 'user' end,
          action, entity_type, entity_id, coalesce(data, '{}'::jsonb), request_id);
end $$;

-- ---------------------------------------------------------------------------------------------
-- Outbox: durable background jobs, written in the transaction of the change that needs them.
-- ---------------------------------------------------------------------------------------------
create table app.outbox (
  id uuid primary key default gen_random_uuid(),
  org_id uuid references app.organizations (id) on delete cascade,
  name text not null check (name ~ '^[a-z][a-z0-9_.-]{1,63}$'),
  payload jsonb not null default '{}'::jsonb,
  status text not null default 'pending' check (status in ('pending', 'running', 'done', 'dead')),
  attempts integer not null default 0 check (attempts >= 0),
  max_attempts integer not null default 8 check (max_attempts between 1 and 100),
  run_at timestamptz not null default now(),
  deadline_at timestamptz,
  dedupe_key text,
  locked_until timestamptz,
  published_at timestamptz,
  provider_message_id text,
  last_error text,
  first_attempt_at timestamptz,
  done_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index outbox_dedupe_idx on app.outbox (org_id, name, dedupe_key) where dedupe_key is not null;
create index outbox_due_idx on app.outbox (run_at) where status = 'pending';
create index outbox_running_idx on app.outbox (locked_until) where status = 'running';
create index outbox_dead_idx on app.outbox (org_id, updated_at desc) where status = 'dead';

-- Enqueue a job for the acting organization. A repeated dedupe key returns the existing job.
create or replace function app.enqueue_job(
  job_name text, job_payload jsonb, job_run_at timestamptz default null, job_deadline_at timestamptz default null,
  job_max_attempts integer default 8, job_dedupe_key text default null
) returns uuid language plpgsql security definer set search_path = '' as $$
declare
  job_id uuid;
begin
  if not app.acting_ok() then
    raise exception 'no acting organization for job %', job_name using errcode = '42501';
  end if;
  insert into app.outbox (org_id, name, payload, run_at, deadline_at, max_attempts, dedupe_key)
  values (app.acting_org(), job_name, coalesce(job_payload, '{}'::jsonb), coalesce(job_run_at, now()),
          job_deadline_at, coalesce(job_max_attempts, 8), job_dedupe_key)
  on conflict (org_id, name, dedupe_key) where dedupe_key is not null do nothing
  returning id into job_id;
  if job_id is null then
    select o.id into job_id from app.outbox o
    where o.org_id = app.acting_org() and o.name = job_name and o.dedupe_key = job_dedupe_key;
  end if;
  return job_id;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Idempotency keys for creating requests
-- ---------------------------------------------------------------------------------------------
create table app.idempotency_keys (
  org_id uuid not null references app.organizations (id) on delete cascade,
  user_id uuid not null,
  route text not null,
  key text not null check (length(key) between 1 and 255),
  request_hash text not null,
  status_code integer,
  response jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '24 hours',
  primary key (org_id, user_id, route, key)
);
create index idempotency_keys_expiry_idx on app.idempotency_keys (expires_at);

-- ---------------------------------------------------------------------------------------------
-- Webhook events: every provider callback, raw, stored once.
-- ---------------------------------------------------------------------------------------------
create table app.webhook_events (
  id uuid primary key default gen_random_uuid(),
  org_id uuid references app.organizations (id) on delete cascade,
  provider text not null check (provider in ('resend', 'exotel', 'qstash', 'other')),
  kind text not null,
  channel_id uuid,
  dedupe_key text not null,
  headers jsonb not null default '{}'::jsonb,
  payload jsonb,
  raw_body text,
  status text not null default 'received' check (status in ('received', 'processed', 'ignored', 'failed')),
  error text,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  unique (provider, dedupe_key)
);
create index webhook_events_org_idx on app.webhook_events (org_id, received_at desc);

-- ---------------------------------------------------------------------------------------------
-- updated_at triggers, RLS and grants for this file's tables
-- ---------------------------------------------------------------------------------------------
create trigger organizations_updated_at before update on app.organizations for each row execute function app.updated_at_trigger();
create trigger members_updated_at before update on app.members for each row execute function app.updated_at_trigger();
create trigger teams_updated_at before update on app.teams for each row execute function app.updated_at_trigger();
create trigger outbox_updated_at before update on app.outbox for each row execute function app.updated_at_trigger();

alter table app.organizations enable row level security;
alter table app.organization_domains enable row level security;
alter table app.members enable row level security;
alter table app.teams enable row level security;
alter table app.team_members enable row level security;
alter table app.audit_log enable row level security;
alter table app.outbox enable row level security;
alter table app.idempotency_keys enable row level security;
alter table app.webhook_events enable row level security;

create policy organizations_read on app.organizations for select to authenticated
  using (id = (select app.acting_org()) and (select app.acting_ok()));
create policy organizations_update on app.organizations for update to authenticated
  using (id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin'))
  with check (id = (select app.acting_org()));

create policy organization_domains_read on app.organization_domains for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy organization_domains_write on app.organization_domains for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin'))
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin'));

create policy members_read on app.members for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));

create policy teams_read on app.teams for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy teams_write on app.teams for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'manager'))
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'manager'));
create policy team_members_read on app.team_members for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy team_members_write on app.team_members for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'manager'))
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'manager'));

create policy audit_log_read on app.audit_log for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'system'));
create policy outbox_read on app.outbox for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'system'));
create policy webhook_events_read on app.webhook_events for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'system'));

create policy idempotency_keys_own on app.idempotency_keys for all to authenticated
  using (org_id = (select app.acting_org()) and user_id = auth.uid() and (select app.acting_ok()))
  with check (org_id = (select app.acting_org()) and user_id = auth.uid() and (select app.acting_ok()));

-- authenticated never writes roles, the outbox, the audit log or webhook events directly: members,
-- outbox, audit_log and webhook_events get select only (writes go through security-definer functions).
grant select on app.organizations, app.organization_domains, app.members, app.teams, app.team_members,
  app.audit_log, app.outbox, app.webhook_events to authenticated;
grant update (name, timezone, settings, signature) on app.organizations to authenticated;
grant insert, update, delete on app.organization_domains, app.teams, app.team_members to authenticated;
grant select, insert, update, delete on app.idempotency_keys to authenticated;
grant execute on all functions in schema app to authenticated, service_role;
grant all on all tables in schema app to service_role;

-- One call per change: the realtime event on each topic and (when action is given) the audit row.
create or replace function app.record_change(
  topics text[], event text, payload jsonb, action text, entity_type text, entity_id uuid, data jsonb, request_id text
) returns void language plpgsql security definer set search_path = '' as $$
declare
  t text;
begin
  foreach t in array coalesce(topics, '{}') loop
    perform app.emit(t, event, payload);
  end loop;
  if action is not null then
    perform app.audit(action, entity_type, entity_id, data, request_id);
  end if;
end $$;
grant execute on function app.record_change(text[], text, jsonb, text, text, uuid, jsonb, text) to authenticated, service_role;

-- The system actor marks its own job done inside the job's transaction, so effect and completion
-- commit together (a redelivered job finds it done and does nothing).
create or replace function app.complete_job(job_id uuid) returns void
language plpgsql security definer set search_path = '' as $$
begin
  if app.acting_role() is distinct from 'system' then
    raise exception 'only the system actor completes jobs' using errcode = '42501';
  end if;
  update app.outbox set status = 'done', done_at = now(), locked_until = null, last_error = null
  where id = job_id and org_id = app.acting_org();
end $$;

-- Owners and admins put a dead job back in the queue (attempts and deadline start afresh).
create or replace function app.retry_job(job_id uuid) returns app.outbox
language plpgsql security definer set search_path = '' as $$
declare
  job app.outbox;
begin
  if app.acting_role() is null or app.acting_role() not in ('owner', 'admin') then
    raise exception 'only owners and admins retry jobs' using errcode = '42501';
  end if;
  update app.outbox o set status = 'pending', attempts = 0, run_at = now(), locked_until = null, published_at = null,
    deadline_at = case when o.deadline_at is null then null else now() + (o.deadline_at - coalesce(o.first_attempt_at, o.created_at)) end,
    first_attempt_at = null
  where o.id = job_id and o.org_id = app.acting_org() and o.status = 'dead'
  returning * into job;
  return job;
end $$;
grant execute on function app.complete_job(uuid), app.retry_job(uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Membership changes go through these functions (authenticated cannot write app.members): admins
-- manage members below owner; only owners make, change or remove owners; the last active owner of
-- an organization can be neither demoted, disabled nor removed.
-- ---------------------------------------------------------------------------------------------
create or replace function app.assert_member_change(target_role text, new_role text) returns void
language plpgsql stable security definer set search_path = '' as $$
declare
  caller text := app.acting_role();
begin
  if caller is null or caller not in ('owner', 'admin') then
    raise exception 'only owners and admins manage members' using errcode = '42501';
  end if;
  if caller <> 'owner' and ('owner' in (coalesce(target_role, ''), coalesce(new_role, ''))) then
    raise exception 'only owners make, change or remove owners' using errcode = '42501';
  end if;
end $$;

create or replace function app.assert_not_last_owner(member_org uuid, member_user uuid) returns void
language plpgsql security definer set search_path = '' as $$
declare
  others integer;
begin
  -- Lock the organization's owner rows so two concurrent demotions cannot both pass.
  perform 1 from app.members where org_id = member_org and role = 'owner' for update;
  select count(*) into others from app.members
  where org_id = member_org and role = 'owner' and status = 'active' and user_id <> member_user;
  if others = 0 then
    raise exception 'the last owner of an organization cannot be removed, demoted or disabled' using errcode = 'BX409';
  end if;
end $$;

create or replace function app.add_member(new_user uuid, new_role text, new_display_name text, new_email text)
returns app.members language plpgsql security definer set search_path = '' as $$
declare
  m app.members;
begin
  perform app.assert_member_change(null, new_role);
  insert into app.members (org_id, user_id, role, display_name, email)
  values (app.acting_org(), new_user, new_role, coalesce(new_display_name, ''), new_email)
  returning * into m;
  return m;
end $$;

create or replace function app.update_member(member_id uuid, new_role text, new_status text, new_display_name text, new_phone text)
returns app.members language plpgsql security definer set search_path = '' as $$
declare
  m app.members;
begin
  select * into m from app.members where id = member_id and org_id = app.acting_org() for update;
  if not found then
    return null;
  end if;
  if new_role is not null or new_status is not null then
    perform app.assert_member_change(m.role, new_role);
    if m.role = 'owner' and (coalesce(new_role, 'owner') <> 'owner' or coalesce(new_status, 'active') <> 'active') then
      perform app.assert_not_last_owner(m.org_id, m.user_id);
    end if;
  elsif m.user_id <> auth.uid() and app.acting_role() not in ('owner', 'admin') then
    raise exception 'members edit only their own profile' using errcode = '42501';
  end if;
  update app.members set role = coalesce(new_role, role), status = coalesce(new_status, status),
    display_name = coalesce(new_display_name, display_name), phone = coalesce(new_phone, phone)
  where id = member_id returning * into m;
  return m;
end $$;

create or replace function app.remove_member(member_id uuid) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  m app.members;
begin
  select * into m from app.members where id = member_id and org_id = app.acting_org() for update;
  if not found then
    return false;
  end if;
  perform app.assert_member_change(m.role, null);
  if m.role = 'owner' then
    perform app.assert_not_last_owner(m.org_id, m.user_id);
  end if;
  delete from app.members where id = member_id;
  return true;
end $$;
grant execute on function app.add_member(uuid, text, text, text), app.update_member(uuid, text, text, text, text),
  app.remove_member(uuid) to authenticated, service_role;

-- Owners and admins look up a user of Supabase Auth by email to add them as a member.
create or replace function app.find_user_id(user_email text) returns uuid
language sql stable security definer set search_path = '' as $$
  select u.id from auth.users u
  where app.acting_role() in ('owner', 'admin') and lower(u.email) = lower(user_email) and u.deleted_at is null
  limit 1
$$;
grant execute on function app.find_user_id(text) to authenticated, service_role;
