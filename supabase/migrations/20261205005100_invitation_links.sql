-- Invitations by link. Each link carries a secret token: its SHA-256 is stored in
-- app.member_invitation_links to find it, and the open invitation keeps its current token sealed (AES-GCM,
-- lib/crypto/secrets.ts) so the job that mails the link can read it. Inviting again or resending makes
-- a new token (the old link is kept, marked replaced, so it answers "gone" rather than "unknown") and a
-- new expiry; an invitation lasts 7 days. The invitee accepts with their own access token: the account's email (as
-- Supabase Auth verified it) must be the invited one. Both ways in (by link, or from the list on
-- /api/me) join through app.join_by_invitation, so the membership rule is written once.

alter table app.member_invitations
  add column token_sealed jsonb,
  add column send_count integer not null default 0,
  add column sent_at timestamptz,
  add column delivery text check (delivery in ('supabase_invite', 'app_mail')),
  add column delivery_error text,
  add column accepted_by uuid;
alter table app.member_invitations alter column expires_at set default now() + interval '7 days';

create table app.member_invitation_links (
  token_hash text primary key check (token_hash ~ '^[0-9a-f]{64}$'),
  invitation_id uuid not null references app.member_invitations (id) on delete cascade,
  created_at timestamptz not null default now(),
  replaced_at timestamptz
);
create index member_invitation_links_invitation_idx on app.member_invitation_links (invitation_id);
alter table app.member_invitation_links enable row level security;
grant all on app.member_invitation_links to service_role;

-- The invitation's new current link; earlier ones are marked replaced.
create or replace function app.issue_invitation_link(invitation_id uuid, new_token_hash text) returns void
language sql security definer set search_path = '' as $$
  update app.member_invitation_links set replaced_at = now() where invitation_id = issue_invitation_link.invitation_id and replaced_at is null;
  insert into app.member_invitation_links (token_hash, invitation_id) values (new_token_hash, issue_invitation_link.invitation_id);
$$;
revoke all on function app.issue_invitation_link(uuid, text) from public;

drop function app.invite_member(text, text, text);

-- Invites (or re-invites) an email with a fresh token. Refuses an email that is already a member;
-- never says whether an account exists.
create or replace function app.invite_member(invitee_email text, new_role text, new_display_name text, new_token_hash text, new_token_sealed jsonb)
returns app.member_invitations language plpgsql security definer set search_path = '' as $$
declare
  inv app.member_invitations;
  address text := lower(trim(invitee_email));
begin
  perform app.assert_member_change(null, new_role);
  if exists (
    select 1 from app.members m join auth.users u on u.id = m.user_id
    where m.org_id = app.acting_org() and m.status = 'active' and lower(u.email) = address
  ) then
    raise exception 'that email already belongs to a member of this organization' using errcode = 'BX409';
  end if;
  insert into app.member_invitations (org_id, email, role, display_name, invited_by, token_sealed)
  values (app.acting_org(), address, new_role, coalesce(new_display_name, ''), auth.uid(), new_token_sealed)
  on conflict (org_id, email) where status = 'pending' do update
    set role = excluded.role, display_name = excluded.display_name, invited_by = excluded.invited_by,
        token_sealed = excluded.token_sealed, expires_at = now() + interval '7 days', created_at = now(), delivery_error = null
  returning * into inv;
  perform app.issue_invitation_link(inv.id, new_token_hash);
  return inv;
end $$;

-- Sends an open invitation again: a new token, a new 7 days.
create or replace function app.renew_invitation(invitation_id uuid, new_token_hash text, new_token_sealed jsonb)
returns app.member_invitations language plpgsql security definer set search_path = '' as $$
declare
  inv app.member_invitations;
begin
  select * into inv from app.member_invitations
  where id = invitation_id and org_id = app.acting_org() and status = 'pending' for update;
  if not found then
    return null;
  end if;
  perform app.assert_member_change(null, inv.role);
  update app.member_invitations set token_sealed = new_token_sealed, expires_at = now() + interval '7 days', delivery_error = null
  where id = inv.id returning * into inv;
  perform app.issue_invitation_link(inv.id, new_token_hash);
  return inv;
end $$;

-- Revoking also drops the sealed token: nothing will mail that link again.
create or replace function app.revoke_invitation(invitation_id uuid)
returns app.member_invitations language plpgsql security definer set search_path = '' as $$
declare
  inv app.member_invitations;
begin
  select * into inv from app.member_invitations
  where id = invitation_id and org_id = app.acting_org() and status = 'pending' for update;
  if not found then
    return null;
  end if;
  perform app.assert_member_change(inv.role, null);
  update app.member_invitations set status = 'revoked', responded_at = now(), token_sealed = null where id = inv.id returning * into inv;
  return inv;
end $$;

-- The one membership rule of an invitation: the signed-in account, whose email Supabase Auth confirmed,
-- must be the invited email; it becomes an active member with the invited role (a removed or disabled
-- member comes back with it). Internal: called by the two functions below, which find the invitation.
create or replace function app.join_by_invitation(inv app.member_invitations, accept boolean)
returns app.member_invitations language plpgsql security definer set search_path = '' as $$
declare
  uid uuid := auth.uid();
begin
  if accept then
    insert into app.members (org_id, user_id, role, display_name, email)
    values (inv.org_id, uid, inv.role, inv.display_name, inv.email)
    on conflict (org_id, user_id) do update set role = excluded.role, status = 'active',
      display_name = case when excluded.display_name = '' then app.members.display_name else excluded.display_name end;
  end if;
  update app.member_invitations
  set status = case when accept then 'accepted' else 'declined' end, responded_at = now(), accepted_by = case when accept then uid end,
    token_sealed = null
  where id = inv.id returning * into inv;
  return inv;
end $$;
revoke all on function app.join_by_invitation(app.member_invitations, boolean) from public;

-- The signed-in account's confirmed email (null when it has none, or the account is gone).
create or replace function app.my_confirmed_email() returns text
language sql stable security definer set search_path = '' as $$
  select lower(u.email) from auth.users u
  where u.id = auth.uid() and u.deleted_at is null and u.email_confirmed_at is not null
$$;

-- Accepts or declines one of the signed-in user's invitations, chosen from the list on /api/me.
create or replace function app.respond_to_invitation(invitation_id uuid, accept boolean)
returns app.member_invitations language plpgsql security definer set search_path = '' as $$
declare
  inv app.member_invitations;
  address text := app.my_confirmed_email();
begin
  select * into inv from app.member_invitations
  where id = invitation_id and status = 'pending' and expires_at > now() and email = address for update;
  if auth.uid() is null or address is null or not found then
    return null;
  end if;
  return app.join_by_invitation(inv, accept);
end $$;

-- The signed-in user's open invitations, matched on the confirmed email of their account (not on a token claim).
create or replace function app.my_invitations()
returns table (id uuid, org_id uuid, org_name text, role text, display_name text, created_at timestamptz, expires_at timestamptz)
language sql stable security definer set search_path = '' as $$
  select i.id, i.org_id, o.name, i.role, i.display_name, i.created_at, i.expires_at
  from app.member_invitations i
  join app.organizations o on o.id = i.org_id
  where i.status = 'pending' and i.expires_at > now() and i.email = app.my_confirmed_email()
  order by i.created_at desc
$$;

-- Accepts the invitation a link's token names. The outcome says why nothing happened: 'unknown' (no
-- such token), 'gone' (revoked, declined, already used, expired, or the link replaced by a newer one),
-- 'not_invitee' (the account's confirmed email is not the invited one).
create or replace function app.accept_invitation_link(link_token_hash text)
returns table (outcome text, invitation app.member_invitations)
language plpgsql security definer set search_path = '' as $$
declare
  inv app.member_invitations;
  link app.member_invitation_links;
  address text := app.my_confirmed_email();
begin
  select * into link from app.member_invitation_links where token_hash = link_token_hash;
  if not found then
    return query select 'unknown'::text, null::app.member_invitations;
    return;
  end if;
  select * into inv from app.member_invitations where id = link.invitation_id for update;
  if link.replaced_at is not null or inv.status <> 'pending' or inv.expires_at <= now() then
    return query select 'gone'::text, inv;
    return;
  end if;
  if auth.uid() is null or address is null or address <> inv.email then
    return query select 'not_invitee'::text, null::app.member_invitations;
    return;
  end if;
  return query select 'accepted'::text, app.join_by_invitation(inv, true);
end $$;

grant execute on function app.invite_member(text, text, text, text, jsonb), app.renew_invitation(uuid, text, jsonb),
  app.accept_invitation_link(text), app.my_confirmed_email() to authenticated, service_role;

-- The invitation.send job (the system actor) reads invitations and records how each mail went.
drop policy member_invitations_read on app.member_invitations;
create policy member_invitations_read on app.member_invitations for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin', 'system'));

create or replace function app.record_invitation_delivery(invitation_id uuid, how text, failure text)
returns app.member_invitations language plpgsql security definer set search_path = '' as $$
declare
  inv app.member_invitations;
begin
  if app.acting_role() is distinct from 'system' then
    raise exception 'only the system records invitation deliveries' using errcode = '42501';
  end if;
  update app.member_invitations set
    sent_at = case when failure is null then now() else sent_at end,
    send_count = send_count + case when failure is null then 1 else 0 end,
    delivery = coalesce(how, delivery),
    delivery_error = failure
  where id = invitation_id and org_id = app.acting_org() returning * into inv;
  return inv;
end $$;
grant execute on function app.record_invitation_delivery(uuid, text, text) to authenticated, service_role;
