-- Lookups by array membership that row-level security would turn into scans. The array operators
-- (&&, @>) are not leakproof, so under RLS PostgreSQL applies them only after the policy and cannot
-- use their GIN index: finding the thread of a reply by its In-Reply-To/References read every message
-- of the organization (a sequential scan that grows with the mailbox). These functions run the
-- lookup with the owner's rights, after the same access check the policies make, filtered to the
-- acting organization explicitly, so the index serves it.

-- Messages of the acting organization known by any of these ids (RFC Message-IDs, provider ids).
create or replace function app.messages_known_by(ids text[])
returns table (id uuid, thread_id uuid, direction text, occurred_at timestamptz)
-- A few rows (a message and its copies), not the default thousand: callers join it to threads by key.
language plpgsql stable security definer rows 3 set search_path = '' as $$
begin
  if not app.acting_ok() then
    return;
  end if;
  return query
    select m.id, m.thread_id, m.direction, m.occurred_at from app.messages m
    where m.org_id = app.acting_org() and m.external_ids && ids;
end $$;

-- Shipments of the acting organization carrying any of these identifiers, with the one matched.
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
      (select b from unnest(s.bl_numbers) b where b = any(bls) limit 1),
      (select k from unnest(s.booking_numbers) k where k = any(bookings) limit 1))
    from app.shipments s
    where s.org_id = app.acting_org()
      and (s.container_numbers && containers or s.awb_numbers && awbs or s.bl_numbers && bls or s.booking_numbers && bookings);
end $$;

grant execute on function app.messages_known_by(text[]), app.shipments_naming(text[], text[], text[], text[]) to authenticated, service_role;
