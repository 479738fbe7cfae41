-- Email ingest: messages that could not be parsed wait in quarantine (with their raw source and
-- error) instead of blocking their mailbox; the IMAP high-water mark only moves by compare-and-set.

create table app.mail_quarantine (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  channel_id uuid,
  folder text,
  uid bigint,
  raw_storage_path text,
  raw_size integer,
  error text not null,
  resolved_at timestamptz,
  created_at timestamptz not null default now(),
  foreign key (org_id, channel_id) references app.channels (org_id, id) on delete cascade
);
create unique index mail_quarantine_uid_idx on app.mail_quarantine (channel_id, folder, uid) where uid is not null;
create index mail_quarantine_org_idx on app.mail_quarantine (org_id, created_at desc) where resolved_at is null;

alter table app.mail_quarantine enable row level security;
create policy mail_quarantine_read on app.mail_quarantine for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'system'));
create policy mail_quarantine_write on app.mail_quarantine for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'system'))
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'system'));
grant select, insert, update on app.mail_quarantine to authenticated;
grant all on app.mail_quarantine to service_role;

-- Looking a message up by any id it is known by, per organization.
create index messages_rfc_id_idx on app.messages (org_id, rfc_message_id) where rfc_message_id is not null;
