-- A call's status may be corrected by a later callback: Exotel reports an incoming call several times
-- (Passthru while the caller is in the IVR, again after the connect applet, the status callback at the
-- end), in any order. A call that was answered (completed) outranks one that was not (busy, no_answer,
-- failed): evidence of a conversation wins whichever callback arrived first. Among the unanswered
-- endings the first one stays, and nothing moves a call back to ringing or in progress.
create or replace function app.call_status_rank(status text) returns integer
language sql immutable set search_path = '' as $$
  select case status
    when 'ringing' then 0 when 'in_progress' then 1
    when 'busy' then 2 when 'no_answer' then 2 when 'failed' then 2
    when 'completed' then 3
  end
$$;

create or replace function app.messages_status_guard() returns trigger
language plpgsql set search_path = '' as $$
declare
  same_family boolean := case
    when new.kind = 'call' then new.status in ('ringing', 'in_progress', 'completed', 'busy', 'no_answer', 'failed')
    when new.direction = 'inbound' then new.status = 'received'
    else new.status in ('draft', 'queued', 'sent', 'delivered', 'read', 'failed', 'bounced') end;
  new_rank integer := case when new.kind = 'call' then app.call_status_rank(new.status) else app.message_status_rank(new.status) end;
  old_rank integer := case when new.kind = 'call' then app.call_status_rank(old.status) else app.message_status_rank(old.status) end;
begin
  -- A status from another family (a call status on an email) is left to the check constraint.
  if new.status is distinct from old.status and same_family then
    if old.status = 'failed' and new.status = 'queued' and new.kind = 'message' and new.direction = 'outbound'
       and current_setting('app.requeue_message', true) = new.id::text then
      new.status_changed_at := now();
    elsif new_rank < old_rank
       or (new_rank = old_rank and old.status <> 'draft')
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
