-- Correcting the threading: a thread merged into another stays as a closed row that points to where
-- its messages went (`merged_into_thread_id`), so an old link, notification or subject token still
-- leads somewhere. Nothing new lands on such a thread: messages, notes and actions go to the thread it
-- was merged into, and the thread itself is no longer edited (both refused here, whatever the path).
alter table app.threads
  add column merged_into_thread_id uuid,
  add foreign key (org_id, merged_into_thread_id) references app.threads (org_id, id),
  add constraint threads_merged_closed check (merged_into_thread_id is null or (status = 'closed' and merged_into_thread_id <> id));
-- Chains are kept one step long: a merge repoints the threads merged into the one it retires.
create index threads_merged_into_idx on app.threads (org_id, merged_into_thread_id) where merged_into_thread_id is not null;

-- A merged thread takes no new message, note or action (BX409: the API answers 409 with the message).
-- The key-share lock is the one the foreign key takes anyway, taken first: a write racing a merge waits
-- for it and then reads the thread as the merge left it, so nothing lands on a thread just merged.
create or replace function app.refuse_merged_thread() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  target uuid;
begin
  if new.thread_id is null then
    return new;
  end if;
  select t.merged_into_thread_id into target from app.threads t where t.id = new.thread_id for key share;
  if target is not null then
    raise exception 'thread % was merged into thread %', new.thread_id, target using errcode = 'BX409';
  end if;
  return new;
end $$;
revoke all on function app.refuse_merged_thread() from public;

create trigger messages_refuse_merged_thread before insert or update of thread_id on app.messages
  for each row execute function app.refuse_merged_thread();
create trigger notes_refuse_merged_thread before insert or update of thread_id on app.notes
  for each row execute function app.refuse_merged_thread();
create trigger actions_refuse_merged_thread before insert or update of thread_id on app.actions
  for each row execute function app.refuse_merged_thread();

-- Nor is a merged thread edited (reopened, renamed, retagged ...). Assignee and team are left out:
-- removing a member or a team sets them to null on every thread, merged ones included.
create or replace function app.refuse_merged_thread_edit() returns trigger
language plpgsql set search_path = '' as $$
begin
  raise exception 'thread % was merged into thread %', old.id, old.merged_into_thread_id using errcode = 'BX409';
end $$;

create trigger threads_refuse_merged_edit
  before update of status, subject, priority, tags, snoozed_until, customer_id, contact_id on app.threads
  for each row when (old.merged_into_thread_id is not null) execute function app.refuse_merged_thread_edit();

-- Read state follows the messages when they move: a member finds the destination read when they had
-- read it to its last message (`to_last`) and had read the messages coming in to the last of them
-- (`incoming_last`); otherwise unread (no row, as DELETE /api/threads/{id}/read leaves it). Members
-- only write their own read rows, so this runs with the owner's rights, for the server only, after
-- the checks the policies make. Returns the members whose state on the destination it decided.
create or replace function app.carry_thread_reads(from_thread uuid, to_thread uuid, to_last timestamptz, incoming_last timestamptz)
returns table (reader uuid, unread boolean)
language plpgsql security definer set search_path = '' as $$
declare
  org uuid := app.acting_org();
begin
  if not app.is_server() then
    raise exception 'only the Banxway server may call %', 'app.carry_thread_reads' using errcode = '42501';
  end if;
  if not app.acting_can_write() then
    raise exception 'not permitted' using errcode = '42501';
  end if;
  if (select count(*) from app.threads t where t.org_id = org and t.id in (from_thread, to_thread)) <> 2 then
    raise exception 'both threads must belong to the acting organization' using errcode = '42501';
  end if;
  return query
    with src as (select r.user_id, r.last_read_at from app.thread_reads r where r.thread_id = from_thread),
    dst as (select r.user_id, r.last_read_at from app.thread_reads r where r.thread_id = to_thread),
    verdict as (
      select u.user_id,
        coalesce(to_last is null or d.last_read_at >= to_last, false)
          and coalesce(incoming_last is null or s.last_read_at >= incoming_last, false) as read,
        greatest(s.last_read_at, d.last_read_at) as at
      from (select x.user_id from src x union select y.user_id from dst y) u
      left join src s on s.user_id = u.user_id
      left join dst d on d.user_id = u.user_id
    ),
    kept as (
      insert into app.thread_reads as r (org_id, thread_id, user_id, last_read_at)
      select org, to_thread, v.user_id, v.at from verdict v where v.read
      on conflict (thread_id, user_id) do update set last_read_at = excluded.last_read_at
      returning r.user_id
    ),
    dropped as (
      delete from app.thread_reads r where r.thread_id = to_thread and r.user_id in (select v.user_id from verdict v where not v.read)
      returning r.user_id
    )
    select v.user_id, not v.read from verdict v;
end $$;
revoke all on function app.carry_thread_reads(uuid, uuid, timestamptz, timestamptz) from public;
grant execute on function app.carry_thread_reads(uuid, uuid, timestamptz, timestamptz) to authenticated, service_role;
