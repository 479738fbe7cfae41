-- Analytics, part five: coarser levels of the rollups. A 90-day report read every 15-minute row of its
-- range (360,679 rows of app.message_rollups for 617,592 messages on the bench data set: each bucket
-- holds a few messages of distinct dimensions). Each rollup table now also keeps hours (level 1) and
-- UTC days (level 2) beside the quarter hours (level 0), with the same dimensions and slots. A report
-- decomposes each of its periods (or its whole range, for totals) into the coarsest aligned runs of
-- buckets (rollupBuckets in lib/analytics/query.ts): quarter hours up to the first whole hour, hours up
-- to the first whole UTC day, days, then back down. So any zone (+05:30, +05:45, a 25-hour day) stays
-- exact, and a 90-day total reads about one row per day and dimension combination.
--
-- One rule in one place: what counts is decided only where the quarter-hour rows are written (the
-- triggers on app.messages and app.message_shipments). The coarser rows follow the quarter-hour rows,
-- whatever wrote them, by statement-level triggers on the rollup tables themselves, in the same
-- transaction: inserted quarter-hour rows add to their hour and day, updated ones add the difference.
-- Those writes are grouped, one per counter row, in key order, like the quarter-hour ones.
create or replace function app.rollup_bucket(quarter timestamptz, level smallint) returns timestamptz
language sql immutable parallel safe set search_path = '' as $$
  select case level
    when 0 then quarter
    when 1 then pg_catalog.date_bin('1 hour'::interval, quarter, '2000-01-01 00:00:00+00'::timestamptz)
    else pg_catalog.date_bin('1 day'::interval, quarter, '2000-01-01 00:00:00+00'::timestamptz) end
$$;

-- app.message_rollups: the level in its key; hours and days follow the quarter hours.
alter table app.message_rollups add column level smallint not null default 0 check (level between 0 and 2);
alter table app.message_rollups drop constraint message_rollups_key;
alter table app.message_rollups add constraint message_rollups_key unique nulls not distinct (org_id, level, bucket, channel, direction, channel_id, team_id, customer_id, author_id, slot);

create or replace function app.message_rollups_levels_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  -- The hours' and days' own writes come back here without quarter-hour rows: they stop.
  if not exists (select 1 from new_rows n where n.level = 0) then
    return null;
  end if;
  insert into app.message_rollups as r (org_id, level, bucket, channel, direction, channel_id, team_id, customer_id, author_id, slot, messages)
    select d.org_id, l.level, app.rollup_bucket(d.bucket, l.level), d.channel, d.direction, d.channel_id, d.team_id, d.customer_id, d.author_id, d.slot, sum(d.messages)
    from (
      select n.org_id, n.bucket, n.channel, n.direction, n.channel_id, n.team_id, n.customer_id, n.author_id, n.slot, n.messages from new_rows n where n.level = 0) d
    cross join (values (1::smallint), (2::smallint)) as l (level)
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    having sum(d.messages) <> 0
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
  on conflict on constraint message_rollups_key do update set messages = r.messages + excluded.messages;
  return null;
end $$;

create or replace function app.message_rollups_levels_update() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if not exists (select 1 from new_rows n where n.level = 0) then
    return null;
  end if;
  insert into app.message_rollups as r (org_id, level, bucket, channel, direction, channel_id, team_id, customer_id, author_id, slot, messages)
    select d.org_id, l.level, app.rollup_bucket(d.bucket, l.level), d.channel, d.direction, d.channel_id, d.team_id, d.customer_id, d.author_id, d.slot, sum(d.messages)
    from (
      select n.org_id, n.bucket, n.channel, n.direction, n.channel_id, n.team_id, n.customer_id, n.author_id, n.slot, n.messages from new_rows n where n.level = 0
      union all
      select o.org_id, o.bucket, o.channel, o.direction, o.channel_id, o.team_id, o.customer_id, o.author_id, o.slot, -o.messages from old_rows o where o.level = 0) d
    cross join (values (1::smallint), (2::smallint)) as l (level)
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    having sum(d.messages) <> 0
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
  on conflict on constraint message_rollups_key do update set messages = r.messages + excluded.messages;
  return null;
end $$;

-- What was there before: every quarter-hour row's hour and day.
insert into app.message_rollups (org_id, level, bucket, channel, direction, channel_id, team_id, customer_id, author_id, slot, messages)
select r.org_id, l.level, app.rollup_bucket(r.bucket, l.level), r.channel, r.direction, r.channel_id, r.team_id, r.customer_id, r.author_id, 0, sum(r.messages)
from app.message_rollups r cross join (values (1::smallint), (2::smallint)) as l (level)
where r.level = 0
group by r.org_id, l.level, 3, r.channel, r.direction, r.channel_id, r.team_id, r.customer_id, r.author_id;

create trigger message_rollups_levels_insert after insert on app.message_rollups
  referencing new table as new_rows for each statement execute function app.message_rollups_levels_insert();
create trigger message_rollups_levels_update after update on app.message_rollups
  referencing old table as old_rows new table as new_rows for each statement execute function app.message_rollups_levels_update();

-- app.message_analysis_rollups: the level in its key; hours and days follow the quarter hours.
alter table app.message_analysis_rollups add column level smallint not null default 0 check (level between 0 and 2);
alter table app.message_analysis_rollups drop constraint message_analysis_rollups_key;
alter table app.message_analysis_rollups add constraint message_analysis_rollups_key unique nulls not distinct (org_id, level, bucket, channel, channel_id, team_id, customer_id, intent, sentiment, slot);

create or replace function app.message_analysis_rollups_levels_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  -- The hours' and days' own writes come back here without quarter-hour rows: they stop.
  if not exists (select 1 from new_rows n where n.level = 0) then
    return null;
  end if;
  insert into app.message_analysis_rollups as r (org_id, level, bucket, channel, channel_id, team_id, customer_id, intent, sentiment, slot, messages, score_sum, scored)
    select d.org_id, l.level, app.rollup_bucket(d.bucket, l.level), d.channel, d.channel_id, d.team_id, d.customer_id, d.intent, d.sentiment, d.slot, sum(d.messages), sum(d.score_sum), sum(d.scored)
    from (
      select n.org_id, n.bucket, n.channel, n.channel_id, n.team_id, n.customer_id, n.intent, n.sentiment, n.slot, n.messages, n.score_sum, n.scored from new_rows n where n.level = 0) d
    cross join (values (1::smallint), (2::smallint)) as l (level)
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    having sum(d.messages) <> 0 or sum(d.score_sum) <> 0 or sum(d.scored) <> 0
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
  on conflict on constraint message_analysis_rollups_key do update set messages = r.messages + excluded.messages, score_sum = r.score_sum + excluded.score_sum, scored = r.scored + excluded.scored;
  return null;
end $$;

create or replace function app.message_analysis_rollups_levels_update() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if not exists (select 1 from new_rows n where n.level = 0) then
    return null;
  end if;
  insert into app.message_analysis_rollups as r (org_id, level, bucket, channel, channel_id, team_id, customer_id, intent, sentiment, slot, messages, score_sum, scored)
    select d.org_id, l.level, app.rollup_bucket(d.bucket, l.level), d.channel, d.channel_id, d.team_id, d.customer_id, d.intent, d.sentiment, d.slot, sum(d.messages), sum(d.score_sum), sum(d.scored)
    from (
      select n.org_id, n.bucket, n.channel, n.channel_id, n.team_id, n.customer_id, n.intent, n.sentiment, n.slot, n.messages, n.score_sum, n.scored from new_rows n where n.level = 0
      union all
      select o.org_id, o.bucket, o.channel, o.channel_id, o.team_id, o.customer_id, o.intent, o.sentiment, o.slot, -o.messages, -o.score_sum, -o.scored from old_rows o where o.level = 0) d
    cross join (values (1::smallint), (2::smallint)) as l (level)
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    having sum(d.messages) <> 0 or sum(d.score_sum) <> 0 or sum(d.scored) <> 0
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
  on conflict on constraint message_analysis_rollups_key do update set messages = r.messages + excluded.messages, score_sum = r.score_sum + excluded.score_sum, scored = r.scored + excluded.scored;
  return null;
end $$;

-- What was there before: every quarter-hour row's hour and day.
insert into app.message_analysis_rollups (org_id, level, bucket, channel, channel_id, team_id, customer_id, intent, sentiment, slot, messages, score_sum, scored)
select r.org_id, l.level, app.rollup_bucket(r.bucket, l.level), r.channel, r.channel_id, r.team_id, r.customer_id, r.intent, r.sentiment, 0, sum(r.messages), sum(r.score_sum), sum(r.scored)
from app.message_analysis_rollups r cross join (values (1::smallint), (2::smallint)) as l (level)
where r.level = 0
group by r.org_id, l.level, 3, r.channel, r.channel_id, r.team_id, r.customer_id, r.intent, r.sentiment;

create trigger message_analysis_rollups_levels_insert after insert on app.message_analysis_rollups
  referencing new table as new_rows for each statement execute function app.message_analysis_rollups_levels_insert();
create trigger message_analysis_rollups_levels_update after update on app.message_analysis_rollups
  referencing old table as old_rows new table as new_rows for each statement execute function app.message_analysis_rollups_levels_update();

-- app.shipment_rollups: the level in its key; hours and days follow the quarter hours.
alter table app.shipment_rollups add column level smallint not null default 0 check (level between 0 and 2);
alter table app.shipment_rollups drop constraint shipment_rollups_key;
alter table app.shipment_rollups add constraint shipment_rollups_key unique nulls not distinct (org_id, level, bucket, shipment_id, channel, direction, channel_id, team_id, customer_id, slot);

create or replace function app.shipment_rollups_levels_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  -- The hours' and days' own writes come back here without quarter-hour rows: they stop.
  if not exists (select 1 from new_rows n where n.level = 0) then
    return null;
  end if;
  insert into app.shipment_rollups as r (org_id, level, bucket, shipment_id, channel, direction, channel_id, team_id, customer_id, slot, messages)
    select d.org_id, l.level, app.rollup_bucket(d.bucket, l.level), d.shipment_id, d.channel, d.direction, d.channel_id, d.team_id, d.customer_id, d.slot, sum(d.messages)
    from (
      select n.org_id, n.bucket, n.shipment_id, n.channel, n.direction, n.channel_id, n.team_id, n.customer_id, n.slot, n.messages from new_rows n where n.level = 0) d
    cross join (values (1::smallint), (2::smallint)) as l (level)
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    having sum(d.messages) <> 0
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
  on conflict on constraint shipment_rollups_key do update set messages = r.messages + excluded.messages;
  return null;
end $$;

create or replace function app.shipment_rollups_levels_update() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if not exists (select 1 from new_rows n where n.level = 0) then
    return null;
  end if;
  insert into app.shipment_rollups as r (org_id, level, bucket, shipment_id, channel, direction, channel_id, team_id, customer_id, slot, messages)
    select d.org_id, l.level, app.rollup_bucket(d.bucket, l.level), d.shipment_id, d.channel, d.direction, d.channel_id, d.team_id, d.customer_id, d.slot, sum(d.messages)
    from (
      select n.org_id, n.bucket, n.shipment_id, n.channel, n.direction, n.channel_id, n.team_id, n.customer_id, n.slot, n.messages from new_rows n where n.level = 0
      union all
      select o.org_id, o.bucket, o.shipment_id, o.channel, o.direction, o.channel_id, o.team_id, o.customer_id, o.slot, -o.messages from old_rows o where o.level = 0) d
    cross join (values (1::smallint), (2::smallint)) as l (level)
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    having sum(d.messages) <> 0
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
  on conflict on constraint shipment_rollups_key do update set messages = r.messages + excluded.messages;
  return null;
end $$;

-- What was there before: every quarter-hour row's hour and day.
insert into app.shipment_rollups (org_id, level, bucket, shipment_id, channel, direction, channel_id, team_id, customer_id, slot, messages)
select r.org_id, l.level, app.rollup_bucket(r.bucket, l.level), r.shipment_id, r.channel, r.direction, r.channel_id, r.team_id, r.customer_id, 0, sum(r.messages)
from app.shipment_rollups r cross join (values (1::smallint), (2::smallint)) as l (level)
where r.level = 0
group by r.org_id, l.level, 3, r.shipment_id, r.channel, r.direction, r.channel_id, r.team_id, r.customer_id;

create trigger shipment_rollups_levels_insert after insert on app.shipment_rollups
  referencing new table as new_rows for each statement execute function app.shipment_rollups_levels_insert();
create trigger shipment_rollups_levels_update after update on app.shipment_rollups
  referencing old table as old_rows new table as new_rows for each statement execute function app.shipment_rollups_levels_update();

-- The percentiles read a range's responses by index only: every column a report reads or filters on,
-- and the first responses alone (the overview's) in an index of their own.
create index message_responses_org_at_cover_idx on app.message_responses (org_id, at)
  include (first, wall_ms, business_ms, responder_id, channel, channel_id, team_id, customer_id);
create index message_responses_first_idx on app.message_responses (org_id, at)
  include (wall_ms, business_ms, channel, channel_id, team_id, customer_id) where first;
drop index app.message_responses_org_at_idx;
-- The shipment rollups' key now leads with (org_id, level, bucket), which the reports read.
drop index app.shipment_rollups_range_idx;
