-- Search (issue 21), measured on the 1M-message bench set: a rare word ("fumigation", 47 messages) cost
-- about 100 ms of database CPU, because the planner, estimating thousands of matches, joined them to
-- every thread of the organization by hash (a sequential scan of 100,000 threads). And every search
-- planned all seven branches of the union anew (about 1.4 ms of planning for a word), the branches its
-- query could never use included.
--
-- Now:
-- - A hit's thread is checked by a correlated probe of its primary key (a subplan per candidate, which
--   the planner cannot turn into a hash join): the rare word reads its 47 threads, a common word the
--   threads of the candidates it walks, never the whole organization.
-- - Only messages, where a word may be in one message or in a third of them, are planned for the values
--   in hand (EXECUTE), and only the branches the query can use (text, identifiers). Notes, contacts,
--   customers, shipments and documents are found by one static statement whose generic plan each
--   session keeps (their GIN indexes serve any word alike).
-- - One function holds the thread filters both use.

drop function if exists app.search_hits_sql();

-- Whether a hit's thread passes the search's filters: not merged away; in one of `statuses` (null: any
-- but spam and bulk); on one of `channels`; of `customer`. Plain SQL without settings, so the planner
-- inlines it into each statement and sees its conditions.
create or replace function app.search_thread_ok(merged_into uuid, status text, channel text, customer_id uuid,
  statuses text[], channels text[], customer uuid) returns boolean
language sql immutable parallel safe as $$
  select merged_into is null
    and (case when statuses is null then status operator(pg_catalog.<>) all('{spam,bulk}'::text[]) else status operator(pg_catalog.=) any(statuses) end)
    and (channels is null or channel operator(pg_catalog.=) any(channels))
    and (customer is null or customer_id operator(pg_catalog.=) customer)
$$;

-- The message statement of app.search_hits, for a query with words (has_text) or identifiers (has_ids)
-- or both, and the hit types asked for (null: all); null when it looks for no message. Parameters: $1
-- organization, $2 tsquery, $3 canonical identifiers, $5 channels, $6 thread statuses, $7 customer, $8
-- from, $9 until (on the message's time), $10 candidates. Each branch takes the latest $10 matches
-- (recency first: ranking every match of a common word is not the point); the caller ranks and groups.
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
  end if;
  return array_to_string(branches, E'\n    union all\n    ');
end $fn$;
revoke all on function app.search_hits_sql(boolean, boolean, text[]) from public;

-- Notes, contacts, customers, shipments and documents: the latest `cap` hits of each kind. Contacts,
-- customers and shipments are found first (at most 100 of each), then their latest threads through
-- their own indexes. Static, planned once per session (force_generic_plan): a branch its query cannot
-- use is switched off by a one-time filter on the parameters. Without sequential scans: on a small
-- table the planner would compute every row's vector (to_tsvector twice, through two functions) rather
-- than ask its GIN index, and that costs more than it estimates (0.3 ms per search on eight contacts
-- and eight customers).
create or replace function app.search_related_hits(org uuid, query tsquery, ids text[], types text[], channels text[],
  statuses text[], customer uuid, since timestamptz, until timestamptz, cap int)
returns table (thread_id uuid, kind text, hit_id uuid, at timestamptz, rank real)
language plpgsql stable set search_path = '' set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
begin
  return query
    (select n.thread_id, 'note'::text, n.id, n.created_at, pg_catalog.ts_rank(app.search_vector('', n.body), query)
     from app.notes n
     where query is not null and (types is null or 'note' = any(types))
       and n.org_id = org and n.deleted_at is null and app.search_vector('', n.body) @@ query
       and (since is null or n.created_at >= since) and (until is null or n.created_at < until)
       and (select app.search_thread_ok(t.merged_into_thread_id, t.status, t.channel, t.customer_id, statuses, channels, customer)
            from app.threads t where t.org_id = org and t.id = n.thread_id)
     order by n.created_at desc limit cap)
    union all
    (select t.id, 'contact'::text, k.id, t.last_activity_at, k.rank
     from (select k.id, pg_catalog.ts_rank(app.contact_search_vector(k.name, k.email, k.phone, k.whatsapp, k.designation), query) as rank
           from app.contacts k
           where query is not null and (types is null or 'contact' = any(types))
             and k.org_id = org and k.deleted_at is null and app.contact_search_vector(k.name, k.email, k.phone, k.whatsapp, k.designation) @@ query
           limit 100) k
     cross join lateral (select t.id, t.last_activity_at from app.threads t
       where t.org_id = org and t.contact_id = k.id
         and (since is null or t.last_activity_at >= since) and (until is null or t.last_activity_at < until)
         and app.search_thread_ok(t.merged_into_thread_id, t.status, t.channel, t.customer_id, statuses, channels, customer)
       order by t.last_activity_at desc limit cap) t
     order by t.last_activity_at desc limit cap)
    union all
    (select t.id, 'customer'::text, c.id, t.last_activity_at, c.rank
     from (select c.id, pg_catalog.ts_rank(app.customer_search_vector(c.name, c.domains, c.city, c.gstin), query) as rank
           from app.customers c
           where query is not null and (types is null or 'customer' = any(types))
             and c.org_id = org and c.deleted_at is null and app.customer_search_vector(c.name, c.domains, c.city, c.gstin) @@ query
           limit 100) c
     cross join lateral (select t.id, t.last_activity_at from app.threads t
       where t.org_id = org and t.customer_id = c.id
         and (since is null or t.last_activity_at >= since) and (until is null or t.last_activity_at < until)
         and app.search_thread_ok(t.merged_into_thread_id, t.status, t.channel, t.customer_id, statuses, channels, customer)
       order by t.last_activity_at desc limit cap) t
     order by t.last_activity_at desc limit cap)
    union all
    (select t.id, 'shipment'::text, s.id, t.last_activity_at, 1::real
     from (select s.id from app.shipments s
           where cardinality(ids) > 0 and (types is null or 'shipment' = any(types)) and s.org_id = org and s.identifiers && ids
           limit 100) s
     cross join lateral (select t.id, t.last_activity_at from app.thread_shipments ts join app.threads t on t.id = ts.thread_id
       where ts.org_id = org and ts.shipment_id = s.id and ts.link_source <> 'rejected' and t.org_id = org
         and (since is null or t.last_activity_at >= since) and (until is null or t.last_activity_at < until)
         and app.search_thread_ok(t.merged_into_thread_id, t.status, t.channel, t.customer_id, statuses, channels, customer)
       order by t.last_activity_at desc limit cap) t
     order by t.last_activity_at desc limit cap)
    union all
    (select d.thread_id, 'document'::text, d.id, d.created_at,
       case when query is null then 1::real else pg_catalog.ts_rank(app.search_vector(d.title, app.document_text(d.pages)), query) end
     from app.documents d
     where (types is null or 'document' = any(types))
       and d.org_id = org
       and ((query is not null and app.search_vector(d.title, app.document_text(d.pages)) @@ query) or (cardinality(ids) > 0 and d.identifiers && ids))
       and (since is null or d.created_at >= since) and (until is null or d.created_at < until)
       and (select app.search_thread_ok(t.merged_into_thread_id, t.status, t.channel, t.customer_id, statuses, channels, customer)
            from app.threads t where t.org_id = org and t.id = d.thread_id)
     order by d.created_at desc limit cap);
end $$;
revoke all on function app.search_related_hits(uuid, tsquery, text[], text[], text[], text[], uuid, timestamptz, timestamptz, int) from public;

-- The hits of the acting organization (nothing for a caller who is not an active member): messages,
-- planned for these very values each time (whether a word is rare, through the GIN index, or common,
-- walking the newest messages, is the planner's call with the word in hand), then the other kinds.
create or replace function app.search_hits(query tsquery, ids text[], types text[], channels text[], statuses text[],
  customer uuid, since timestamptz, until timestamptz, cap int)
returns table (thread_id uuid, kind text, hit_id uuid, at timestamptz, rank real)
language plpgsql stable security definer set search_path = '' as $$
declare
  org constant uuid := app.acting_org();
  ids_ constant text[] := coalesce(ids, '{}'::text[]);
  cap_ constant int := least(greatest(cap, 1), 2000);
  messages constant text := app.search_hits_sql(query is not null, cardinality(ids_) > 0, types);
begin
  if not app.acting_ok() then
    return;
  end if;
  if messages is not null then
    return query execute messages using org, query, ids_, types, channels, statuses, customer, since, until, cap_;
  end if;
  return query select * from app.search_related_hits(org, query, ids_, types, channels, statuses, customer, since, until, cap_);
end $$;

-- The plan of the message statement for given values, for the tests and the bench (which assert that
-- the indexes serve it). The owner's only: it names the organization rather than checking membership.
create or replace function app.search_hits_plan(org uuid, query tsquery, ids text[], types text[], channels text[], statuses text[],
  customer uuid, since timestamptz, until timestamptz, cap int)
returns setof text
language plpgsql volatile security definer set search_path = '' as $$
begin
  return query execute 'explain (costs off) ' || app.search_hits_sql(query is not null, coalesce(cardinality(ids), 0) > 0, types)
    using org, query, coalesce(ids, '{}'::text[]), types, channels, statuses, customer, since, until, least(greatest(cap, 1), 2000);
end $$;
