-- API keys: an organization's machines (its own AI agents, a vendor's) act through the API and the MCP
-- server like a member, never above the member who made the key.
--
-- A key is `bx_live_` + 12 characters of prefix (stored, indexed, shown in lists) + 32 secret characters;
-- only the SHA-256 of the whole key is stored. The API looks a key up with app.authenticate_api_key (a
-- server-only security-definer function: no organization is known before the key is), then acts with
-- the claims {org_id, actor: 'api_key', api_key_id} and no sub. app.acting_role() then answers the key's
-- role ceiling, lowered to its creator's current role; a key whose creator left the organization, a
-- revoked key and an expired key act as nobody. Audit rows name actor 'api_key' and the key.

create table app.api_keys (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  name text not null check (length(trim(name)) between 1 and 200),
  prefix text not null unique check (prefix ~ '^bx_live_[A-Za-z0-9]{12}$'),
  key_hash text not null check (key_hash ~ '^[0-9a-f]{64}$'),
  role text not null default 'agent' check (role in ('owner', 'admin', 'manager', 'agent', 'viewer')),
  -- null: everything the role allows; otherwise only these actions (and 'replies.send' for sending).
  scopes text[] check (scopes is null or cardinality(scopes) <= 64),
  created_by uuid not null references auth.users (id) on delete cascade,
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  revoked_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now()
);
-- The list: newest first per organization.
create index api_keys_org_created_idx on app.api_keys (org_id, created_at desc, id desc);

create or replace function app.role_rank(r text) returns integer
language sql immutable set search_path = '' as $$
  select case r when 'owner' then 5 when 'admin' then 4 when 'manager' then 3 when 'agent' then 2 when 'viewer' then 1 else 0 end
$$;

alter table app.api_keys enable row level security;
-- Owners and admins see and manage their organization's keys; a key itself never does (no sub).
create policy api_keys_read on app.api_keys for select to authenticated
  using (org_id = (select app.acting_org()) and (select auth.uid()) is not null and (select app.acting_role()) in ('owner', 'admin'));
create policy api_keys_insert on app.api_keys for insert to authenticated
  with check (org_id = (select app.acting_org()) and created_by = (select auth.uid())
    and (select app.acting_role()) in ('owner', 'admin') and app.role_rank(role) <= app.role_rank((select app.acting_role())));
create policy api_keys_update on app.api_keys for update to authenticated
  using (org_id = (select app.acting_org()) and (select auth.uid()) is not null and (select app.acting_role()) in ('owner', 'admin'))
  with check (org_id = (select app.acting_org()) and (select auth.uid()) is not null and (select app.acting_role()) in ('owner', 'admin'));
grant select, insert, update on app.api_keys to authenticated;

-- The role a live key acts with: its ceiling, never above its creator's current role; null for a
-- revoked or expired key, or one whose creator is no longer an active member.
create or replace function app.api_key_role(key_id uuid, org uuid) returns text
language sql stable security definer set search_path = '' as $$
  select case when app.role_rank(m.role) < app.role_rank(k.role) then m.role else k.role end
  from app.api_keys k join app.members m on m.org_id = k.org_id and m.user_id = k.created_by and m.status = 'active'
  where k.id = key_id and k.org_id = org and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
$$;
revoke execute on function app.api_key_role(uuid, uuid) from public;

-- Looks a presented key up by its prefix and checks its hash (server only), noting when it was last
-- used (at most once a minute, so a busy key does not write on every request).
create or replace function app.authenticate_api_key(key_prefix text, presented_hash text)
returns table (id uuid, org_id uuid, role text, scopes text[])
language plpgsql volatile security definer set search_path = '' as $$
declare
  k app.api_keys;
  r text;
begin
  if not app.is_server() then
    raise exception 'only the Banxway server may call %', 'app.authenticate_api_key' using errcode = '42501';
  end if;
  select * into k from app.api_keys a where a.prefix = key_prefix;
  if k.id is null or k.key_hash <> presented_hash then
    return;
  end if;
  r := app.api_key_role(k.id, k.org_id);
  if r is null then
    return;
  end if;
  if k.last_used_at is null or k.last_used_at < now() - interval '1 minute' then
    update app.api_keys a set last_used_at = now() where a.id = k.id;
  end if;
  return query select k.id, k.org_id, r, k.scopes;
end $$;
revoke execute on function app.authenticate_api_key(text, text) from public;

create or replace function app.acting_ok() returns boolean
language plpgsql stable security definer set search_path = '' as $$
declare
  org uuid := app.acting_org();
  uid uuid := auth.uid();
begin
  if org is null then
    return false;
  end if;
  if uid is null then
    if app.claims() ->> 'actor' = 'system' then
      return app.is_server();
    end if;
    if app.claims() ->> 'actor' = 'api_key' then
      return app.is_server() and app.api_key_role(nullif(app.claims() ->> 'api_key_id', '')::uuid, org) is not null;
    end if;
    return false;
  end if;
  return exists (select 1 from app.members m where m.org_id = org and m.user_id = uid and m.status = 'active');
end $$;

create or replace function app.acting_role() returns text
language plpgsql stable security definer set search_path = '' as $$
declare
  org uuid := app.acting_org();
  uid uuid := auth.uid();
  r text;
begin
  if org is null then
    return null;
  end if;
  if uid is null then
    if app.claims() ->> 'actor' = 'system' and app.is_server() then
      return 'system';
    end if;
    if app.claims() ->> 'actor' = 'api_key' and app.is_server() then
      return app.api_key_role(nullif(app.claims() ->> 'api_key_id', '')::uuid, org);
    end if;
    return null;
  end if;
  select m.role into r from app.members m where m.org_id = org and m.user_id = uid and m.status = 'active';
  return r;
end $$;

-- Audit rows name the key that acted.
alter table app.audit_log add column api_key_id uuid;
alter table app.audit_log drop constraint audit_log_actor_check;
alter table app.audit_log add constraint audit_log_actor_check check (actor in ('user', 'system', 'api_key'));

create or replace function app.audit(action text, entity_type text, entity_id uuid, data jsonb, request_id text)
 returns void
 language plpgsql
 security definer
 set search_path = ''
as $$
declare
  key_id uuid := case when auth.uid() is null and app.claims() ->> 'actor' = 'api_key' then nullif(app.claims() ->> 'api_key_id', '')::uuid end;
begin
  if not app.is_server() then
    raise exception 'only the Banxway server may call %', 'app.audit' using errcode = '42501';
  end if;
  if not app.acting_ok() then
    raise exception 'no acting organization for audit %', action using errcode = '42501';
  end if;
  insert into app.audit_log (org_id, actor_user_id, actor, api_key_id, action, entity_type, entity_id, data, request_id)
  values (app.acting_org(), auth.uid(), case when auth.uid() is not null then 'user' when key_id is not null then 'api_key' else 'system' end,
          key_id, action, entity_type, entity_id, coalesce(data, '{}'::jsonb), request_id);
end $$;

-- The key a request acts as (null for members and the system actor).
create or replace function app.acting_api_key() returns uuid
language sql stable as $$
  select case when auth.uid() is null and app.claims() ->> 'actor' = 'api_key' then nullif(app.claims() ->> 'api_key_id', '')::uuid end
$$;

-- Idempotency keys belong to the member, or to the API key, that sent them.
drop policy idempotency_keys_own on app.idempotency_keys;
create policy idempotency_keys_own on app.idempotency_keys for all to authenticated
  using (org_id = (select app.acting_org()) and user_id = coalesce(auth.uid(), (select app.acting_api_key())) and (select app.acting_ok()))
  with check (org_id = (select app.acting_org()) and user_id = coalesce(auth.uid(), (select app.acting_api_key())) and (select app.acting_ok()));
