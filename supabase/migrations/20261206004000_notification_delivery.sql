-- Notifications a member can list, read and be mailed about (lib/notifications).
--
-- Each notification may wait to be mailed (email_state `pending` from email_due_at on): the
-- `notification.email` job cancels it when the member read it or opened its thread since, holds it
-- through their quiet hours and digest rhythm, and mails every pending one of the member in one
-- message (`sending` under the job's id while the mail is on its way, then `sent`). Preferences per
-- type stay in app.notification_preferences (in_app / email booleans: off, in_app, email); quiet
-- hours and the digest rhythm are per member in app.notification_settings.

alter table app.notifications drop constraint notifications_type_check;
alter table app.notifications add constraint notifications_type_check check (type in (
  'mention', 'assignment', 'inbound_message', 'sla_warning', 'sla_breach', 'action_due', 'action_overdue',
  'missed_call', 'automation', 'system'));

alter table app.notifications
  add column email_state text check (email_state in ('pending', 'sending', 'sent', 'cancelled', 'failed')),
  add column email_due_at timestamptz,
  add column email_batch uuid,
  add column emailed_at timestamptz;

-- The member's list, newest first (all, or unread only), with a stable order for the cursor.
drop index app.notifications_user_idx;
drop index app.notifications_unread_idx;
create index notifications_user_idx on app.notifications (org_id, user_id, created_at desc, id desc);
create index notifications_unread_idx on app.notifications (org_id, user_id, created_at desc, id desc) where read_at is null;
-- What the email job picks up for one member.
create index notifications_email_idx on app.notifications (org_id, user_id, email_due_at) where email_state in ('pending', 'sending');

-- The email job (system) moves a notification through its mail states; a member marks their own read
-- (and so cancels its mail).
create policy notifications_system_update on app.notifications for update to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) = 'system')
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) = 'system');
grant update (email_state, email_due_at, email_batch, emailed_at) on app.notifications to authenticated;

create table app.notification_settings (
  org_id uuid not null references app.organizations (id) on delete cascade,
  user_id uuid not null,
  -- Quiet hours, wall-clock times in time_zone (an end before the start spans midnight); none when null.
  quiet_start time,
  quiet_end time,
  time_zone text check (time_zone is null or length(time_zone) between 1 and 64),
  digest text not null default 'immediate' check (digest in ('immediate', 'hourly', 'daily')),
  updated_at timestamptz not null default now(),
  primary key (org_id, user_id),
  foreign key (org_id, user_id) references app.members (org_id, user_id) on delete cascade,
  check ((quiet_start is null) = (quiet_end is null))
);
create trigger notification_settings_updated_at before update on app.notification_settings for each row execute function app.updated_at_trigger();

-- Each member keeps their own; the system (the email job, the one-click unsubscribe) acts for them.
alter table app.notification_settings enable row level security;
create policy notification_settings_own on app.notification_settings for all to authenticated
  using (org_id = (select app.acting_org()) and (user_id = auth.uid() or (select app.acting_role()) = 'system') and (select app.acting_ok()))
  with check (org_id = (select app.acting_org()) and (user_id = auth.uid() or (select app.acting_role()) = 'system') and (select app.acting_ok()));
grant select, insert, update, delete on app.notification_settings to authenticated;
grant all on app.notification_settings to service_role;

drop policy notification_preferences_own on app.notification_preferences;
create policy notification_preferences_own on app.notification_preferences for all to authenticated
  using (org_id = (select app.acting_org()) and (user_id = auth.uid() or (select app.acting_role()) = 'system') and (select app.acting_ok()))
  with check (org_id = (select app.acting_org()) and (user_id = auth.uid() or (select app.acting_role()) = 'system') and (select app.acting_ok()));

-- Whoever notifies (a teammate's mention, an assignment) learns only how each recipient wants this
-- type delivered, never the rest of their preferences: null columns where the member set nothing.
create function app.notification_choices(recipients uuid[], notification_type text)
returns table (user_id uuid, in_app boolean, email boolean)
language sql stable security definer set search_path = '' as $$
  select r.id, p.in_app, p.email
  from unnest(recipients) r(id)
  left join app.notification_preferences p on p.org_id = app.acting_org() and p.user_id = r.id and p.type = notification_type
  where app.acting_ok() and app.acting_org() is not null
$$;
revoke all on function app.notification_choices(uuid[], text) from public;
grant execute on function app.notification_choices(uuid[], text) to authenticated, service_role;
