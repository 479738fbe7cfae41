-- Search (issue 21): a page of results in one statement whose plans the session keeps.
--
-- A search used to send two statements, each parsed and planned anew on every request (without
-- prepared statements, as behind Supavisor's transaction pooler): the hits grouped into threads and
-- the page's threads, then the highlighting of the page's hits. On the bench set planning was a fifth
-- of a rare word's database time. app.search_page does both inside PL/pgSQL, whose statements keep
-- their generic plans for the session (the message statement of app.search_hits is still planned for
-- the words in hand); the caller's statement only reads the page's threads.
--
-- A message matched by its words and by an identifier is one hit (its best rank): app.search_hits
-- now says so itself, for every caller.

create or replace function app.search_hits_sql(has_text boolean, has_ids boolean, types text[]) returns text
language plpgsql immutable parallel safe set search_path = '' as $fn$
declare
  branch constant text := $b$(select m.thread_id, 'message'::text as kind, m.id as hit_id, m.occurred_at as at, %s as rank
     from app.messages m
     where m.org_id = $1 and %s
       and ($8 is null or m.occurred_at >= $8) and ($9 is null or m.occurred_at < $9)
       and (select app.search_thread_ok(t.merged_into_thread_id, t.status, t.channel, t.customer_id, $6, $5, $7)
            from app.threads t where t.org_id = $1 and t.id = m.thread_id)
     order by m.occurred_at desc limit $10)$b$;
  branches text[] := '{}';
begin
  if types is not null and not 'message' = any(types) then
    return null;
  end if;
  if has_text then
    branches := branches || format(branch, 'pg_catalog.ts_rank(m.search_vector, $2)', 'm.search_vector @@ $2');
  end if;
  if has_ids then
    branches := branches || format(branch, '1::real', 'm.identifiers && $3');
  end if;
  if cardinality(branches) = 0 then
    return null;
  elsif cardinality(branches) = 1 then
    return branches[1];
  end if;
  return 'select h.thread_id, h.kind, h.hit_id, max(h.at), max(h.rank) from (' || array_to_string(branches, E'\n    union all\n    ')
    || ') h group by h.thread_id, h.kind, h.hit_id';
end $fn$;

-- A hit as a page lists it.
create type app.search_hit as (kind text, id uuid, at timestamptz);

-- One page (page_size threads) of the threads with hits among the latest `cap` matches of each kind
-- (app.search_hits), the best first (by_rank: rank, then the latest match) or the latest match first,
-- after the cursor (after_rank, after_at, after_id: the last row of the previous page), and the next
-- thread if there is one (its hits null: only the page is highlighted). Each thread has its best
-- `hits_per_thread` hits, each hit its text highlighted (ts_headline, the matches between the
-- private-use characters U+E000 and U+E001, which the caller turns into <mark> once it has escaped the
-- rest) and the query's identifiers it carries; and the thread's row, its customer's name and the
-- caller's last read time (a list item shows them: lib/threads/service.ts threadItemColumns).
create or replace function app.search_page(query tsquery, ids text[], types text[], channels text[], statuses text[],
  customer uuid, since timestamptz, until timestamptz, cap int, by_rank boolean, after_rank real, after_at timestamptz,
  after_id uuid, page_size int, hits_per_thread int)
returns table (rank real, matched_at timestamptz, hits jsonb, thread app.threads, customer_name text, last_read_at timestamptz)
language plpgsql stable security definer set search_path = '' set plan_cache_mode = force_generic_plan as $$
declare
  org constant uuid := app.acting_org();
  uid constant uuid := auth.uid();
  ids_ constant text[] := coalesce(ids, '{}'::text[]);
  options constant text := 'StartSel=' || chr(57344) || ', StopSel=' || chr(57345)
    || ', MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "';
  -- The characters of a text that highlighting reads (the match of a longer body shows its start).
  headline_chars constant int := 65536;
begin
  if not app.acting_ok() then
    return;
  end if;
  return query
    with g as (
      -- sort_rank: the rank where the page is ordered by it, else 0 (the latest match first).
      select h.thread_id, max(h.rank) as rank, case when by_rank then max(h.rank) else 0 end as sort_rank, max(h.at) as matched_at,
        (array_agg(row(h.kind, h.hit_id, h.at)::app.search_hit order by h.rank desc, h.at desc))[1:hits_per_thread] as top
      from app.search_hits(query, ids_, types, channels, statuses, customer, since, until, cap) h
      group by h.thread_id
    ), page as (
      select g.*, row_number() over (order by g.sort_rank desc, g.matched_at desc, g.thread_id desc) as n
      from g
      where after_at is null or (g.sort_rank, g.matched_at, g.thread_id) < (case when by_rank then after_rank else 0 end, after_at, after_id)
      order by n
      limit page_size + 1
    )
    select p.rank, p.matched_at,
      case when p.n <= page_size then (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kind', x.kind, 'id', x.id, 'at', x.at) || coalesce(case x.kind
          when 'message' then (
            select pg_catalog.jsonb_build_object('text', case when query is null then m.snippet else pg_catalog.ts_headline('pg_catalog.english',
                left(concat_ws(E'\n', m.subject, coalesce(m.body_text, app.html_text(m.body_html)), m.transcript), headline_chars), query, options) end,
              'identifiers', array(select i from unnest(m.identifiers) i where i = any(ids_)))
            from app.messages m where m.org_id = org and m.id = x.id)
          when 'note' then (
            select pg_catalog.jsonb_build_object('text', pg_catalog.ts_headline('pg_catalog.english', n.body, query, options))
            from app.notes n where n.org_id = org and n.id = x.id and query is not null)
          when 'contact' then (
            select pg_catalog.jsonb_build_object('text', pg_catalog.ts_headline('pg_catalog.english', concat_ws(' · ', k.name, k.email, k.phone, k.designation), query, options))
            from app.contacts k where k.org_id = org and k.id = x.id and query is not null)
          when 'customer' then (
            select pg_catalog.jsonb_build_object('text', pg_catalog.ts_headline('pg_catalog.english', concat_ws(' · ', c.name, c.city), query, options))
            from app.customers c where c.org_id = org and c.id = x.id and query is not null)
          when 'shipment' then (
            select pg_catalog.jsonb_build_object('text', s.reference, 'identifiers', array(select i from unnest(s.identifiers) i where i = any(ids_)))
            from app.shipments s where s.org_id = org and s.id = x.id)
          when 'document' then (
            select pg_catalog.jsonb_build_object('text', case when query is null then d.title else pg_catalog.ts_headline('pg_catalog.english',
                left(concat_ws(E'\n', d.title, app.document_text(d.pages)), headline_chars), query, options) end,
              'identifiers', array(select i from unnest(d.identifiers) i where i = any(ids_)))
            from app.documents d where d.org_id = org and d.id = x.id)
        end, '{}'::jsonb) order by x.i)
       from unnest(p.top) with ordinality as x (kind, id, at, i)) end,
      t, c.name, r.last_read_at
    from page p
    join app.threads t on t.org_id = org and t.id = p.thread_id
    left join app.customers c on c.org_id = org and c.id = t.customer_id
    left join app.thread_reads r on r.thread_id = t.id and r.user_id = uid
    order by p.n;
end $$;
revoke all on function app.search_page(tsquery, text[], text[], text[], text[], uuid, timestamptz, timestamptz, int, boolean, real,
  timestamptz, uuid, int, int) from public;
grant execute on function app.search_page(tsquery, text[], text[], text[], text[], uuid, timestamptz, timestamptz, int, boolean, real,
  timestamptz, uuid, int, int) to authenticated, service_role;
