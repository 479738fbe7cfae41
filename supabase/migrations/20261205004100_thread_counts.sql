-- The inbox sidebar's counts (GET /api/threads/counts) as counters kept by triggers. Counting them
-- from the threads is work that grows with the inbox: 30,000 open threads of 100,000 are 30,000 index
-- entries to count, and a member's unread ones a probe into thread_reads for each; the counters are a
-- few dozen rows per organization, read in well under a millisecond.
--
-- thread_counts: threads per (status, assignee, team) bucket, and how many of them have a message
-- (the unread arithmetic below). Kept by statement-level triggers with transition tables, so a bulk
-- insert or update touches each bucket once, in key order (two writers never take two buckets in
-- opposite orders). A thread in a bucket of a busy organization holds that bucket's row until its
-- transaction commits: writes that move threads in or out of the same bucket queue behind each other
-- for that long, which short transactions keep brief.
create table app.thread_counts (
  org_id uuid not null references app.organizations (id) on delete cascade,
  status text not null,
  assignee_id uuid,
  team_id uuid,
  threads integer not null default 0,
  with_messages integer not null default 0,
  constraint thread_counts_key unique nulls not distinct (org_id, status, assignee_id, team_id)
);

-- thread_read_counts: per member, the open threads with a message that they have read up to date
-- ("caught up"). A member's unread open threads are then the open threads with a message less these,
-- which is what GET /api/threads?status=open&unread=true lists.
create table app.thread_read_counts (
  org_id uuid not null references app.organizations (id) on delete cascade,
  user_id uuid not null,
  caught_up integer not null default 0,
  primary key (org_id, user_id)
);

alter table app.thread_counts enable row level security;
create policy thread_counts_read on app.thread_counts for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
alter table app.thread_read_counts enable row level security;
create policy thread_read_counts_own on app.thread_read_counts for select to authenticated
  using (org_id = (select app.acting_org()) and user_id = (select auth.uid()) and (select app.acting_ok()));
-- Written only by the triggers below (as the owner).
grant select on app.thread_counts, app.thread_read_counts to authenticated;
grant all on app.thread_counts, app.thread_read_counts to service_role;

create or replace function app.thread_counts_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into app.thread_counts as c (org_id, status, assignee_id, team_id, threads, with_messages)
    select n.org_id, n.status, n.assignee_id, n.team_id, count(*), count(n.last_message_at)
    from new_threads n group by 1, 2, 3, 4 order by 1, 2, 3, 4
  on conflict on constraint thread_counts_key do update
    set threads = c.threads + excluded.threads, with_messages = c.with_messages + excluded.with_messages;
  return null;
end $$;

create or replace function app.thread_counts_update() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  -- Each thread that changed bucket (or got its first message) leaves the old one, joins the new one.
  insert into app.thread_counts as c (org_id, status, assignee_id, team_id, threads, with_messages)
    select d.org_id, d.status, d.assignee_id, d.team_id, sum(d.threads), sum(d.with_messages)
    from (
      select o.org_id, o.status, o.assignee_id, o.team_id, -1 as threads, -(o.last_message_at is not null)::int as with_messages
        from old_threads o join new_threads n on n.id = o.id
        where (o.status, o.assignee_id, o.team_id, o.last_message_at is null) is distinct from (n.status, n.assignee_id, n.team_id, n.last_message_at is null)
      union all
      select n.org_id, n.status, n.assignee_id, n.team_id, 1, (n.last_message_at is not null)::int
        from old_threads o join new_threads n on n.id = o.id
        where (o.status, o.assignee_id, o.team_id, o.last_message_at is null) is distinct from (n.status, n.assignee_id, n.team_id, n.last_message_at is null)
    ) d
    group by 1, 2, 3, 4
    having sum(d.threads) <> 0 or sum(d.with_messages) <> 0
    order by 1, 2, 3, 4
  on conflict on constraint thread_counts_key do update
    set threads = c.threads + excluded.threads, with_messages = c.with_messages + excluded.with_messages;

  -- A new message, or a thread leaving or entering `open`, changes who is caught up on it. The read
  -- state is read after the thread's row lock (a concurrent read marker waits for it: see
  -- thread_read_counts_sync), so the two triggers' deltas add up whichever commits first.
  insert into app.thread_read_counts as c (org_id, user_id, caught_up)
    select d.org_id, d.user_id, d.delta
    from (
      select r.org_id, r.user_id,
        sum(((n.status = 'open' and r.last_read_at >= n.last_message_at) is true)::int
          - ((o.status = 'open' and r.last_read_at >= o.last_message_at) is true)::int) as delta
      from old_threads o join new_threads n on n.id = o.id
      join app.thread_reads r on r.thread_id = n.id
      where o.status is distinct from n.status or o.last_message_at is distinct from n.last_message_at
      group by 1, 2
    ) d
    where d.delta <> 0
    order by 1, 2
  on conflict (org_id, user_id) do update set caught_up = c.caught_up + excluded.caught_up;
  return null;
end $$;

-- Deletes only subtract from rows that exist: when an organization is deleted its counters may
-- already be gone, and nothing may be inserted for it.
create or replace function app.thread_counts_delete() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  update app.thread_counts c set threads = c.threads - d.threads, with_messages = c.with_messages - d.with_messages
  from (
    select o.org_id, o.status, o.assignee_id, o.team_id, count(*)::int as threads, count(o.last_message_at)::int as with_messages
    from old_threads o group by 1, 2, 3, 4
  ) d
  where c.org_id = d.org_id and c.status = d.status
    and c.assignee_id is not distinct from d.assignee_id and c.team_id is not distinct from d.team_id;
  return null;
end $$;

-- Before the delete, while its read markers still exist (the cascade removes them after): whoever
-- was caught up on it is no longer.
create or replace function app.thread_read_counts_thread_gone() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if old.status = 'open' and old.last_message_at is not null then
    update app.thread_read_counts c set caught_up = c.caught_up - 1
    from app.thread_reads r
    where r.thread_id = old.id and r.last_read_at >= old.last_message_at and c.org_id = r.org_id and c.user_id = r.user_id;
  end if;
  return old;
end $$;

-- A member reads (or marks unread) a thread. The thread's row is locked for share first: a concurrent
-- update of the thread (a new message) then either committed before (this sees it) or waits for this
-- transaction (its trigger then sees this read marker).
create or replace function app.thread_read_counts_sync() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  t record;
  was int := 0;
  now_is int := 0;
  r record;
begin
  r := coalesce(new, old);
  select th.status, th.last_message_at into t from app.threads th where th.id = r.thread_id for share;
  if not found then
    return null;
  end if;
  if tg_op <> 'INSERT' then
    was := ((t.status = 'open' and old.last_read_at >= t.last_message_at) is true)::int;
  end if;
  if tg_op <> 'DELETE' then
    now_is := ((t.status = 'open' and new.last_read_at >= t.last_message_at) is true)::int;
  end if;
  if now_is <> was then
    insert into app.thread_read_counts as c (org_id, user_id, caught_up) values (r.org_id, r.user_id, now_is - was)
    on conflict (org_id, user_id) do update set caught_up = c.caught_up + excluded.caught_up;
  end if;
  return null;
end $$;

revoke all on function app.thread_counts_insert(), app.thread_counts_update(), app.thread_counts_delete(),
  app.thread_read_counts_thread_gone(), app.thread_read_counts_sync() from public;

create trigger threads_counts_insert after insert on app.threads
  referencing new table as new_threads for each statement execute function app.thread_counts_insert();
create trigger threads_counts_update after update on app.threads
  referencing old table as old_threads new table as new_threads for each statement execute function app.thread_counts_update();
create trigger threads_counts_delete after delete on app.threads
  referencing old table as old_threads for each statement execute function app.thread_counts_delete();
create trigger threads_read_counts_gone before delete on app.threads
  for each row execute function app.thread_read_counts_thread_gone();
create trigger thread_reads_counts after insert or update or delete on app.thread_reads
  for each row execute function app.thread_read_counts_sync();

-- The counters of the threads as they are (the triggers above hold the tables' locks from here to
-- this migration's commit, so no write falls between).
insert into app.thread_counts (org_id, status, assignee_id, team_id, threads, with_messages)
  select org_id, status, assignee_id, team_id, count(*), count(last_message_at)
  from app.threads group by 1, 2, 3, 4;
insert into app.thread_read_counts (org_id, user_id, caught_up)
  select r.org_id, r.user_id, count(*)
  from app.thread_reads r join app.threads t on t.id = r.thread_id
  where t.status = 'open' and r.last_read_at >= t.last_message_at
  group by 1, 2;

-- SLA clocks of open threads, for the sidebar's at-risk and breached counts: the earliest due time of
-- those not (yet) breached, and those marked breached. Both partial, so they hold only what an SLA
-- engine has set. least() compares with timestamptz_cmp, which is leakproof: usable under RLS.
create index threads_open_sla_due_idx on app.threads (org_id, (least(first_response_due_at, next_response_due_at, resolution_due_at)))
  where status = 'open' and sla_breached_at is null and least(first_response_due_at, next_response_due_at, resolution_due_at) is not null;
create index threads_open_sla_breached_idx on app.threads (org_id) where status = 'open' and sla_breached_at is not null;
