-- Catching up after a reconnect on the contact and customer lists (`updatedSince`, lib/sync.ts), as
-- 20261205004110_sync_changes does for threads: each row records the transaction that last wrote it.
-- Both are soft-deleted, so a deleted row is its own tombstone (no trigger writes app.sync_tombstones).
alter table app.contacts add column change_xid xid8;
alter table app.customers add column change_xid xid8;
alter table app.contacts alter column change_xid set default pg_catalog.pg_current_xact_id();
alter table app.customers alter column change_xid set default pg_catalog.pg_current_xact_id();
create trigger contacts_change_xid before update on app.contacts for each row execute function app.change_xid_stamp();
create trigger customers_change_xid before update on app.customers for each row execute function app.change_xid_stamp();
create index contacts_sync_time_idx on app.contacts (org_id, updated_at, id);
create index contacts_sync_xid_idx on app.contacts (org_id, change_xid, id);
create index customers_sync_time_idx on app.customers (org_id, updated_at, id);
create index customers_sync_xid_idx on app.customers (org_id, change_xid, id);
