-- Merging duplicate contacts and customers (POST /api/contacts/{id}/merge, POST /api/customers/{id}/merge:
-- lib/contacts/merge.ts, lib/customers/merge.ts). What pointed at a merged record moves to the one that
-- stays; the merged record stays as a soft-deleted row that points to it (`merged_into_*_id`), so an old
-- link still leads somewhere (GET answers 200 with the pointer) and the addresses and numbers the
-- survivor could not take (a contact holds one email, one phone, one WhatsApp number) still reach it:
-- inbound lookups follow the pointer (lib/contacts/identity.ts).
alter table app.contacts
  add column merged_into_contact_id uuid,
  add foreign key (org_id, merged_into_contact_id) references app.contacts (org_id, id),
  add constraint contacts_merged_deleted check (merged_into_contact_id is null or (deleted_at is not null and merged_into_contact_id <> id));
alter table app.customers
  add column merged_into_customer_id uuid,
  add foreign key (org_id, merged_into_customer_id) references app.customers (org_id, id),
  add constraint customers_merged_deleted check (merged_into_customer_id is null or (deleted_at is not null and merged_into_customer_id <> id));
-- Chains are kept one step long: a merge repoints the records merged into the one it retires.
create index contacts_merged_into_idx on app.contacts (org_id, merged_into_contact_id) where merged_into_contact_id is not null;
create index customers_merged_into_idx on app.customers (org_id, merged_into_customer_id) where merged_into_customer_id is not null;
-- The identities merged contacts kept, looked up when no live contact holds an address or number.
create index contacts_merged_email_idx on app.contacts (org_id, email) where email is not null and merged_into_contact_id is not null;
create index contacts_merged_phone_idx on app.contacts (org_id, phone) where phone is not null and merged_into_contact_id is not null;
create index contacts_merged_whatsapp_idx on app.contacts (org_id, whatsapp) where whatsapp is not null and merged_into_contact_id is not null;

-- A write racing a merge lands on the survivor: a thread, contact or shipment written with a merged
-- customer or contact (read before the merge committed) takes the one it was merged into. The key-share
-- lock is the one the foreign key takes anyway, taken first: the write waits for the merge, then reads
-- the record as the merge left it. An update that leaves the column as it was takes no lock.
create or replace function app.follow_merged_customer() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  target uuid;
begin
  if new.customer_id is null or (tg_op = 'UPDATE' and new.customer_id is not distinct from old.customer_id) then
    return new;
  end if;
  select c.merged_into_customer_id into target from app.customers c where c.id = new.customer_id for key share;
  if target is not null then
    new.customer_id := target;
  end if;
  return new;
end $$;

create or replace function app.follow_merged_contact() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  target uuid;
begin
  if new.contact_id is null or (tg_op = 'UPDATE' and new.contact_id is not distinct from old.contact_id) then
    return new;
  end if;
  select k.merged_into_contact_id into target from app.contacts k where k.id = new.contact_id for key share;
  if target is not null then
    new.contact_id := target;
  end if;
  return new;
end $$;
revoke all on function app.follow_merged_customer(), app.follow_merged_contact() from public;

create trigger threads_follow_merged_customer before insert or update of customer_id on app.threads
  for each row execute function app.follow_merged_customer();
create trigger threads_follow_merged_contact before insert or update of contact_id on app.threads
  for each row execute function app.follow_merged_contact();
create trigger contacts_follow_merged_customer before insert or update of customer_id on app.contacts
  for each row execute function app.follow_merged_customer();
create trigger shipments_follow_merged_customer before insert or update of customer_id on app.shipments
  for each row execute function app.follow_merged_customer();

-- A thread merged into another is not edited (20261205004000_thread_regroup), except that it follows the
-- merges of its parties: its customer or contact may become the one its customer or contact was merged
-- into, and nothing else.
drop trigger threads_refuse_merged_edit on app.threads;
create trigger threads_refuse_merged_edit
  before update of status, subject, priority, tags, snoozed_until on app.threads
  for each row when (old.merged_into_thread_id is not null) execute function app.refuse_merged_thread_edit();

create or replace function app.refuse_merged_thread_party_edit() returns trigger
language plpgsql set search_path = '' as $$
begin
  if (new.customer_id is distinct from old.customer_id
      and (old.customer_id is null
        or new.customer_id is distinct from (select c.merged_into_customer_id from app.customers c where c.id = old.customer_id)))
    or (new.contact_id is distinct from old.contact_id
      and (old.contact_id is null
        or new.contact_id is distinct from (select k.merged_into_contact_id from app.contacts k where k.id = old.contact_id))) then
    raise exception 'thread % was merged into thread %', old.id, old.merged_into_thread_id using errcode = 'BX409';
  end if;
  return new;
end $$;

create trigger threads_refuse_merged_party_edit
  before update of customer_id, contact_id on app.threads
  for each row when (old.merged_into_thread_id is not null) execute function app.refuse_merged_thread_party_edit();
