-- Every cut-off and last free day of a shipment as a row of its own, so that "cut-off in the next
-- 48 h" and "free time ends this week" find a shipment when ANY of its dates falls in the window, not
-- only the earliest (app.shipments.next_cutoff_at and free_time_ends_on are least() of all the dates,
-- past ones included: once the documentation cut-off passed, the CY cut-off tomorrow was invisible,
-- and an origin last free day hid the destination's demurrage and detention). Kept by a trigger on
-- app.shipments; the list (lib/shipments/service.ts) walks (org_id, at) / (org_id, day) in order.

create table app.shipment_deadlines (
  org_id uuid not null,
  shipment_id uuid not null,
  -- Cut-offs (si, vgm, doc, cy) are instants in `at`; last free days (origin detention, destination
  -- demurrage and detention) are dates in `day`.
  kind text not null check (kind in ('si', 'vgm', 'doc', 'cy', 'origin', 'demurrage', 'detention')),
  at timestamptz,
  day date,
  primary key (org_id, shipment_id, kind),
  check ((kind in ('si', 'vgm', 'doc', 'cy')) = (at is not null) and (at is null) = (day is not null)),
  foreign key (org_id, shipment_id) references app.shipments (org_id, id) on delete cascade
);
create index shipment_deadlines_at_idx on app.shipment_deadlines (org_id, at, shipment_id) where at is not null;
create index shipment_deadlines_day_idx on app.shipment_deadlines (org_id, day, shipment_id) where day is not null;

-- Read by members like the shipment; written only by the trigger below (as the owner).
alter table app.shipment_deadlines enable row level security;
create policy shipment_deadlines_read on app.shipment_deadlines for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
grant select on app.shipment_deadlines to authenticated;

create or replace function app.shipment_deadlines_trigger() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  delete from app.shipment_deadlines where org_id = new.org_id and shipment_id = new.id;
  insert into app.shipment_deadlines (org_id, shipment_id, kind, at, day)
  select new.org_id, new.id, v.kind, v.at, v.day
  from (values
    ('si', new.si_cutoff_at, null::date),
    ('vgm', new.vgm_cutoff_at, null::date),
    ('doc', new.doc_cutoff_at, null::date),
    ('cy', new.cy_cutoff_at, null::date),
    ('origin', null::timestamptz, new.origin_last_free_day),
    ('demurrage', null::timestamptz, new.demurrage_last_free_day),
    ('detention', null::timestamptz, new.detention_last_free_day)) v (kind, at, day)
  where v.at is not null or v.day is not null;
  return null;
end $$;

create trigger shipments_deadlines_insert after insert on app.shipments
  for each row execute function app.shipment_deadlines_trigger();
create trigger shipments_deadlines_update after update on app.shipments
  for each row when (
    old.si_cutoff_at is distinct from new.si_cutoff_at or old.vgm_cutoff_at is distinct from new.vgm_cutoff_at
    or old.doc_cutoff_at is distinct from new.doc_cutoff_at or old.cy_cutoff_at is distinct from new.cy_cutoff_at
    or old.origin_last_free_day is distinct from new.origin_last_free_day
    or old.demurrage_last_free_day is distinct from new.demurrage_last_free_day
    or old.detention_last_free_day is distinct from new.detention_last_free_day)
  execute function app.shipment_deadlines_trigger();

-- The rows of existing shipments.
insert into app.shipment_deadlines (org_id, shipment_id, kind, at, day)
select s.org_id, s.id, v.kind, v.at, v.day
from app.shipments s cross join lateral (values
  ('si', s.si_cutoff_at, null::date),
  ('vgm', s.vgm_cutoff_at, null::date),
  ('doc', s.doc_cutoff_at, null::date),
  ('cy', s.cy_cutoff_at, null::date),
  ('origin', null::timestamptz, s.origin_last_free_day),
  ('demurrage', null::timestamptz, s.demurrage_last_free_day),
  ('detention', null::timestamptz, s.detention_last_free_day)) v (kind, at, day)
where v.at is not null or v.day is not null;

-- The list no longer filters or sorts on the earliest dates; their indexes only cost writes.
drop index app.shipments_cutoff_idx;
drop index app.shipments_free_time_idx;
