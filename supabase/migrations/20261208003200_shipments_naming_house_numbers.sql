-- Mail that names a house B/L or a house air waybill links to its shipment (lib/logistics/links.ts):
-- app.shipments_naming matched only containers, AWBs, master B/Ls and bookings, so a message arriving
-- later about an HBL or HAWB linked nothing. The extractor reads both kinds as B/Ls and AWBs, so the
-- house numbers are matched with those; GIN indexes on the two columns keep the lookup indexed.

create index shipments_hawbs_idx on app.shipments using gin (hawb_numbers);
create index shipments_hbls_idx on app.shipments using gin (hbl_numbers);

create or replace function app.shipments_naming(containers text[], awbs text[], bls text[], bookings text[])
returns table (id uuid, matched text)
language plpgsql stable security definer rows 3 set search_path = '' as $$
begin
  if not app.acting_ok() then
    return;
  end if;
  return query
    select s.id, coalesce(
      (select c from unnest(s.container_numbers) c where c = any(containers) limit 1),
      (select a from unnest(s.awb_numbers) a where a = any(awbs) limit 1),
      (select a from unnest(s.hawb_numbers) a where a = any(awbs) limit 1),
      (select b from unnest(s.bl_numbers) b where b = any(bls) limit 1),
      (select b from unnest(s.hbl_numbers) b where b = any(bls) limit 1),
      (select k from unnest(s.booking_numbers) k where k = any(bookings) limit 1))
    from app.shipments s
    where s.org_id = app.acting_org()
      and (s.container_numbers && containers or s.awb_numbers && awbs or s.hawb_numbers && awbs
        or s.bl_numbers && bls or s.hbl_numbers && bls or s.booking_numbers && bookings);
end $$;
