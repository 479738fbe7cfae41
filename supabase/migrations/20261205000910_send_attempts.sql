-- Provider sends are recorded before each call (committed), so a retry after a crash reconciles
-- instead of sending twice; and a person may put a failed outbound message back in the queue.

-- ---------------------------------------------------------------------------------------------
-- Send attempts
-- ---------------------------------------------------------------------------------------------
-- One row per call to a provider for an outbound message, written and committed before the call.
-- state: calling (sent or about to be: the outcome is unknown until the answer is recorded), accepted
-- (the provider took it; its id), refused (the provider answered that it will not send it), failed (a
-- temporary error answer), unreached (no connection was made), abandoned (a person chose to send
-- again although the outcome of this call was never learnt).
create table app.send_attempts (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  message_id uuid not null,
  provider text not null check (provider in ('resend', 'exotel', 'local')),
  -- Resend's Idempotency-Key; Exotel's custom_data / CustomField.
  idempotency_key text not null check (length(idempotency_key) between 1 and 256),
  state text not null default 'calling'
    check (state in ('calling', 'accepted', 'refused', 'failed', 'unreached', 'abandoned')),
  provider_message_id text,
  error text,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  foreign key (org_id, message_id) references app.messages (org_id, id) on delete cascade
);
create index send_attempts_message_idx on app.send_attempts (org_id, message_id, started_at desc);

alter table app.send_attempts enable row level security;
create policy send_attempts_read on app.send_attempts for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
-- Jobs record attempts; owners and admins abandon an unknown one when they retry a dead send.
create policy send_attempts_write on app.send_attempts for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('system', 'owner', 'admin'))
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) in ('system', 'owner', 'admin'));
grant select, insert, update on app.send_attempts to authenticated;
grant all on app.send_attempts to service_role;

-- ---------------------------------------------------------------------------------------------
-- Requeueing a failed message
-- ---------------------------------------------------------------------------------------------
-- A status still never moves backwards, with one deliberate exception: a failed outbound message goes
-- back to queued when the transaction names it in app.requeue_message (the retry of a dead send job).
create or replace function app.messages_status_guard() returns trigger
language plpgsql set search_path = '' as $$
declare
  same_family boolean := case
    when new.kind = 'call' then new.status in ('ringing', 'in_progress', 'completed', 'busy', 'no_answer', 'failed')
    when new.direction = 'inbound' then new.status = 'received'
    else new.status in ('draft', 'queued', 'sent', 'delivered', 'read', 'failed', 'bounced') end;
begin
  -- A status from another family (a call status on an email) is left to the check constraint.
  if new.status is distinct from old.status and same_family then
    if old.status = 'failed' and new.status = 'queued' and new.kind = 'message' and new.direction = 'outbound'
       and current_setting('app.requeue_message', true) = new.id::text then
      new.status_changed_at := now();
    elsif app.message_status_rank(new.status) < app.message_status_rank(old.status)
       or (app.message_status_rank(new.status) = app.message_status_rank(old.status) and old.status <> 'draft')
       or (old.status = 'read' and new.status in ('failed', 'bounced')) then
      -- Ignore the status (and its timestamp) but keep any other change in the same update.
      new.status := old.status;
      new.status_changed_at := old.status_changed_at;
    else
      new.status_changed_at := now();
    end if;
  end if;
  return new;
end $$;
