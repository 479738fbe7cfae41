-- A member's own profile in an organization (job title, email signature, time zone) and availability
-- (available, busy or away, until when, with an out-of-office note); the organization's email
-- signature, appended to outgoing mail; and a role for each team membership (lead or member).

alter table app.members
  add column job_title text check (job_title is null or length(job_title) <= 200),
  -- Sanitised HTML (the API sanitises before storing).
  add column signature_html text check (signature_html is null or length(signature_html) <= 20000),
  add column timezone text check (timezone is null or length(timezone) <= 64),
  add column availability text not null default 'available' check (availability in ('available', 'busy', 'away')),
  -- After this instant the member counts as available again (lib/org/availability.ts decides).
  add column availability_until timestamptz,
  add column availability_note text check (availability_note is null or length(availability_note) <= 500);

-- Members edit their own profile directly, every role (viewers too), and only these columns: role
-- and status stay with app.update_member (members.manage).
grant update (display_name, phone, job_title, signature_html, timezone, availability, availability_until, availability_note)
  on app.members to authenticated;
create policy members_update_own on app.members for update to authenticated
  using (org_id = (select app.acting_org()) and user_id = auth.uid() and (select app.acting_ok()))
  with check (org_id = (select app.acting_org()) and user_id = auth.uid());

alter table app.organizations
  add column email_signature_html text check (email_signature_html is null or length(email_signature_html) <= 20000);
grant update (email_signature_html) on app.organizations to authenticated;

alter table app.team_members add column role text not null default 'member' check (role in ('lead', 'member'));
