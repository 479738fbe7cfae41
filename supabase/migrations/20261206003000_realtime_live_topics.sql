-- Presence and typing on writable "live" topics, separate from the read-only topics of server events.
--
-- Supabase Realtime authorizes a channel with probe rows in realtime.messages that carry only the
-- topic and the extension (`broadcast` or `presence`), when a client joins and when it sends a new
-- access token: never per message, never with the event name. A topic a client may INSERT on is a
-- topic on which it may send anything. So server events stay on `org:{orgId}`,
-- `org:{orgId}:thread:{threadId}` and `user:{userId}` (SELECT policies only), and members talk on
-- their own topics:
--   org:{orgId}:live                      who is online in the organization
--   org:{orgId}:thread:{threadId}:live    who views, types or composes on one thread
-- Every active member may read both extensions there and track presence; broadcasting (the
-- `typing` event) is for members who work threads, so a viewer is present but never types.

-- Which organization (and thread) a live topic names; null for anything else.
create or replace function app.live_topic_parts(topic text, out org_id uuid, out thread_id uuid)
language plpgsql immutable set search_path = '' as $$
declare
  m text[];
begin
  m := pg_catalog.regexp_match(topic,
    '^org:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?::thread:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))?:live$');
  if m is null then
    return;
  end if;
  org_id := m[1]::uuid;
  thread_id := m[2]::uuid;
end $$;

-- May the caller use this live topic for this extension? Reading (`write` false): any active member
-- of the organization. Writing: presence for any active member, broadcast for every role but viewer.
-- A thread topic also needs the thread to belong to that organization.
create or replace function app.may_use_live(topic text, extension text, write boolean)
returns boolean language plpgsql stable security definer set search_path = '' as $$
declare
  parts record;
  uid uuid := auth.uid();
  member_role text;
begin
  if uid is null or extension not in ('broadcast', 'presence') then
    return false;
  end if;
  select * into parts from app.live_topic_parts(topic);
  if parts.org_id is null then
    return false;
  end if;
  select m.role into member_role from app.members m
   where m.org_id = parts.org_id and m.user_id = uid and m.status = 'active';
  if member_role is null then
    return false;
  end if;
  if write and extension = 'broadcast' and member_role = 'viewer' then
    return false;
  end if;
  if parts.thread_id is not null
     and not exists (select 1 from app.threads t where t.id = parts.thread_id and t.org_id = parts.org_id) then
    return false;
  end if;
  return true;
end $$;

revoke all on function app.may_use_live(text, text, boolean) from public;
grant execute on function app.may_use_live(text, text, boolean) to authenticated;
grant execute on function app.live_topic_parts(text) to authenticated;

-- Presence on live topics (broadcast reads there are already covered by "banxway members receive
-- their topics", which admits every topic of the member's organizations).
drop policy if exists "banxway members see presence on live topics" on realtime.messages;
create policy "banxway members see presence on live topics" on realtime.messages
  for select to authenticated
  using (
    realtime.messages.extension = 'presence'
    and realtime.messages.topic = (select realtime.topic())
    and app.may_use_live(realtime.messages.topic, realtime.messages.extension, false)
  );

-- The only INSERT policy: members write (track presence, broadcast typing) on live topics only.
drop policy if exists "banxway members talk on live topics" on realtime.messages;
create policy "banxway members talk on live topics" on realtime.messages
  for insert to authenticated
  with check (
    realtime.messages.extension in ('broadcast', 'presence')
    and realtime.messages.topic = (select realtime.topic())
    and app.may_use_live(realtime.messages.topic, realtime.messages.extension, true)
  );
