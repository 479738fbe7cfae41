-- Shipments as the forwarder's unit of work (issue 19): parties, references, cargo, cut-offs and free
-- time on the shipment; one canonical identifier array on shipments and messages for every lookup by
-- container, AWB, B/L or booking; milestone codes and sources extended; indexes for the list's filters.

-- ---------------------------------------------------------------------------------------------
-- Shipment fields
-- ---------------------------------------------------------------------------------------------
alter table app.shipments
  -- { shipper | consignee | notifyParty | overseasAgent | carrier | customsBroker: { customerId } or { name } }
  add column parties jsonb not null default '{}'::jsonb,
  add column hawb_numbers text[] not null default '{}',
  add column hbl_numbers text[] not null default '{}',
  add column po_numbers text[] not null default '{}',
  add column invoice_numbers text[] not null default '{}',
  add column incoterm_place text check (incoterm_place is null or length(incoterm_place) <= 200),
  add column packages integer check (packages is null or packages >= 0),
  add column gross_weight_kg numeric(14, 3) check (gross_weight_kg is null or gross_weight_kg >= 0),
  add column volume_cbm numeric(14, 3) check (volume_cbm is null or volume_cbm >= 0),
  add column container_types text[] not null default '{}',
  add column flight text check (flight is null or length(flight) <= 20),
  add column si_cutoff_at timestamptz,
  add column vgm_cutoff_at timestamptz,
  add column doc_cutoff_at timestamptz,
  add column cy_cutoff_at timestamptz,
  -- Free days: origin detention from the empty pick-up, destination demurrage from discharge,
  -- destination detention from the full gate-out. The last free day of each is computed below.
  add column origin_free_days integer check (origin_free_days is null or origin_free_days between 0 and 365),
  add column demurrage_free_days integer check (demurrage_free_days is null or demurrage_free_days between 0 and 365),
  add column detention_free_days integer check (detention_free_days is null or detention_free_days between 0 and 365),
  add column empty_pickup_at timestamptz,
  add column discharged_at timestamptz,
  add column gate_out_at timestamptz,
  add column origin_last_free_day date,
  add column demurrage_last_free_day date,
  add column detention_last_free_day date,
  -- The earliest of the cut-offs and of the last free days: what "cut-off in the next 48 h" and
  -- "free time ends this week" filter and sort on.
  add column next_cutoff_at timestamptz generated always as (least(si_cutoff_at, vgm_cutoff_at, doc_cutoff_at, cy_cutoff_at)) stored,
  add column free_time_ends_on date,
  -- Every identifier of the shipment in canonical form (containers, AWBs, HAWBs, B/Ls, bookings, POs,
  -- invoices, the job reference), for the list's reference search.
  add column identifiers text[] not null default '{}',
  add column created_by uuid;

-- A last free day counts the day of the event as the first free day, in the organization's time zone.
create or replace function app.shipment_derived_trigger() returns trigger
language plpgsql set search_path = '' as $$
declare
  tz text;
begin
  select o.timezone into tz from app.organizations o where o.id = new.org_id;
  tz := coalesce(tz, 'UTC');
  new.origin_last_free_day := case when new.empty_pickup_at is not null and new.origin_free_days is not null
    then (new.empty_pickup_at at time zone tz)::date + greatest(new.origin_free_days - 1, 0) end;
  new.demurrage_last_free_day := case when new.discharged_at is not null and new.demurrage_free_days is not null
    then (new.discharged_at at time zone tz)::date + greatest(new.demurrage_free_days - 1, 0) end;
  new.detention_last_free_day := case when new.gate_out_at is not null and new.detention_free_days is not null
    then (new.gate_out_at at time zone tz)::date + greatest(new.detention_free_days - 1, 0) end;
  new.free_time_ends_on := least(new.origin_last_free_day, new.demurrage_last_free_day, new.detention_last_free_day);
  new.identifiers := array(
    select distinct x from unnest(
      new.container_numbers || new.awb_numbers || new.hawb_numbers || new.bl_numbers || new.hbl_numbers
      || new.booking_numbers || new.po_numbers || new.invoice_numbers
      || array[upper(regexp_replace(new.reference, '\s', '', 'g'))]) x
    where x <> '' order by x);
  return new;
end $$;

create trigger shipments_derived before insert or update on app.shipments
  for each row execute function app.shipment_derived_trigger();

-- Fill the derived columns of existing rows.
update app.shipments set updated_at = updated_at;

-- Indexes for the list: newest first, and each filter and sort (org first: every query names it).
create index shipments_list_idx on app.shipments (org_id, created_at desc, id desc);
create index shipments_status_idx on app.shipments (org_id, status, created_at desc, id desc);
create index shipments_eta_idx on app.shipments (org_id, eta, id) where eta is not null;
create index shipments_etd_idx on app.shipments (org_id, etd, id) where etd is not null;
create index shipments_cutoff_idx on app.shipments (org_id, next_cutoff_at, id) where next_cutoff_at is not null;
create index shipments_free_time_idx on app.shipments (org_id, free_time_ends_on, id) where free_time_ends_on is not null;
create index shipments_origin_idx on app.shipments (org_id, origin_port);
create index shipments_destination_idx on app.shipments (org_id, destination_port);
create index shipments_identifiers_idx on app.shipments using gin (identifiers);
create index shipments_customer_created_idx on app.shipments (org_id, customer_id, created_at desc, id desc);

-- Shipments of the acting organization carrying any of these canonical identifiers (the list's
-- reference search): the array operator is not leakproof, so under RLS it could not use its index.
create or replace function app.shipment_ids_by_identifier(ids text[])
returns table (id uuid)
language plpgsql stable security definer rows 3 set search_path = '' as $$
begin
  if not app.acting_ok() then
    return;
  end if;
  return query select s.id from app.shipments s where s.org_id = app.acting_org() and s.identifiers && ids;
end $$;
grant execute on function app.shipment_ids_by_identifier(text[]) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Identifiers on messages (documents later): the freight identifiers the text names, canonical
-- ---------------------------------------------------------------------------------------------
alter table app.messages add column identifiers text[] not null default '{}';
create index messages_identifiers_idx on app.messages using gin (identifiers);

-- Messages of the acting organization naming any of these identifiers, with their thread and the
-- first identifier matched (linking a new shipment, or one that gained a container, to what already
-- mentions it).
create or replace function app.messages_naming(ids text[])
returns table (id uuid, thread_id uuid, matched text)
language plpgsql stable security definer set search_path = '' as $$
begin
  if not app.acting_ok() then
    return;
  end if;
  return query
    select m.id, m.thread_id, (select x from unnest(m.identifiers) x where x = any(ids) limit 1)
    from app.messages m
    where m.org_id = app.acting_org() and m.identifiers && ids;
end $$;
grant execute on function app.messages_naming(text[]) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Milestones: the codes that were missing, the tracking source, who recorded one
-- ---------------------------------------------------------------------------------------------
alter table app.shipment_milestones drop constraint shipment_milestones_code_check;
alter table app.shipment_milestones add constraint shipment_milestones_code_check check (code in (
  'booking_confirmed', 'cargo_received', 'stuffing', 'gate_in', 'customs_cleared', 'loaded', 'departed', 'transshipment',
  'arrived', 'discharged', 'delivery_order', 'out_for_delivery', 'delivered', 'other',
  'empty_pickup', 'empty_returned', 'gate_out', 'received', 'manifested'));
alter table app.shipment_milestones drop constraint shipment_milestones_source_check;
alter table app.shipment_milestones add constraint shipment_milestones_source_check
  check (source in ('manual', 'email', 'carrier', 'ai', 'tracking'));
alter table app.shipment_milestones
  add column created_by uuid,
  -- A provider's event id (tracking): one milestone per event.
  add column external_id text;
alter table app.shipment_milestones add constraint shipment_milestones_id_unique unique (org_id, id);
create unique index shipment_milestones_external_idx on app.shipment_milestones (org_id, shipment_id, external_id) where external_id is not null;
create index shipment_milestones_timeline_idx on app.shipment_milestones (org_id, shipment_id, (coalesce(actual_at, planned_at, created_at)) desc, id desc);

-- Notes and messages of linked threads in the timeline come through the thread's own indexes; the
-- links of a shipment through thread_shipments_shipment_idx.

-- Queue the backfill of messages.identifiers (lib/shipments/backfill.ts) for every organization that
-- has messages: the job runner picks these up like any other job.
insert into app.outbox (org_id, name, payload, max_attempts)
select o.id, 'messages.identifiers.backfill', '{"after": null}'::jsonb, 5
from app.organizations o where exists (select 1 from app.messages m where m.org_id = o.id);
