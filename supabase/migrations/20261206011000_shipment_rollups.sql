-- Analytics, part four: the shipments with the most traffic (GET /api/analytics/customers answers
-- them beside the busiest customers). A shipment's traffic is the messages linked to it
-- (app.message_shipments: the message names one of its identifiers, or a member linked it), counted in
-- the 15-minute bucket of the message's occurred_at, like app.message_rollups, under the dimensions
-- the message had when it was counted (channel, direction, mailbox, its thread's team and customer).
--
-- Kept by statement-level triggers in the writing transaction: a link made counts the message (if it
-- is more than a draft), a link rejected or removed uncounts it, a linked draft that is sent starts to
-- count. A message deleted with its thread leaves its counts, as the message rollups do.
create table app.shipment_rollups (
  org_id uuid not null references app.organizations (id) on delete cascade,
  bucket timestamptz not null,
  shipment_id uuid not null,
  channel text not null,
  direction text not null,
  channel_id uuid,
  team_id uuid,
  customer_id uuid,
  slot smallint not null default 0,
  messages integer not null default 0,
  constraint shipment_rollups_key unique nulls not distinct (org_id, bucket, shipment_id, channel, direction, channel_id, team_id, customer_id, slot),
  foreign key (org_id, shipment_id) references app.shipments (org_id, id) on delete cascade
);
-- Reports read a range of buckets of one organization.
create index shipment_rollups_range_idx on app.shipment_rollups (org_id, bucket);

alter table app.shipment_rollups enable row level security;
create policy shipment_rollups_read on app.shipment_rollups for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
grant select on app.shipment_rollups to authenticated;
grant all on app.shipment_rollups to service_role;

-- Adds sign × each (message, shipment) pair to its bucket, one write per counter row, in key order.
create or replace function app.shipment_rollups_add(pairs jsonb, sign integer) returns void
language sql security definer set search_path = '' as $$
  insert into app.shipment_rollups as r (org_id, bucket, shipment_id, channel, direction, channel_id, team_id, customer_id, slot, messages)
    select m.org_id, app.quarter_hour(m.occurred_at), p.shipment_id, m.channel, m.direction, m.channel_id, t.team_id, t.customer_id,
      (pg_catalog.pg_backend_pid() % 8)::smallint, sign * count(*)
    from pg_catalog.jsonb_to_recordset(pairs) as p (message_id uuid, shipment_id uuid)
    join app.messages m on m.id = p.message_id
    left join app.threads t on t.org_id = m.org_id and t.id = m.thread_id
    where m.status <> 'draft'
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9
  on conflict on constraint shipment_rollups_key do update set messages = r.messages + excluded.messages
$$;
revoke all on function app.shipment_rollups_add(jsonb, integer) from public;

create or replace function app.shipment_rollups_links_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform app.shipment_rollups_add(
    (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('message_id', n.message_id, 'shipment_id', n.shipment_id))
     from new_links n where n.link_source <> 'rejected'), 1);
  return null;
end $$;

create or replace function app.shipment_rollups_links_update() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  -- Rejected: uncount. Restored (rejected to manual): count again.
  perform app.shipment_rollups_add(
    (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('message_id', n.message_id, 'shipment_id', n.shipment_id))
     from new_links n join old_links o on o.message_id = n.message_id and o.shipment_id = n.shipment_id
     where o.link_source <> 'rejected' and n.link_source = 'rejected'), -1);
  perform app.shipment_rollups_add(
    (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('message_id', n.message_id, 'shipment_id', n.shipment_id))
     from new_links n join old_links o on o.message_id = n.message_id and o.shipment_id = n.shipment_id
     where o.link_source = 'rejected' and n.link_source <> 'rejected'), 1);
  return null;
end $$;

create or replace function app.shipment_rollups_links_delete() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform app.shipment_rollups_add(
    (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('message_id', o.message_id, 'shipment_id', o.shipment_id))
     from old_links o where o.link_source <> 'rejected'), -1);
  return null;
end $$;

-- A linked draft that is sent starts to count.
create or replace function app.shipment_rollups_messages_sent() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform app.shipment_rollups_add(
    (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('message_id', l.message_id, 'shipment_id', l.shipment_id))
     from new_messages n join old_messages o on o.id = n.id
     join app.message_shipments l on l.message_id = n.id and l.link_source <> 'rejected'
     where o.status = 'draft' and n.status <> 'draft'), 1);
  return null;
end $$;

create trigger shipment_rollups_insert after insert on app.message_shipments
  referencing new table as new_links for each statement execute function app.shipment_rollups_links_insert();
create trigger shipment_rollups_update after update on app.message_shipments
  referencing old table as old_links new table as new_links for each statement execute function app.shipment_rollups_links_update();
create trigger shipment_rollups_delete after delete on app.message_shipments
  referencing old table as old_links for each statement execute function app.shipment_rollups_links_delete();
create trigger shipment_rollups_sent after update on app.messages
  referencing old table as old_messages new table as new_messages for each statement execute function app.shipment_rollups_messages_sent();

-- What was there before the triggers.
insert into app.shipment_rollups (org_id, bucket, shipment_id, channel, direction, channel_id, team_id, customer_id, slot, messages)
select m.org_id, app.quarter_hour(m.occurred_at), l.shipment_id, m.channel, m.direction, m.channel_id, t.team_id, t.customer_id, 0, count(*)
from app.message_shipments l join app.messages m on m.id = l.message_id
left join app.threads t on t.org_id = m.org_id and t.id = m.thread_id
where l.link_source <> 'rejected' and m.status <> 'draft'
group by 1, 2, 3, 4, 5, 6, 7, 8;
