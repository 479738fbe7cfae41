-- The list's reference search finds a B/L, booking, PO, invoice or job reference however it is
-- written: stored numbers keep their dashes and slashes (`ABC-123`, `PO/4711`), and a search types
-- them with or without (lib/logistics/identifiers.ts searchForms gives both forms of what is typed), so
-- the identifiers also hold each number without dashes and slashes. The derived trigger is the one of
-- 20261206006000 with that addition.

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
    select distinct f from unnest(
      new.container_numbers || new.awb_numbers || new.hawb_numbers || new.bl_numbers || new.hbl_numbers
      || new.booking_numbers || new.po_numbers || new.invoice_numbers
      || array[upper(regexp_replace(new.reference, '\s', '', 'g'))]) x
    cross join lateral (values (x), (regexp_replace(x, '[-/]', '', 'g'))) v (f)
    where f <> '' order by f);
  return new;
end $$;

-- Existing rows: recomputed by the trigger, without counting as an edit (updated_at kept).
alter table app.shipments disable trigger shipments_updated_at;
update app.shipments set identifiers = identifiers;
alter table app.shipments enable trigger shipments_updated_at;
