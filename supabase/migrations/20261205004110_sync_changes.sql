-- Catching up after a reconnect (`updatedSince` on the lists of threads, messages, notes and
-- actions: lib/sync.ts). Realtime broadcasts are not replayed, so a client that was offline asks
-- what changed since it last synchronised, deletions included.
--
-- Change stamps. `updated_at` (a trigger sets it to now(): the writing transaction's start) says when
-- a change was made, not when it became visible: a transaction that started before a reader's
-- snapshot and commits after it writes rows older than what that reader already saw. So each
-- synchronised row also records the id of the transaction that last wrote it (`change_xid`, a
-- 64-bit xid8 that never wraps), and a sync ends with the oldest transaction still running at its
-- start (pg_snapshot_xmin): every transaction below it had finished, so the next sync, asking for
-- change_xid at or above it, misses nothing that committed late. Rows written before this migration
-- keep a null stamp: they committed before any sync could start.
alter table app.threads add column change_xid xid8;
alter table app.messages add column change_xid xid8;
alter table app.notes add column change_xid xid8;
alter table app.actions add column change_xid xid8;
alter table app.thread_reads add column change_xid xid8;
-- Set apart from the add: a volatile default given with the column would rewrite every row.
alter table app.threads alter column change_xid set default pg_catalog.pg_current_xact_id();
alter table app.messages alter column change_xid set default pg_catalog.pg_current_xact_id();
alter table app.notes alter column change_xid set default pg_catalog.pg_current_xact_id();
alter table app.actions alter column change_xid set default pg_catalog.pg_current_xact_id();
alter table app.thread_reads alter column change_xid set default pg_catalog.pg_current_xact_id();

create or replace function app.change_xid_stamp() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.change_xid := pg_catalog.pg_current_xact_id();
  return new;
end $$;

create trigger threads_change_xid before update on app.threads for each row execute function app.change_xid_stamp();
create trigger messages_change_xid before update on app.messages for each row execute function app.change_xid_stamp();
create trigger notes_change_xid before update on app.notes for each row execute function app.change_xid_stamp();
create trigger actions_change_xid before update on app.actions for each row execute function app.change_xid_stamp();
create trigger thread_reads_change_xid before update on app.thread_reads for each row execute function app.change_xid_stamp();

-- Tombstones: what left a list, filled by triggers whatever deletes it (a route, a cascade, a script).
-- Threads and actions are listed per organization (scope_id = org_id), messages and notes per thread
-- (scope_id = the thread), a member's read state per member (entity `read`, id = the thread,
-- scope_id = the member: marking a thread unread deletes the marker). Notes are soft-deleted, so a
-- deleted note is its own tombstone; its hard deletion (a cascade) and a message or note moved to
-- another thread leave one here.
create table app.sync_tombstones (
  org_id uuid not null references app.organizations (id) on delete cascade,
  entity text not null check (entity in ('thread', 'message', 'note', 'action', 'read')),
  id uuid not null,
  scope_id uuid not null,
  deleted_at timestamptz not null default now(),
  change_xid xid8 not null default pg_catalog.pg_current_xact_id(),
  primary key (entity, scope_id, id)
);
create index sync_tombstones_xid_idx on app.sync_tombstones (org_id, entity, scope_id, change_xid, id);
create index sync_tombstones_time_idx on app.sync_tombstones (org_id, entity, scope_id, deleted_at, id);

alter table app.sync_tombstones enable row level security;
create policy sync_tombstones_read on app.sync_tombstones for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
-- Written only by the triggers below (as the owner).
grant select on app.sync_tombstones to authenticated;
grant all on app.sync_tombstones to service_role;

-- Rows listed per organization: a tombstone unless the organization itself is being deleted.
create or replace function app.sync_tombstone_in_org() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if exists (select 1 from app.organizations o where o.id = old.org_id) then
    insert into app.sync_tombstones (org_id, entity, id, scope_id) values (old.org_id, tg_argv[0], old.id, old.org_id)
    on conflict (entity, scope_id, id) do update set deleted_at = excluded.deleted_at, change_xid = excluded.change_xid;
  end if;
  return null;
end $$;

-- Rows listed per thread: a tombstone in the thread they leave (deleted, or moved to another thread:
-- then any tombstone in the thread they join goes), unless that thread itself is being deleted (its
-- own tombstone says so, and its lists answer 404).
create or replace function app.sync_tombstone_in_thread() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'UPDATE' then
    if new.thread_id is not distinct from old.thread_id then
      return null;
    end if;
    delete from app.sync_tombstones d where d.entity = tg_argv[0] and d.scope_id = new.thread_id and d.id = new.id;
  end if;
  if exists (select 1 from app.threads t where t.id = old.thread_id) then
    insert into app.sync_tombstones (org_id, entity, id, scope_id) values (old.org_id, tg_argv[0], old.id, old.thread_id)
    on conflict (entity, scope_id, id) do update set deleted_at = excluded.deleted_at, change_xid = excluded.change_xid;
  end if;
  return null;
end $$;

-- A member's read marker removed (marked unread): the thread changed for that member.
create or replace function app.sync_tombstone_read() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if exists (select 1 from app.threads t where t.id = old.thread_id) then
    insert into app.sync_tombstones (org_id, entity, id, scope_id) values (old.org_id, 'read', old.thread_id, old.user_id)
    on conflict (entity, scope_id, id) do update set deleted_at = excluded.deleted_at, change_xid = excluded.change_xid;
  end if;
  return null;
end $$;

revoke all on function app.sync_tombstone_in_org(), app.sync_tombstone_in_thread(), app.sync_tombstone_read() from public;

create trigger threads_sync_tombstone after delete on app.threads
  for each row execute function app.sync_tombstone_in_org('thread');
create trigger actions_sync_tombstone after delete on app.actions
  for each row execute function app.sync_tombstone_in_org('action');
create trigger messages_sync_tombstone after delete or update of thread_id on app.messages
  for each row execute function app.sync_tombstone_in_thread('message');
create trigger notes_sync_tombstone after delete or update of thread_id on app.notes
  for each row execute function app.sync_tombstone_in_thread('note');
create trigger thread_reads_sync_tombstone after delete on app.thread_reads
  for each row execute function app.sync_tombstone_read();

-- The organization-wide lists page through their changes in order, from an instant or from a stamp.
-- Messages and notes are synchronised per thread and read among the thread's own rows.
create index threads_sync_time_idx on app.threads (org_id, updated_at, id);
create index threads_sync_xid_idx on app.threads (org_id, change_xid, id);
create index actions_sync_time_idx on app.actions (org_id, updated_at, id);
create index actions_sync_xid_idx on app.actions (org_id, change_xid, id);
create index thread_reads_sync_time_idx on app.thread_reads (org_id, user_id, last_read_at, thread_id);
create index thread_reads_sync_xid_idx on app.thread_reads (org_id, user_id, change_xid, thread_id);
