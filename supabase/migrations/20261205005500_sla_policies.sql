-- Service levels, part one: policies with a matrix of targets, and business-hours calendars.
--
-- A policy now holds targets by thread priority (first response, next response, resolution), each in
-- business or calendar minutes, and conditions (customers, customer tiers, channels); the most specific
-- matching policy wins (lib/sla/policies.ts). Every organization has exactly one default policy and one
-- default calendar, made with the organization. Calendars keep their weekly hours (several intervals a
-- day) and time zone; holidays move to a table of their own so each keeps its name and source (typed
-- in, or imported from an iCalendar file).

alter table app.business_calendars
  add column is_default boolean not null default false,
  add constraint business_calendars_timezone_check check (length(timezone) between 1 and 64);
create unique index business_calendars_default_idx on app.business_calendars (org_id) where is_default;

create table app.business_calendar_holidays (
  org_id uuid not null,
  calendar_id uuid not null,
  date date not null,
  name text not null default '' check (length(name) <= 200),
  source text not null default 'manual' check (source in ('manual', 'ical')),
  created_at timestamptz not null default now(),
  primary key (calendar_id, date),
  foreign key (org_id, calendar_id) references app.business_calendars (org_id, id) on delete cascade
);
create index business_calendar_holidays_org_idx on app.business_calendar_holidays (org_id, calendar_id, date);
insert into app.business_calendar_holidays (org_id, calendar_id, date)
select c.org_id, c.id, d from app.business_calendars c, unnest(c.holidays) d on conflict do nothing;
alter table app.business_calendars drop column holidays;

alter table app.business_calendar_holidays enable row level security;
create policy business_calendar_holidays_read on app.business_calendar_holidays for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy business_calendar_holidays_write on app.business_calendar_holidays for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) = any ('{owner,admin,manager,system}'::text[]))
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) = any ('{owner,admin,manager,system}'::text[]));
grant select, insert, update, delete on app.business_calendar_holidays to authenticated;
grant all on app.business_calendar_holidays to service_role;

-- Targets: { "<priority>": { "firstResponse": { "minutes": 60, "business": true }, "nextResponse": …, "resolution": … } }
alter table app.sla_policies
  add column targets jsonb not null default '{}'::jsonb check (jsonb_typeof(targets) = 'object'),
  add column is_default boolean not null default false,
  add column warning_percent integer not null default 75 check (warning_percent between 1 and 99),
  add column automation_replies_count boolean not null default false,
  add column description text check (description is null or length(description) <= 2000);
create unique index sla_policies_default_idx on app.sla_policies (org_id) where is_default;

-- The old single set of minutes becomes the same targets for every priority (business minutes).
update app.sla_policies p set targets = (
  select coalesce(jsonb_object_agg(prio, cells), '{}'::jsonb) from (
    select prio, jsonb_strip_nulls(jsonb_build_object(
      'firstResponse', case when p.first_response_minutes is not null then jsonb_build_object('minutes', p.first_response_minutes, 'business', true) end,
      'nextResponse', case when p.next_response_minutes is not null then jsonb_build_object('minutes', p.next_response_minutes, 'business', true) end,
      'resolution', case when p.resolution_minutes is not null then jsonb_build_object('minutes', p.resolution_minutes, 'business', true) end)) as cells
    from unnest(array['urgent', 'high', 'normal', 'low']) prio
  ) x where cells <> '{}'::jsonb);
alter table app.sla_policies drop column first_response_minutes, drop column next_response_minutes, drop column resolution_minutes;

-- An organization's default calendar (its time zone; Monday to Friday 09:30–18:30, Saturday 10:00–14:00)
-- and default policy (business minutes: urgent 30 min / 1 h / 8 h, high 1 h / 2 h / 24 h, normal
-- 4 h / 8 h / 48 h, low 8 h / 24 h / 120 h).
create or replace function app.create_default_service_levels(for_org uuid, zone text) returns void
language plpgsql security definer set search_path = '' as $$
declare
  calendar uuid;
  t jsonb := '{
    "urgent": {"firstResponse": {"minutes": 30, "business": true}, "nextResponse": {"minutes": 60, "business": true}, "resolution": {"minutes": 480, "business": true}},
    "high": {"firstResponse": {"minutes": 60, "business": true}, "nextResponse": {"minutes": 120, "business": true}, "resolution": {"minutes": 1440, "business": true}},
    "normal": {"firstResponse": {"minutes": 240, "business": true}, "nextResponse": {"minutes": 480, "business": true}, "resolution": {"minutes": 2880, "business": true}},
    "low": {"firstResponse": {"minutes": 480, "business": true}, "nextResponse": {"minutes": 1440, "business": true}, "resolution": {"minutes": 7200, "business": true}}
  }';
begin
  select id into calendar from app.business_calendars where org_id = for_org and is_default;
  if calendar is null then
    insert into app.business_calendars (org_id, name, timezone, hours, is_default)
    values (for_org, 'Office hours', coalesce(zone, 'Asia/Kolkata'), '[
      {"day": 1, "start": "09:30", "end": "18:30"}, {"day": 2, "start": "09:30", "end": "18:30"},
      {"day": 3, "start": "09:30", "end": "18:30"}, {"day": 4, "start": "09:30", "end": "18:30"},
      {"day": 5, "start": "09:30", "end": "18:30"}, {"day": 6, "start": "10:00", "end": "14:00"}]'::jsonb, true)
    on conflict (org_id, name) do update set is_default = true
    returning id into calendar;
  end if;
  if not exists (select 1 from app.sla_policies where org_id = for_org and is_default) then
    insert into app.sla_policies (org_id, name, calendar_id, targets, is_default, position)
    values (for_org, 'Default', calendar, t, true, 1000000)
    on conflict (org_id, name) do update set is_default = true, targets = case when app.sla_policies.targets = '{}'::jsonb then t else app.sla_policies.targets end;
  end if;
end $$;
revoke all on function app.create_default_service_levels(uuid, text) from public;

create or replace function app.organization_service_levels_trigger() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform app.create_default_service_levels(new.id, new.timezone);
  return null;
end $$;
create trigger organizations_service_levels after insert on app.organizations
  for each row execute function app.organization_service_levels_trigger();

select app.create_default_service_levels(id, timezone) from app.organizations;
