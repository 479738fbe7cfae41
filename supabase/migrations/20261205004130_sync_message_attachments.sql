-- A message as the lists show it carries its attachments (lib/messages/service.ts), so a change to
-- them is a change to the message for a sync (lib/sync.ts): an attachment added to or taken off a
-- draft, or one whose status or metadata changes, touches the message it belongs (or belonged) to,
-- which stamps its updated_at and change_xid. One statement per statement, whatever the row count.
create or replace function app.sync_touch_messages() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'INSERT' then
    update app.messages m set updated_at = now() where m.id in (select n.message_id from new_attachments n where n.message_id is not null);
  elsif tg_op = 'DELETE' then
    update app.messages m set updated_at = now() where m.id in (select o.message_id from old_attachments o where o.message_id is not null);
  else
    update app.messages m set updated_at = now() where m.id in (
      select o.message_id from old_attachments o where o.message_id is not null
      union
      select n.message_id from new_attachments n where n.message_id is not null);
  end if;
  return null;
end $$;
revoke all on function app.sync_touch_messages() from public;

create trigger attachments_sync_insert after insert on app.attachments
  referencing new table as new_attachments for each statement execute function app.sync_touch_messages();
create trigger attachments_sync_update after update on app.attachments
  referencing old table as old_attachments new table as new_attachments for each statement execute function app.sync_touch_messages();
create trigger attachments_sync_delete after delete on app.attachments
  referencing old table as old_attachments for each statement execute function app.sync_touch_messages();
