-- Analytics: the analysis of messages counted for the organization as a whole, for the intent mix and
-- the sentiment trend of a report without filters (GET /api/analytics/intents). The analysis rollups
-- keep each bucket's channel, mailbox, team and customer, so their rows hardly compress: a 90-day trend
-- by local day in Asia/Kolkata (whose days are not whole UTC days, so mostly hours) read 275,613 rows,
-- 120-330 ms of database time. Here each bucket has one row per intent and one per sentiment (facet,
-- value): the same trend reads about 7,000 rows.
--
-- The totals follow the quarter-hour rows of app.message_analysis_rollups, whatever wrote them, as the
-- hours and days do (migration 20261207010000), at the three levels: one rule, where the quarter hours
-- are counted.
create table app.message_analysis_totals (
  org_id uuid not null references app.organizations (id) on delete cascade,
  level smallint not null check (level between 0 and 2),
  bucket timestamptz not null,
  facet text not null check (facet in ('intent', 'sentiment')),
  value text,
  slot smallint not null default 0,
  messages integer not null default 0,
  score_sum double precision not null default 0,
  scored integer not null default 0,
  constraint message_analysis_totals_key unique nulls not distinct (org_id, level, bucket, facet, value, slot)
);

alter table app.message_analysis_totals enable row level security;
create policy message_analysis_totals_read on app.message_analysis_totals for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
grant select on app.message_analysis_totals to authenticated;
grant all on app.message_analysis_totals to service_role;

-- Inserted quarter-hour rows add to their totals; updated ones add the difference (old rows negated).
create or replace function app.message_analysis_totals_follow() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if not exists (select 1 from new_rows n where n.level = 0) then
    return null;
  end if;
  execute pg_catalog.format($sql$
    insert into app.message_analysis_totals as t (org_id, level, bucket, facet, value, slot, messages, score_sum, scored)
      select d.org_id, l.level, app.rollup_bucket(d.bucket, l.level), f.facet, case f.facet when 'intent' then d.intent else d.sentiment end,
        d.slot, sum(d.messages), sum(d.score_sum), sum(d.scored)
      from (
        select n.org_id, n.bucket, n.intent, n.sentiment, n.slot, n.messages, n.score_sum, n.scored from new_rows n where n.level = 0
        %s) d
      cross join (values (0::smallint), (1::smallint), (2::smallint)) as l (level)
      cross join (values ('intent'), ('sentiment')) as f (facet)
      group by 1, 2, 3, 4, 5, 6
      having sum(d.messages) <> 0 or sum(d.score_sum) <> 0 or sum(d.scored) <> 0
      order by 1, 2, 3, 4, 5, 6
    on conflict on constraint message_analysis_totals_key do update
      set messages = t.messages + excluded.messages, score_sum = t.score_sum + excluded.score_sum, scored = t.scored + excluded.scored$sql$,
    case tg_op when 'UPDATE' then
      'union all select o.org_id, o.bucket, o.intent, o.sentiment, o.slot, -o.messages, -o.score_sum, -o.scored from old_rows o where o.level = 0'
    else '' end);
  return null;
end $$;

create trigger message_analysis_totals_insert after insert on app.message_analysis_rollups
  referencing new table as new_rows for each statement execute function app.message_analysis_totals_follow();
create trigger message_analysis_totals_update after update on app.message_analysis_rollups
  referencing old table as old_rows new table as new_rows for each statement execute function app.message_analysis_totals_follow();

-- What was counted before.
insert into app.message_analysis_totals (org_id, level, bucket, facet, value, slot, messages, score_sum, scored)
select r.org_id, l.level, app.rollup_bucket(r.bucket, l.level), f.facet, case f.facet when 'intent' then r.intent else r.sentiment end, 0,
  sum(r.messages), sum(r.score_sum), sum(r.scored)
from app.message_analysis_rollups r
cross join (values (0::smallint), (1::smallint), (2::smallint)) as l (level)
cross join (values ('intent'), ('sentiment')) as f (facet)
where r.level = 0
group by 1, 2, 3, 4, 5
having sum(r.messages) <> 0 or sum(r.score_sum) <> 0 or sum(r.scored) <> 0;
