-- Only the Banxway server may write jobs, audit rows and realtime events, or act as the system actor.
--
-- The security-definer helpers (app.enqueue_job, app.audit, app.emit, app.record_change, and the job
-- completion and retry) were executable by every member's database session, viewers included: a
-- session as `authenticated` could forge jobs, audit rows and realtime events to any member's user
-- topic, and claims naming the system actor made it the system for any organization. The API itself
-- calls them as `authenticated` (with RLS claims), so they cannot simply be revoked. Instead they
-- require that the session's login role is a member of `banxway_server`, a NOLOGIN role granted to
-- the role that runs the migrations (the API's login role: `postgres` on Supabase, through Supavisor
-- too) and never to Supabase's `authenticator`, through which PostgREST and Realtime open member
-- sessions. The system actor's claims count only in such a session.

do $$
begin
  create role banxway_server nologin;
exception when duplicate_object then
  null;
end $$;
grant banxway_server to current_user;

-- session_user is the login role whatever `set role` or a security-definer call changed since.
create or replace function app.is_server() returns boolean
language sql stable set search_path = '' as $$
  select pg_catalog.pg_has_role(session_user, 'banxway_server', 'member')
$$;

-- The job system completes jobs with their lease (app.complete_job(uuid, uuid)); the old form is unused.
drop function if exists app.complete_job(uuid);

create or replace function app.acting_ok()
 returns boolean
 language plpgsql
 stable security definer
 set search_path = ''
as $$
declare
  org uuid := app.acting_org();
  uid uuid := auth.uid();
begin
  if org is null then
    return false;
  end if;
  if uid is null then
    return coalesce(app.claims() ->> 'actor' = 'system', false) and app.is_server();
  end if;
  return exists (select 1 from app.members m where m.org_id = org and m.user_id = uid and m.status = 'active');
end $$;

create or replace function app.acting_role()
 returns text
 language plpgsql
 stable security definer
 set search_path = ''
as $$
declare
  org uuid := app.acting_org();
  uid uuid := auth.uid();
  r text;
begin
  if org is null then
    return null;
  end if;
  if uid is null then
    return case when app.claims() ->> 'actor' = 'system' and app.is_server() then 'system' end;
  end if;
  select m.role into r from app.members m where m.org_id = org and m.user_id = uid and m.status = 'active';
  return r;
end $$;

create or replace function app.audit(action text, entity_type text, entity_id uuid, data jsonb, request_id text)
 returns void
 language plpgsql
 security definer
 set search_path = ''
as $$
begin
  if not app.is_server() then
    raise exception 'only the Banxway server may call %', 'app.audit' using errcode = '42501';
  end if;
  if not app.acting_ok() then
    raise exception 'no acting organization for audit %', action using errcode = '42501';
  end if;
  insert into app.audit_log (org_id, actor_user_id, actor, action, entity_type, entity_id, data, request_id)
  values (app.acting_org(), auth.uid(), case when auth.uid() is null then 'system' else 'user' end,
          action, entity_type, entity_id, coalesce(data, '{}'::jsonb), request_id);
end $$;

create or replace function app.complete_job(job_id uuid, lease uuid)
 returns void
 language plpgsql
 security definer
 set search_path = ''
as $$
begin
  if not app.is_server() then
    raise exception 'only the Banxway server may call %', 'app.complete_job' using errcode = '42501';
  end if;
  if app.acting_role() is distinct from 'system' then
    raise exception 'only the system actor completes jobs' using errcode = '42501';
  end if;
  update app.outbox set status = 'done', done_at = now(), locked_until = null, lease_id = null, last_error = null
  where id = job_id and org_id = app.acting_org() and status = 'running' and lease_id = lease;
  if not found then
    raise exception 'job % lost its lease to another run', job_id using errcode = 'BXJ01';
  end if;
end $$;

create or replace function app.emit(topic text, event text, payload jsonb)
 returns void
 language plpgsql
 security definer
 set search_path = ''
as $$
declare
  org uuid := app.acting_org();
begin
  if not app.is_server() then
    raise exception 'only the Banxway server may call %', 'app.emit' using errcode = '42501';
  end if;
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

create or replace function app.enqueue_job(job_name text, job_payload jsonb, job_run_at timestamp with time zone default null, job_deadline_at timestamp with time zone default null, job_max_attempts integer default 8, job_dedupe_key text default null)
 returns uuid
 language plpgsql
 security definer
 set search_path = ''
as $$
declare
  job_id uuid;
begin
  if not app.is_server() then
    raise exception 'only the Banxway server may call %', 'app.enqueue_job' using errcode = '42501';
  end if;
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

create or replace function app.record_change(topics text[], event text, payload jsonb, action text, entity_type text, entity_id uuid, data jsonb, request_id text)
 returns void
 language plpgsql
 security definer
 set search_path = ''
as $$
declare
  t text;
begin
  if not app.is_server() then
    raise exception 'only the Banxway server may call %', 'app.record_change' using errcode = '42501';
  end if;
  foreach t in array coalesce(topics, '{}') loop
    perform app.emit(t, event, payload);
  end loop;
  if action is not null then
    perform app.audit(action, entity_type, entity_id, data, request_id);
  end if;
end $$;

create or replace function app.retry_job(job_id uuid)
 returns app.outbox
 language plpgsql
 security definer
 set search_path = ''
as $$
declare
  job app.outbox;
begin
  if not app.is_server() then
    raise exception 'only the Banxway server may call %', 'app.retry_job' using errcode = '42501';
  end if;
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
