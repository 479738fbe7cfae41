-- Analytics, part one: message counts in 15-minute buckets (GET /api/analytics/*). Every IANA zone's
-- offset is a whole number of quarter hours (+05:30, +05:45, -03:30), so any zone's days and hours are
-- exact unions of these buckets, and a 90-day report reads a few thousand rows instead of every message.
--
-- A message counts once it is more than a draft (inbound on arrival; outbound when queued, sent, or a
-- call), in the bucket of its occurred_at, under the dimensions it had when it was counted: channel,
-- direction, mailbox (channel_id), and its thread's team and customer at that moment (a later
-- reassignment does not move past counts), and the member who wrote it (author_id). Kept by
-- statement-level triggers with transition tables in the writing transaction (a bulk insert touches
-- each row once, in key order, so two writers never take two rows in opposite orders).
--
-- Contention: writers in the same bucket with the same dimensions would queue on one counter row until
-- commit. Each row also carries a slot (the backend's pid modulo 8), so concurrent transactions, which
-- run on different backends, mostly write different rows; readers sum over slots.
create table app.message_rollups (
  org_id uuid not null references app.organizations (id) on delete cascade,
  bucket timestamptz not null,
  channel text not null,
  direction text not null,
  channel_id uuid,
  team_id uuid,
  customer_id uuid,
  author_id uuid,
  slot smallint not null default 0,
  messages integer not null default 0,
  constraint message_rollups_key unique nulls not distinct (org_id, bucket, channel, direction, channel_id, team_id, customer_id, author_id, slot)
);

alter table app.message_rollups enable row level security;
create policy message_rollups_read on app.message_rollups for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
-- Written only by the triggers below (as the owner).
grant select on app.message_rollups to authenticated;
grant all on app.message_rollups to service_role;

-- The 15-minute bucket an instant falls in.
create or replace function app.quarter_hour(at timestamptz) returns timestamptz
language sql immutable parallel safe set search_path = '' as $$
  select pg_catalog.date_bin('15 minutes'::interval, at, '2000-01-01 00:00:00+00'::timestamptz)
$$;

-- New messages add to their buckets, grouped so each counter row is written once, in key order.
create or replace function app.message_rollups_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into app.message_rollups as r (org_id, bucket, channel, direction, channel_id, team_id, customer_id, author_id, slot, messages)
    select n.org_id, app.quarter_hour(n.occurred_at), n.channel, n.direction, n.channel_id, t.team_id, t.customer_id, n.author_id,
      (pg_catalog.pg_backend_pid() % 8)::smallint, count(*)
    from new_messages n left join app.threads t on t.org_id = n.org_id and t.id = n.thread_id
    where n.status <> 'draft'
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9
  on conflict on constraint message_rollups_key do update set messages = r.messages + excluded.messages;
  return null;
end $$;

-- A draft that is sent starts to count. The counts are the traffic as it happened: deleting a thread
-- later, or moving a message to another thread, leaves them as they were.
create or replace function app.message_rollups_update() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into app.message_rollups as r (org_id, bucket, channel, direction, channel_id, team_id, customer_id, author_id, slot, messages)
    select n.org_id, app.quarter_hour(n.occurred_at), n.channel, n.direction, n.channel_id, t.team_id, t.customer_id, n.author_id,
      (pg_catalog.pg_backend_pid() % 8)::smallint, count(*)
    from new_messages n join old_messages o on o.id = n.id
    left join app.threads t on t.org_id = n.org_id and t.id = n.thread_id
    where o.status = 'draft' and n.status <> 'draft'
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9
  on conflict on constraint message_rollups_key do update set messages = r.messages + excluded.messages;
  return null;
end $$;

create trigger message_rollups_insert after insert on app.messages
  referencing new table as new_messages for each statement execute function app.message_rollups_insert();
create trigger message_rollups_update after update on app.messages
  referencing old table as old_messages new table as new_messages for each statement execute function app.message_rollups_update();

-- What was there before the triggers.
insert into app.message_rollups (org_id, bucket, channel, direction, channel_id, team_id, customer_id, author_id, slot, messages)
select m.org_id, app.quarter_hour(m.occurred_at), m.channel, m.direction, m.channel_id, t.team_id, t.customer_id, m.author_id, 0, count(*)
from app.messages m left join app.threads t on t.org_id = m.org_id and t.id = m.thread_id
where m.status <> 'draft'
group by 1, 2, 3, 4, 5, 6, 7, 8;
