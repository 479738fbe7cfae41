-- Members read broadcasts of the channel they joined, and only that one.
--
-- The read policy on realtime.messages checked that the session's realtime.topic is one the member
-- may subscribe to, never that the row's own topic is that topic: a member who set realtime.topic to
-- their own organization's topic read every organization's broadcasts and every user's
-- notifications. Supabase Realtime authorizes a join with probe rows carrying the channel's topic,
-- so requiring the row's topic to equal it keeps subscriptions working and closes the leak.
drop policy if exists "banxway members receive their topics" on realtime.messages;
create policy "banxway members receive their topics" on realtime.messages
  for select to authenticated
  using (
    realtime.messages.extension = 'broadcast'
    and realtime.messages.topic = (select realtime.topic())
    and app.may_subscribe((select realtime.topic()))
  );
