-- The mail quarantine as owners and admins work it (GET/DELETE /api/admin/mail-quarantine/{id},
-- POST .../reprocess): how often a reprocess was tried and when, and how a row left the quarantine
-- (reprocessed into a message, or discarded, by whom). Rows stay as the record of what happened.
alter table app.mail_quarantine
  add column attempts integer not null default 0 check (attempts >= 0),
  add column last_attempt_at timestamptz,
  add column resolution text check (resolution in ('reprocessed', 'discarded')),
  add column resolved_by uuid,
  add column message_id uuid,
  add foreign key (org_id, message_id) references app.messages (org_id, id) on delete set null (message_id);
