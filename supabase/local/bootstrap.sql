-- =============================================================================
-- supabase/local/bootstrap.sql
--
-- Local stand-in for what a Supabase project already provides before our
-- migrations run: the API roles, the `extensions`, `auth` and `realtime`
-- schemas, `auth.users`, the `auth.*()` JWT helpers, and Realtime Broadcast's
-- `realtime.messages` / `realtime.topic()` / `realtime.send()`.
--
-- For LOCAL, NON-SUPABASE databases only (real PostgreSQL 15 and PGlite 0.5 /
-- PostgreSQL 18). Every block below returns at once on a Supabase database
-- (detected by the `supabase_admin` role, which every Supabase image creates),
-- so running it there is a no-op.
--
-- Idempotent: every object is created only where absent (DO blocks checking
-- the catalogs), grants are re-applied (a no-op when already held). Running it
-- twice changes nothing and never errors.
--
-- Executed as ONE multi-statement simple query (postgres.js `sql.unsafe(text)`,
-- PGlite `db.exec(text)`): no psql meta-commands, no transaction control.
--
-- Definitions are copied from the upstream repositories named above each
-- block; the only adaptations are the existence guards, and those listed in
-- the "Adapted:" notes. Our `app` schema is NOT created here (migrations do).
-- Supabase grants nothing on custom schemas such as `app`: the migrations must
-- grant usage/privileges on it themselves, exactly as on Supabase.
-- =============================================================================


-- -----------------------------------------------------------------------------
-- Roles
-- Copied from supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql:
--   create role anon                nologin noinherit;
--   create role authenticated       nologin noinherit; -- "logged in" user
--   create role service_role        nologin noinherit bypassrls;
--   create user authenticator noinherit;
--   grant anon, authenticated, service_role to authenticator;
--   alter role anon set statement_timeout = '3s';
--   alter role authenticated set statement_timeout = '8s';
-- then supabase/postgres migrations/db/migrations/
--   20221028101028_set_authenticator_timeout.sql      (authenticator statement_timeout 8s)
--   20231130133139_set_lock_timeout_to_authenticator_role.sql (authenticator lock_timeout 8s)
--   20230529180330_alter_api_roles_for_inherit.sql    (anon, authenticated, service_role -> INHERIT,
--                                                      which is what a Supabase project has today)
-- Adapted: each role only if missing; role settings only when we create the
-- role; `grant supabase_admin to authenticator` omitted (no supabase_admin here).
-- -----------------------------------------------------------------------------
do $bootstrap$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    return; -- a Supabase database: it already has all of this
  end if;

  if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
    alter role anon inherit;
    alter role anon set statement_timeout = '3s';
  end if;

  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit; -- "logged in" user: web_user, app_user, etc
    alter role authenticated inherit;
    alter role authenticated set statement_timeout = '8s';
  end if;

  if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls; -- allow developers to create JWT's that bypass their policies
    alter role service_role inherit;
  end if;

  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
    create user authenticator noinherit;
    alter role authenticator set statement_timeout = '8s';
    alter role authenticator set lock_timeout to '8s';
  end if;

  if not exists (select from pg_catalog.pg_auth_members m
                 join pg_catalog.pg_roles r on r.oid = m.roleid
                 join pg_catalog.pg_roles u on u.oid = m.member
                 where r.rolname = 'anon' and u.rolname = 'authenticator') then
    grant anon to authenticator;
  end if;
  if not exists (select from pg_catalog.pg_auth_members m
                 join pg_catalog.pg_roles r on r.oid = m.roleid
                 join pg_catalog.pg_roles u on u.oid = m.member
                 where r.rolname = 'authenticated' and u.rolname = 'authenticator') then
    grant authenticated to authenticator;
  end if;
  if not exists (select from pg_catalog.pg_auth_members m
                 join pg_catalog.pg_roles r on r.oid = m.roleid
                 join pg_catalog.pg_roles u on u.oid = m.member
                 where r.rolname = 'service_role' and u.rolname = 'authenticator') then
    grant service_role to authenticator;
  end if;
end
$bootstrap$;


-- -----------------------------------------------------------------------------
-- Schemas
-- `extensions`: supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql
--   create schema if not exists extensions;
--   (Supabase then installs uuid-ossp and pgcrypto into it. Not done here:
--   PGlite only has them when its JS extension modules are passed to the
--   constructor. gen_random_uuid() is core PostgreSQL >= 13, so nothing below
--   needs them.)
-- `auth`: supabase/postgres migrations/db/init-scripts/00000000000001-auth-schema.sql
--   CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION supabase_admin;
-- `realtime`: supabase/postgres migrations/db/init-scripts/00000000000003-realtime-schema.sql
--   CREATE SCHEMA IF NOT EXISTS realtime AUTHORIZATION supabase_admin;
-- Adapted: each only if absent (no "already exists" notices on re-runs);
-- owned by the executing user (no supabase_admin locally).
-- -----------------------------------------------------------------------------
do $bootstrap$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    return;
  end if;

  if to_regnamespace('extensions') is null then
    create schema if not exists extensions;
  end if;
  if to_regnamespace('auth') is null then
    create schema if not exists auth;
  end if;
  if to_regnamespace('realtime') is null then
    create schema if not exists realtime;
  end if;
end
$bootstrap$;


-- -----------------------------------------------------------------------------
-- auth.users
-- Base table: supabase/postgres migrations/db/init-scripts/00000000000001-auth-schema.sql
-- brought to its current shape by supabase/auth migrations/:
--   20210710035447_alter_users.up.sql              (phone*, confirmed_at -> email_confirmed_at)
--   20210722035447_adds_confirmed_at.up.sql        (generated confirmed_at)
--   20210730183235_add_email_change_confirmed.up.sql (email_change_token_current/_new, confirm status)
--   20220114185340_add_banned_until.up.sql
--   20220323170000_add_user_reauthentication.up.sql
--   20221130112646_add_deleted_at.up.sql
--   20221215195500_modify_users_email_unique_index.up.sql (is_sso_user, users_email_partial_key)
--   20230116124310_alter_phone_type.up.sql         (phone, phone_change -> text)
--   20240214120130_add_is_anonymous_column.up.sql  (is_anonymous, users_is_anonymous_idx)
--   20240612123726_enable_rls_update_grants.up.sql (RLS enabled on auth tables)
-- i.e. the table as `pg_dump --schema auth` prints it on a Supabase project.
-- Note: created_at / updated_at have no default upstream (GoTrue sets them).
-- Adapted: created only if absent; owned by the executing user instead of
-- supabase_auth_admin.
-- -----------------------------------------------------------------------------
do $bootstrap$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    return;
  end if;
  if to_regclass('auth.users') is not null then
    return;
  end if;

  create table auth.users (
      instance_id uuid,
      id uuid not null,
      aud character varying(255),
      role character varying(255),
      email character varying(255),
      encrypted_password character varying(255),
      email_confirmed_at timestamp with time zone,
      invited_at timestamp with time zone,
      confirmation_token character varying(255),
      confirmation_sent_at timestamp with time zone,
      recovery_token character varying(255),
      recovery_sent_at timestamp with time zone,
      email_change_token_new character varying(255),
      email_change character varying(255),
      email_change_sent_at timestamp with time zone,
      last_sign_in_at timestamp with time zone,
      raw_app_meta_data jsonb,
      raw_user_meta_data jsonb,
      is_super_admin boolean,
      created_at timestamp with time zone,
      updated_at timestamp with time zone,
      phone text default null::character varying,
      phone_confirmed_at timestamp with time zone,
      phone_change text default ''::character varying,
      phone_change_token character varying(255) default ''::character varying,
      phone_change_sent_at timestamp with time zone,
      confirmed_at timestamp with time zone generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
      email_change_token_current character varying(255) default ''::character varying,
      email_change_confirm_status smallint default 0,
      banned_until timestamp with time zone,
      reauthentication_token character varying(255) default ''::character varying,
      reauthentication_sent_at timestamp with time zone,
      is_sso_user boolean default false not null,
      deleted_at timestamp with time zone,
      is_anonymous boolean default false not null,
      constraint users_email_change_confirm_status_check check (((email_change_confirm_status >= 0) and (email_change_confirm_status <= 2)))
  );

  alter table only auth.users add constraint users_pkey primary key (id);
  alter table only auth.users add constraint users_phone_key unique (phone);

  create unique index confirmation_token_idx on auth.users using btree (confirmation_token) where ((confirmation_token)::text !~ '^[0-9 ]*$'::text);
  create unique index email_change_token_current_idx on auth.users using btree (email_change_token_current) where ((email_change_token_current)::text !~ '^[0-9 ]*$'::text);
  create unique index email_change_token_new_idx on auth.users using btree (email_change_token_new) where ((email_change_token_new)::text !~ '^[0-9 ]*$'::text);
  create unique index reauthentication_token_idx on auth.users using btree (reauthentication_token) where ((reauthentication_token)::text !~ '^[0-9 ]*$'::text);
  create unique index recovery_token_idx on auth.users using btree (recovery_token) where ((recovery_token)::text !~ '^[0-9 ]*$'::text);
  create unique index users_email_partial_key on auth.users using btree (email) where (is_sso_user = false);
  create index users_instance_id_email_idx on auth.users using btree (instance_id, lower((email)::text));
  create index users_instance_id_idx on auth.users using btree (instance_id);
  create index users_is_anonymous_idx on auth.users using btree (is_anonymous);

  comment on table auth.users is 'Auth: Stores user login data within a secure schema.';
  comment on column auth.users.is_sso_user is 'Auth: Set this column to true when the account comes from SSO. These accounts can have duplicate emails.';
  comment on index auth.users_email_partial_key is 'Auth: A partial unique index that applies only when is_sso_user is false';

  alter table auth.users enable row level security;
end
$bootstrap$;


-- -----------------------------------------------------------------------------
-- auth.uid(), auth.role(), auth.email(), auth.jwt()
-- Copied from supabase/auth migrations/20240624145325_recreate_auth_functions.up.sql
-- ({{ index .Options "Namespace" }} = auth).
-- Adapted: each function created only if absent (the upstream text is kept,
-- `create or replace` included, inside the existence check).
-- -----------------------------------------------------------------------------
do $bootstrap$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    return;
  end if;

  -- auth.uid() function
  if to_regprocedure('auth.uid()') is null then
    create or replace function auth.uid()
        returns uuid
        set search_path to ''
    as $func$
      select
        coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
    $func$ language sql stable;
  end if;

  -- auth.role() function
  if to_regprocedure('auth.role()') is null then
    create or replace function auth.role()
        returns text
        set search_path to ''
    as $func$
      select
        coalesce(
          nullif(current_setting('request.jwt.claim.role', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
        )::text
    $func$ language sql stable;
  end if;

  -- auth.email() function
  if to_regprocedure('auth.email()') is null then
    create or replace function auth.email()
        returns text
        set search_path to ''
    as $func$
      select
        coalesce(
          nullif(current_setting('request.jwt.claim.email', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
        )::text
    $func$ language sql stable;
  end if;

  -- auth.jwt() function
  if to_regprocedure('auth.jwt()') is null then
    create or replace function auth.jwt()
        returns jsonb
        set search_path to ''
    as $func$
      select
        coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
    $func$ language sql stable;
  end if;
end
$bootstrap$;


-- -----------------------------------------------------------------------------
-- realtime.messages
-- Copied from supabase/realtime
--   lib/realtime/tenants/repo/migrations/20260420000000_squash_migrations.ex
--   (create_tables, configure_constraints, create_indexes, configure_rls),
-- the current consolidated form of the earlier messages migrations
-- (20240729143722_partition_messages_table, 20241030150047_messages_partitioning,
--  20241108114728_messages_using_uuid, ...).
-- Adapted: created only if absent; owned by the executing user instead of
-- supabase_realtime_admin. No policies: as on a fresh Supabase project, RLS
-- denies anon/authenticated until our migrations add policies.
-- -----------------------------------------------------------------------------
do $bootstrap$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    return;
  end if;
  if to_regclass('realtime.messages') is not null then
    return;
  end if;

  create table if not exists realtime.messages (
      topic text not null,
      extension text not null,
      payload jsonb,
      event text,
      private boolean default false,
      updated_at timestamp without time zone default now() not null,
      inserted_at timestamp without time zone default now() not null,
      id uuid default gen_random_uuid() not null
  )
  partition by range (inserted_at);

  alter table only realtime.messages
      add constraint messages_pkey primary key (id, inserted_at);

  create index if not exists messages_inserted_at_topic_index
      on only realtime.messages using btree (inserted_at desc, topic)
      where ((extension = 'broadcast'::text) and (private is true));

  alter table realtime.messages enable row level security;
end
$bootstrap$;


-- -----------------------------------------------------------------------------
-- realtime.messages_default: DEFAULT partition, so inserts work locally.
-- On Supabase the Realtime server creates daily range partitions
-- realtime.messages_YYYY_MM_DD (yesterday/today/tomorrow) when it connects to
-- the tenant DB (supabase/realtime lib/realtime/tenants/connect/create_partitions.ex)
-- and its janitor drops old ones; no Realtime server runs locally, so without
-- a partition every realtime.send() insert would fail (and only WARN).
-- Same statement as supabase/realtime
--   lib/realtime/tenants/repo/migrations/20260604120000_add_messages_default_partition.ex:
--   CREATE TABLE IF NOT EXISTS realtime.messages_default PARTITION OF realtime.messages DEFAULT
-- Adapted: skipped if the table already has a default partition of any name.
-- -----------------------------------------------------------------------------
do $bootstrap$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    return;
  end if;
  if exists (select from pg_catalog.pg_partitioned_table
             where partrelid = 'realtime.messages'::regclass and partdefid <> 0) then
    return;
  end if;

  create table if not exists realtime.messages_default
  partition of realtime.messages default;
end
$bootstrap$;


-- -----------------------------------------------------------------------------
-- realtime.topic(), realtime.send()
-- Copied from supabase/realtime
--   lib/realtime/tenants/repo/migrations/20260420000000_squash_migrations.ex
--   (create_base_functions: realtime.topic; create_table_dependent_functions:
--   realtime.send, the current form of 20241224161212_realtime_send_sets_config,
--   20250128220012_realtime_send_sets_topic_config,
--   20250714121412_broadcast_send_error_logging,
--   20251103001201_broadcast_send_include_payload_id).
-- realtime.send is SECURITY INVOKER (no SECURITY DEFINER upstream): it inserts
-- with the caller's rights, so RLS on realtime.messages applies, and any error
-- (RLS, missing partition, ...) is swallowed into a WARNING.
-- Adapted: each function created only if absent; owned by the executing user
-- instead of supabase_realtime_admin.
-- -----------------------------------------------------------------------------
do $bootstrap$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    return;
  end if;

  if to_regprocedure('realtime.topic()') is null then
    CREATE OR REPLACE FUNCTION realtime.topic() RETURNS text
        LANGUAGE sql STABLE
        AS $$
    select nullif(current_setting('realtime.topic', true), '')::text;
    $$;
  end if;

  if to_regprocedure('realtime.send(jsonb, text, text, boolean)') is null then
    CREATE OR REPLACE FUNCTION realtime.send(payload jsonb, event text, topic text, private boolean DEFAULT true) RETURNS void
        LANGUAGE plpgsql
        AS $$
    DECLARE
      generated_id uuid;
      final_payload jsonb;
    BEGIN
      BEGIN
        generated_id := gen_random_uuid();
        IF payload ? 'id' THEN
          final_payload := payload;
        ELSE
          final_payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
        END IF;
        EXECUTE format('SET LOCAL realtime.topic TO %L', topic);
        INSERT INTO realtime.messages (id, payload, event, topic, private, extension)
        VALUES (generated_id, final_payload, event, topic, private, 'broadcast');
      EXCEPTION
        WHEN OTHERS THEN
          RAISE WARNING 'ErrorSendingBroadcastMessage: %', SQLERRM;
      END;
    END;
    $$;
  end if;
end
$bootstrap$;


-- -----------------------------------------------------------------------------
-- Grants and default privileges (re-applied on every run; no-ops when held).
-- public / extensions: supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql
--   grant usage on schema public to postgres, anon, authenticated, service_role;
--   alter default privileges in schema public grant all on tables    to postgres, anon, authenticated, service_role;
--   alter default privileges in schema public grant all on functions to postgres, anon, authenticated, service_role;
--   alter default privileges in schema public grant all on sequences to postgres, anon, authenticated, service_role;
--   grant usage on schema extensions to postgres, anon, authenticated, service_role;
--   (the `for user supabase_admin` variants are omitted: no supabase_admin here.
--   The plain form applies to objects created by the user running this file,
--   i.e. `postgres`, as for `postgres` on a Supabase project.)
-- auth: supabase/postgres migrations/db/init-scripts/00000000000001-auth-schema.sql
--   GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
--   and migrations/db/migrations/20211115181400_update-auth-permissions.sql
--   GRANT USAGE ON SCHEMA auth TO postgres;
--   (no table privileges on auth.users for the API roles, as upstream; the
--   auth.* functions keep PostgreSQL's default EXECUTE to PUBLIC, as upstream.)
-- realtime: supabase/realtime lib/realtime/tenants/repo/migrations/20260420000000_squash_migrations.ex
--   (configure_grants), for the objects created above:
--   GRANT USAGE ON SCHEMA realtime TO postgres, anon, authenticated, service_role
--   GRANT SELECT, INSERT, UPDATE ON realtime.messages TO postgres, anon, authenticated, service_role
--   GRANT DELETE, TRUNCATE, REFERENCES, TRIGGER ON realtime.messages TO postgres
--   (realtime.topic()/send() keep the default EXECUTE to PUBLIC, as upstream.)
-- -----------------------------------------------------------------------------
do $bootstrap$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    return;
  end if;

  grant usage on schema public to postgres, anon, authenticated, service_role;
  alter default privileges in schema public grant all on tables to postgres, anon, authenticated, service_role;
  alter default privileges in schema public grant all on functions to postgres, anon, authenticated, service_role;
  alter default privileges in schema public grant all on sequences to postgres, anon, authenticated, service_role;

  grant usage on schema extensions to postgres, anon, authenticated, service_role;

  grant usage on schema auth to anon, authenticated, service_role;
  grant usage on schema auth to postgres;

  grant usage on schema realtime to postgres, anon, authenticated, service_role;
  grant select, insert, update on realtime.messages to postgres, anon, authenticated, service_role;
  grant delete, truncate, references, trigger on realtime.messages to postgres;
end
$bootstrap$;


-- -----------------------------------------------------------------------------
-- Local delivery of broadcasts (not from Supabase: its Realtime server reads
-- realtime.messages through logical replication). The dev server's local
-- Realtime (lib/dev/realtime/) LISTENs on `realtime_local_messages`; this
-- trigger NOTIFYs the id of every broadcast row. PostgreSQL delivers
-- notifications only after commit, in commit order and, within a
-- transaction, in the order they were raised; a rolled-back transaction's
-- never arrive. That is the whole delivery guarantee the local server needs.
-- -----------------------------------------------------------------------------
do $bootstrap$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    return;
  end if;

  if to_regprocedure('realtime.local_notify_message()') is null then
    create function realtime.local_notify_message() returns trigger
        language plpgsql
        as $func$
    begin
      if new.extension = 'broadcast' then
        perform pg_notify('realtime_local_messages', new.id::text);
      end if;
      return null;
    end;
    $func$;
  end if;

  if not exists (select from pg_catalog.pg_trigger
                 where tgname = 'local_notify_message' and tgrelid = 'realtime.messages'::regclass) then
    create trigger local_notify_message after insert on realtime.messages
      for each row execute function realtime.local_notify_message();
  end if;
end
$bootstrap$;
