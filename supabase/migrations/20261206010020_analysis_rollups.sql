-- Analytics, part three: the analysis of messages (intent, sentiment) in 15-minute buckets, for the
-- intent mix and the sentiment trend (GET /api/analytics/intents). Analysis lands after the message
-- (the message.analyze job updates it), so these count a message when its analysis is stored, under the
-- bucket of its occurred_at and its thread's team and customer at that moment; a new analysis of the
-- same message moves it from its old intent and sentiment to the new ones. Slotted like
-- app.message_rollups, so concurrent writers rarely share a row.
create table app.message_analysis_rollups (
  org_id uuid not null references app.organizations (id) on delete cascade,
  bucket timestamptz not null,
  channel text not null,
  channel_id uuid,
  team_id uuid,
  customer_id uuid,
  intent text,
  sentiment text,
  slot smallint not null default 0,
  messages integer not null default 0,
  -- Sum and number of sentiment scores, for the average.
  score_sum double precision not null default 0,
  scored integer not null default 0,
  constraint message_analysis_rollups_key unique nulls not distinct
    (org_id, bucket, channel, channel_id, team_id, customer_id, intent, sentiment, slot)
);

alter table app.message_analysis_rollups enable row level security;
create policy message_analysis_rollups_read on app.message_analysis_rollups for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
grant select on app.message_analysis_rollups to authenticated;
grant all on app.message_analysis_rollups to service_role;

-- Messages stored with their analysis (imports) count at once.
create or replace function app.message_analysis_rollups_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into app.message_analysis_rollups as r (org_id, bucket, channel, channel_id, team_id, customer_id, intent, sentiment, slot,
                                                 messages, score_sum, scored)
    select x.org_id, app.quarter_hour(x.occurred_at), x.channel, x.channel_id, t.team_id, t.customer_id, x.intent, x.sentiment,
      (pg_catalog.pg_backend_pid() % 8)::smallint, sum(x.delta), coalesce(sum(x.sentiment_score * x.delta), 0),
      sum((x.sentiment_score is not null)::int * x.delta)
    from (select n.org_id, n.thread_id, n.occurred_at, n.channel, n.channel_id, n.intent, n.sentiment, n.sentiment_score, 1 as delta
          from new_messages n where n.analyzed_at is not null) x
    left join app.threads t on t.org_id = x.org_id and t.id = x.thread_id
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9
  on conflict on constraint message_analysis_rollups_key do update
    set messages = r.messages + excluded.messages, score_sum = r.score_sum + excluded.score_sum, scored = r.scored + excluded.scored;
  return null;
end $$;

-- An analysis stored counts the message; a new one moves it from its old intent and sentiment.
create or replace function app.message_analysis_rollups_update() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into app.message_analysis_rollups as r (org_id, bucket, channel, channel_id, team_id, customer_id, intent, sentiment, slot,
                                                 messages, score_sum, scored)
    select x.org_id, app.quarter_hour(x.occurred_at), x.channel, x.channel_id, t.team_id, t.customer_id, x.intent, x.sentiment,
      (pg_catalog.pg_backend_pid() % 8)::smallint, sum(x.delta), coalesce(sum(x.sentiment_score * x.delta), 0),
      sum((x.sentiment_score is not null)::int * x.delta)
    from (
      select n.org_id, n.thread_id, n.occurred_at, n.channel, n.channel_id, n.intent, n.sentiment, n.sentiment_score, 1 as delta
      from new_messages n join old_messages o on o.id = n.id
      where n.analyzed_at is not null
        and (o.analyzed_at is null or (o.intent, o.sentiment, o.sentiment_score) is distinct from (n.intent, n.sentiment, n.sentiment_score))
      union all
      select o.org_id, o.thread_id, o.occurred_at, o.channel, o.channel_id, o.intent, o.sentiment, o.sentiment_score, -1
      from new_messages n join old_messages o on o.id = n.id
      where o.analyzed_at is not null and n.analyzed_at is not null
        and (o.intent, o.sentiment, o.sentiment_score) is distinct from (n.intent, n.sentiment, n.sentiment_score)
    ) x
    left join app.threads t on t.org_id = x.org_id and t.id = x.thread_id
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9
  on conflict on constraint message_analysis_rollups_key do update
    set messages = r.messages + excluded.messages, score_sum = r.score_sum + excluded.score_sum, scored = r.scored + excluded.scored;
  return null;
end $$;

create trigger message_analysis_rollups_insert after insert on app.messages
  referencing new table as new_messages for each statement execute function app.message_analysis_rollups_insert();
create trigger message_analysis_rollups_update after update on app.messages
  referencing old table as old_messages new table as new_messages for each statement execute function app.message_analysis_rollups_update();

-- What was analysed before the triggers.
insert into app.message_analysis_rollups (org_id, bucket, channel, channel_id, team_id, customer_id, intent, sentiment, slot, messages, score_sum, scored)
select m.org_id, app.quarter_hour(m.occurred_at), m.channel, m.channel_id, t.team_id, t.customer_id, m.intent, m.sentiment, 0,
  count(*), coalesce(sum(m.sentiment_score), 0), count(m.sentiment_score)
from app.messages m left join app.threads t on t.org_id = m.org_id and t.id = m.thread_id
where m.analyzed_at is not null
group by 1, 2, 3, 4, 5, 6, 7, 8;
