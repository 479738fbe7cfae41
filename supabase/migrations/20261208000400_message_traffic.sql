-- Analytics: message counts without the author, for the reports that never ask who wrote a message
-- (volume, overview, customers: GET /api/analytics/*), and each author's outbound messages alone, for
-- the agents report without filters. app.message_rollups keys each outbound count by its author too,
-- so a bucket of a customer's replies is one row per member who wrote them: once the bench data set's
-- replies had their authors, as real replies do, a 90-day report read two to three times the day rows
-- (87,798 outbound day rows where the same counts without the author are 29,175), and volume cost 114
-- ms of database time instead of 71.
--
-- app.message_traffic holds the same counts without the author, and app.message_author_totals each
-- author's outbound messages without the other dimensions, at the three levels (quarter hours, hours,
-- UTC days). Both follow the quarter-hour rows of app.message_rollups, whatever wrote them, in the
-- statement that writes their hours and days (no trigger more on a message's write): what counts is
-- still decided in one place, where the quarter hours are written.
create table app.message_traffic (
  org_id uuid not null references app.organizations (id) on delete cascade,
  level smallint not null check (level between 0 and 2),
  bucket timestamptz not null,
  channel text not null,
  direction text not null,
  channel_id uuid,
  team_id uuid,
  customer_id uuid,
  slot smallint not null default 0,
  messages integer not null default 0,
  constraint message_traffic_key unique nulls not distinct (org_id, level, bucket, channel, direction, channel_id, team_id, customer_id, slot)
);

create table app.message_author_totals (
  org_id uuid not null references app.organizations (id) on delete cascade,
  level smallint not null check (level between 0 and 2),
  bucket timestamptz not null,
  author_id uuid not null,
  slot smallint not null default 0,
  messages integer not null default 0,
  constraint message_author_totals_key unique (org_id, level, bucket, author_id, slot)
);

alter table app.message_traffic enable row level security;
create policy message_traffic_read on app.message_traffic for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
alter table app.message_author_totals enable row level security;
create policy message_author_totals_read on app.message_author_totals for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
-- Written only by the triggers below (as the owner).
grant select on app.message_traffic, app.message_author_totals to authenticated;
grant all on app.message_traffic, app.message_author_totals to service_role;

-- The statement triggers that keep the hours and days of app.message_rollups from its quarter hours
-- (migration 20261207010000) now also keep the traffic and the authors' totals, at all three levels,
-- from the same rows: inserted quarter hours add, updated ones add the difference (old rows negated).
-- Each counter row is written once per statement, in key order. Both functions are made from one body
-- here, each with its rows (an insert trigger has no old rows): static statements, whose plans each
-- session keeps.
do $do$
declare
  body constant text := $body$
begin
  -- The hours' and days' own writes come back here without quarter-hour rows: they stop.
  if not exists (select 1 from new_rows n where n.level = 0) then
    return null;
  end if;
  with d as (
    select n.org_id, n.bucket, n.channel, n.direction, n.channel_id, n.team_id, n.customer_id, n.author_id, n.slot, n.messages from new_rows n where n.level = 0
    %s
  ), traffic as (
    insert into app.message_traffic as t (org_id, level, bucket, channel, direction, channel_id, team_id, customer_id, slot, messages)
      select d.org_id, l.level, app.rollup_bucket(d.bucket, l.level), d.channel, d.direction, d.channel_id, d.team_id, d.customer_id, d.slot, sum(d.messages)
      from d cross join (values (0::smallint), (1::smallint), (2::smallint)) as l (level)
      group by 1, 2, 3, 4, 5, 6, 7, 8, 9
      having sum(d.messages) <> 0
      order by 1, 2, 3, 4, 5, 6, 7, 8, 9
    on conflict on constraint message_traffic_key do update set messages = t.messages + excluded.messages
  ), authors as (
    insert into app.message_author_totals as a (org_id, level, bucket, author_id, slot, messages)
      select d.org_id, l.level, app.rollup_bucket(d.bucket, l.level), d.author_id, d.slot, sum(d.messages)
      from d cross join (values (0::smallint), (1::smallint), (2::smallint)) as l (level)
      where d.direction = 'outbound' and d.author_id is not null
      group by 1, 2, 3, 4, 5
      having sum(d.messages) <> 0
      order by 1, 2, 3, 4, 5
    on conflict on constraint message_author_totals_key do update set messages = a.messages + excluded.messages
  )
  insert into app.message_rollups as r (org_id, level, bucket, channel, direction, channel_id, team_id, customer_id, author_id, slot, messages)
    select d.org_id, l.level, app.rollup_bucket(d.bucket, l.level), d.channel, d.direction, d.channel_id, d.team_id, d.customer_id, d.author_id, d.slot, sum(d.messages)
    from d cross join (values (1::smallint), (2::smallint)) as l (level)
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    having sum(d.messages) <> 0
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
  on conflict on constraint message_rollups_key do update set messages = r.messages + excluded.messages;
  return null;
end
$body$;
  old_rows constant text :=
    'union all select o.org_id, o.bucket, o.channel, o.direction, o.channel_id, o.team_id, o.customer_id, o.author_id, o.slot, -o.messages from old_rows o where o.level = 0';
begin
  execute format('create or replace function app.message_rollups_levels_insert() returns trigger
    language plpgsql security definer set search_path = %L as %L', '', format(body, ''));
  execute format('create or replace function app.message_rollups_levels_update() returns trigger
    language plpgsql security definer set search_path = %L as %L', '', format(body, old_rows));
end
$do$;

-- What was counted before, in key order: a report reads a range of buckets, which then lie on few pages
-- (as they do when written live, the newest buckets last).
insert into app.message_traffic (org_id, level, bucket, channel, direction, channel_id, team_id, customer_id, slot, messages)
select r.org_id, l.level, app.rollup_bucket(r.bucket, l.level), r.channel, r.direction, r.channel_id, r.team_id, r.customer_id, 0, sum(r.messages)
from app.message_rollups r
cross join (values (0::smallint), (1::smallint), (2::smallint)) as l (level)
where r.level = 0
group by 1, 2, 3, 4, 5, 6, 7, 8
having sum(r.messages) <> 0
order by 1, 2, 3;

insert into app.message_author_totals (org_id, level, bucket, author_id, slot, messages)
select r.org_id, l.level, app.rollup_bucket(r.bucket, l.level), r.author_id, 0, sum(r.messages)
from app.message_rollups r
cross join (values (0::smallint), (1::smallint), (2::smallint)) as l (level)
where r.level = 0 and r.direction = 'outbound' and r.author_id is not null
group by 1, 2, 3, 4
having sum(r.messages) <> 0
order by 1, 2, 3;
