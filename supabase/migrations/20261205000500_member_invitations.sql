-- Members join by consent, and owners are changed only by owners.
--
-- Adding a member used to make any existing user (another organization's owner, say) an active member
-- at once, and answered differently when the email had no account, which told an admin who has one.
-- Now an owner or admin invites an email; the invitation waits (14 days) until a signed-in user whose
-- account has that email accepts or declines it, and the answer to the admin is the same either way.
-- Only owners invite owners.
--
-- An admin could also rename an owner or change the phone click-to-call rings first: an owner's
-- profile is now changed by owners or by that owner only.

create table app.member_invitations (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  email text not null check (email = lower(email) and length(email) between 3 and 320),
  role text not null check (role in ('owner', 'admin', 'manager', 'agent', 'viewer')),
  display_name text not null default '',
  invited_by uuid,
  status text not null default 'pending' check (status in ('pending', 'accepted', 'declined', 'revoked')),
  expires_at timestamptz not null default now() + interval '14 days',
  responded_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- One open invitation per email and organization; inviting again renews it.
create unique index member_invitations_open_idx on app.member_invitations (org_id, email) where status = 'pending';
create index member_invitations_email_idx on app.member_invitations (email) where status = 'pending';
create trigger member_invitations_updated_at before update on app.member_invitations for each row execute function app.updated_at_trigger();

alter table app.member_invitations enable row level security;
create policy member_invitations_read on app.member_invitations for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin'));
grant select on app.member_invitations to authenticated;
grant all on app.member_invitations to service_role;

-- Invites (or re-invites) an email. Refuses an email that is already a member; never says whether an
-- account exists.
create or replace function app.invite_member(invitee_email text, new_role text, new_display_name text)
returns app.member_invitations language plpgsql security definer set search_path = '' as $$
declare
  inv app.member_invitations;
  address text := lower(trim(invitee_email));
begin
  perform app.assert_member_change(null, new_role);
  if exists (
    select 1 from app.members m join auth.users u on u.id = m.user_id
    where m.org_id = app.acting_org() and lower(u.email) = address
  ) then
    raise exception 'that email already belongs to a member of this organization' using errcode = 'BX409';
  end if;
  insert into app.member_invitations (org_id, email, role, display_name, invited_by)
  values (app.acting_org(), address, new_role, coalesce(new_display_name, ''), auth.uid())
  on conflict (org_id, email) where status = 'pending' do update
    set role = excluded.role, display_name = excluded.display_name, invited_by = excluded.invited_by,
        expires_at = now() + interval '14 days', created_at = now()
  returning * into inv;
  return inv;
end $$;

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
  update app.member_invitations set status = 'revoked', responded_at = now() where id = inv.id returning * into inv;
  return inv;
end $$;

-- The signed-in user's open invitations, matched on the email of their account (not on a token claim).
create or replace function app.my_invitations()
returns table (id uuid, org_id uuid, org_name text, role text, display_name text, created_at timestamptz, expires_at timestamptz)
language sql stable security definer set search_path = '' as $$
  select i.id, i.org_id, o.name, i.role, i.display_name, i.created_at, i.expires_at
  from app.member_invitations i
  join app.organizations o on o.id = i.org_id
  join auth.users u on u.id = auth.uid() and u.deleted_at is null and lower(u.email) = i.email
  where i.status = 'pending' and i.expires_at > now()
  order by i.created_at desc
$$;

-- Accepts or declines one of the signed-in user's invitations. Accepting makes them an active member
-- with the invited role (a removed or disabled member comes back with it).
create or replace function app.respond_to_invitation(invitation_id uuid, accept boolean)
returns app.member_invitations language plpgsql security definer set search_path = '' as $$
declare
  inv app.member_invitations;
  uid uuid := auth.uid();
  address text;
begin
  select lower(u.email) into address from auth.users u where u.id = uid and u.deleted_at is null;
  select * into inv from app.member_invitations
  where id = invitation_id and status = 'pending' and expires_at > now() and email = address for update;
  if uid is null or address is null or not found then
    return null;
  end if;
  if accept then
    insert into app.members (org_id, user_id, role, display_name, email)
    values (inv.org_id, uid, inv.role, inv.display_name, address)
    on conflict (org_id, user_id) do update set role = excluded.role, status = 'active',
      display_name = case when excluded.display_name = '' then app.members.display_name else excluded.display_name end;
  end if;
  update app.member_invitations set status = case when accept then 'accepted' else 'declined' end, responded_at = now()
  where id = inv.id returning * into inv;
  return inv;
end $$;

grant execute on function app.invite_member(text, text, text), app.revoke_invitation(uuid), app.my_invitations(),
  app.respond_to_invitation(uuid, boolean) to authenticated, service_role;

-- Adding an existing user directly is gone: invitations replace it.
drop function if exists app.add_member(uuid, text, text, text);
drop function if exists app.find_user_id(text);

create or replace function app.update_member(member_id uuid, new_role text, new_status text, new_display_name text, new_phone text)
returns app.members language plpgsql security definer set search_path = '' as $$
declare
  m app.members;
begin
  select * into m from app.members where id = member_id and org_id = app.acting_org() for update;
  if not found then
    return null;
  end if;
  if m.role = 'owner' and m.user_id is distinct from auth.uid() and app.acting_role() is distinct from 'owner' then
    raise exception 'only owners change an owner' using errcode = '42501';
  end if;
  if new_role is not null or new_status is not null then
    perform app.assert_member_change(m.role, new_role);
    if m.role = 'owner' and (coalesce(new_role, 'owner') <> 'owner' or coalesce(new_status, 'active') <> 'active') then
      perform app.assert_not_last_owner(m.org_id, m.user_id);
    end if;
  elsif m.user_id <> auth.uid() and app.acting_role() not in ('owner', 'admin') then
    raise exception 'members edit only their own profile' using errcode = '42501';
  end if;
  update app.members set role = coalesce(new_role, role), status = coalesce(new_status, status),
    display_name = coalesce(new_display_name, display_name), phone = coalesce(new_phone, phone)
  where id = member_id returning * into m;
  return m;
end $$;

-- The organizations the signed-in user can act for (GET /api/me runs with no acting organization).
create or replace function app.my_organizations()
returns table (id uuid, name text, slug text, role text, display_name text)
language sql stable security definer set search_path = '' as $$
  select o.id, o.name, o.slug, m.role, m.display_name
  from app.members m join app.organizations o on o.id = m.org_id
  where m.user_id = auth.uid() and m.status = 'active'
  order by o.name
$$;
grant execute on function app.my_organizations() to authenticated, service_role;
