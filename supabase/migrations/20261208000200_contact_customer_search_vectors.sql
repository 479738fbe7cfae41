-- Search (issue 21): contacts and customers keep their search vector in a stored column.
--
-- On a small organization (a handful of contacts and customers, as every organization starts) the
-- planner reads them through another index of (org_id, ...) and computes each row's vector to test the
-- query: app.search_vector parses the text twice (simple and english) inside an exception block, about
-- 0.04 ms a row, 0.5 ms of a rare word's 5 ms on the bench set; and every match computed its vector
-- again for ts_rank. A stored vector is computed once per write and read wherever the search reads the
-- row. Both tables are small beside messages: rewriting them to add a generated column is brief.

alter table app.contacts
  add column search_vector tsvector generated always as (app.contact_search_vector(name, email, phone, whatsapp, designation)) stored;
drop index app.contacts_search_idx;
create index contacts_search_idx on app.contacts using gin (search_vector) with (fastupdate = off) where deleted_at is null;

alter table app.customers
  add column search_vector tsvector generated always as (app.customer_search_vector(name, domains, city, gstin)) stored;
drop index app.customers_search_idx;
create index customers_search_idx on app.customers using gin (search_vector) with (fastupdate = off) where deleted_at is null;

-- The latest definition (20261207000100) with the stored vectors.
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
     from (select k.id, pg_catalog.ts_rank(k.search_vector, query) as rank
           from app.contacts k
           where query is not null and (types is null or 'contact' = any(types))
             and k.org_id = org and k.deleted_at is null and k.search_vector @@ query
           limit 100) k
     cross join lateral (select t.id, t.last_activity_at from app.threads t
       where t.org_id = org and t.contact_id = k.id
         and (since is null or t.last_activity_at >= since) and (until is null or t.last_activity_at < until)
         and app.search_thread_ok(t.merged_into_thread_id, t.status, t.channel, t.customer_id, statuses, channels, customer)
       order by t.last_activity_at desc limit cap) t
     order by t.last_activity_at desc limit cap)
    union all
    (select t.id, 'customer'::text, c.id, t.last_activity_at, c.rank
     from (select c.id, pg_catalog.ts_rank(c.search_vector, query) as rank
           from app.customers c
           where query is not null and (types is null or 'customer' = any(types))
             and c.org_id = org and c.deleted_at is null and c.search_vector @@ query
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
