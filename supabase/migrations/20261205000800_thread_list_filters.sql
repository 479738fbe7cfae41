-- The inbox list's tag and subject filters under row-level security. `tags @> ...` and
-- `subject ilike ...` are not leakproof, so under RLS PostgreSQL applies them only after the policy,
-- can never use their GIN indexes (threads_tags_idx, threads_subject_trgm_idx) and may not even read
-- the column statistics to estimate them: a tag few threads carry read every thread of the
-- organization (100,000 threads: 100,000 buffers, a quarter of a second), and so did a search.

-- Tags, one row each, kept from threads.tags by a trigger: `tag = ...` is leakproof, so the list's
-- tag filter (an EXISTS per tag) is planned from the tag's real frequency under RLS too, and served
-- by an index scoped to the organization, from the tag for a rare one, or by walking the inbox in
-- order and probing for a common one.
create table app.thread_tags (
  org_id uuid not null,
  thread_id uuid not null,
  tag text not null,
  primary key (thread_id, tag),
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade
);
create index thread_tags_tag_idx on app.thread_tags (org_id, tag, thread_id);

alter table app.thread_tags enable row level security;
create policy thread_tags_read on app.thread_tags for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
-- Written only by the trigger below (as the owner): members change tags on the thread.
grant select on app.thread_tags to authenticated;
grant all on app.thread_tags to service_role;

create or replace function app.thread_tags_sync() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'UPDATE' then
    if new.tags is not distinct from old.tags then
      return null;
    end if;
    delete from app.thread_tags g where g.thread_id = new.id and g.tag <> all (new.tags);
  end if;
  insert into app.thread_tags (org_id, thread_id, tag)
    select new.org_id, new.id, x from unnest(new.tags) x
    on conflict do nothing;
  return null;
end $$;
revoke all on function app.thread_tags_sync() from public;

create trigger threads_tags_sync after insert or update of tags on app.threads
  for each row execute function app.thread_tags_sync();

insert into app.thread_tags (org_id, thread_id, tag)
  select distinct t.org_id, t.id, x from app.threads t cross join lateral unnest(t.tags) x
  on conflict do nothing;
analyze app.thread_tags;

-- Subject search: which threads of the acting organization have a subject matching an ILIKE pattern,
-- found with the owner's rights (after the same access check the policies make, filtered to the
-- acting organization explicitly). listThreads (lib/threads/service.ts) then
-- - walks the inbox in order when this answers NULL: the word is common among the organization's
--   500 latest threads (1 % or more), so the walk meets a match every hundred threads or sooner;
-- - else reads the page among the ids returned, found through the trigram index, at most `cap` of
--   them: a rare word costs the index little (its work grows with the matches, of every organization);
-- - or walks in order when there are more than `cap` (common, though not lately).
-- It only narrows: the list statement applies the same filter again, under RLS.
create or replace function app.thread_ids_by_subject(subject_pattern text, cap int)
returns uuid[]
language plpgsql stable security definer
set search_path = '' set plan_cache_mode = force_custom_plan set enable_seqscan = off set enable_indexscan = on as $$
declare
  org uuid := app.acting_org();
  recent int;
begin
  if not app.acting_ok() then
    return '{}';
  end if;
  select count(*) into recent from (
    select t.subject from app.threads t where t.org_id = org
    order by t.last_activity_at desc, t.id desc limit 500) latest
  where latest.subject operator(pg_catalog.~~*) subject_pattern;
  if recent >= 5 then
    return null;
  end if;
  -- Bitmap scans only: an index scan stopping at the cap is quick for a common word and reads the
  -- whole organization for a rare one; a bitmap reads the trigram index, or for a small organization
  -- its own rows (planned for the organization at hand: plan_cache_mode above).
  perform pg_catalog.set_config('enable_indexscan', 'off', true);
  return array(
    select t.id from app.threads t
    where t.org_id = org and t.subject operator(pg_catalog.~~*) subject_pattern
    limit cap);
end $$;
revoke all on function app.thread_ids_by_subject(text, int) from public;
grant execute on function app.thread_ids_by_subject(text, int) to authenticated, service_role;
