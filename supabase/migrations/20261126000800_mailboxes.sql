-- Mailbox polling. A message whose ingest keeps failing is retried on a few polls and then quarantined,
-- so one bad message never blocks its folder (failing_uid / failing_count). Quarantined UIDs are only
-- unique within their UIDVALIDITY: after the server renumbers a folder, UID 1 is another message.

alter table app.mailbox_folders
  add column failing_uid bigint,
  add column failing_count integer not null default 0 check (failing_count >= 0);

alter table app.mail_quarantine add column uid_validity bigint;
drop index app.mail_quarantine_uid_idx;
create unique index mail_quarantine_uid_idx on app.mail_quarantine (channel_id, folder, uid_validity, uid) where uid is not null;

-- The minute cron looks for every active mailbox across organizations.
create index channels_kind_status_idx on app.channels (kind, status);
