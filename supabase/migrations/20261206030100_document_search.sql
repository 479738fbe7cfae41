-- Search reads documents' text (issue 20's reading: app.documents.pages, one entry per page), not
-- their titles alone, and finds a document by the freight identifiers it carries, like a message.
-- The document branch of app.search_hits_sql() changes; its index follows the new expression.

-- A document's pages' text in page order (empty for a document not read yet).
create or replace function app.document_text(pages jsonb) returns text
language sql immutable parallel safe set search_path = '' as $$
  select case when pg_catalog.jsonb_typeof(pages) = 'array' then
    (select pg_catalog.string_agg(x.p ->> 'text', E'\n' order by x.n) from pg_catalog.jsonb_array_elements(pages) with ordinality as x(p, n))
  else '' end
$$;

drop index app.documents_search_idx;
create index documents_search_idx on app.documents using gin (app.search_vector(title, app.document_text(pages))) with (fastupdate = off);

create or replace function app.search_hits_sql() returns text
language sql immutable parallel safe set search_path = '' as $fn$
  select $sql$
  select h.thread_id, h.kind, h.hit_id, h.at, h.rank from (
    (select m.thread_id, 'message'::text as kind, m.id as hit_id, m.occurred_at as at, pg_catalog.ts_rank(m.search_vector, $2) as rank
     from app.messages m join app.threads t on t.id = m.thread_id
     where $2 is not null and ($4 is null or 'message' = any($4))
       and m.org_id = $1 and m.search_vector @@ $2
       and ($8 is null or m.occurred_at >= $8) and ($9 is null or m.occurred_at < $9)
       and t.org_id = $1 and t.merged_into_thread_id is null
       and (case when $6 is null then t.status <> all('{spam,bulk}'::text[]) else t.status = any($6) end)
       and ($5 is null or t.channel = any($5)) and ($7 is null or t.customer_id = $7)
     order by m.occurred_at desc limit $10)
    union all
    (select m.thread_id, 'message', m.id, m.occurred_at, 1::real
     from app.messages m join app.threads t on t.id = m.thread_id
     where cardinality($3) > 0 and ($4 is null or 'message' = any($4))
       and m.org_id = $1 and m.identifiers && $3
       and ($8 is null or m.occurred_at >= $8) and ($9 is null or m.occurred_at < $9)
       and t.org_id = $1 and t.merged_into_thread_id is null
       and (case when $6 is null then t.status <> all('{spam,bulk}'::text[]) else t.status = any($6) end)
       and ($5 is null or t.channel = any($5)) and ($7 is null or t.customer_id = $7)
     order by m.occurred_at desc limit $10)
    union all
    (select n.thread_id, 'note', n.id, n.created_at, pg_catalog.ts_rank(app.search_vector('', n.body), $2)
     from app.notes n join app.threads t on t.id = n.thread_id
     where $2 is not null and ($4 is null or 'note' = any($4))
       and n.org_id = $1 and n.deleted_at is null and app.search_vector('', n.body) @@ $2
       and ($8 is null or n.created_at >= $8) and ($9 is null or n.created_at < $9)
       and t.org_id = $1 and t.merged_into_thread_id is null
       and (case when $6 is null then t.status <> all('{spam,bulk}'::text[]) else t.status = any($6) end)
       and ($5 is null or t.channel = any($5)) and ($7 is null or t.customer_id = $7)
     order by n.created_at desc limit $10)
    union all
    (select t.id, 'contact', k.id, t.last_activity_at, k.rank
     from (select k.id, pg_catalog.ts_rank(app.contact_search_vector(k.name, k.email, k.phone, k.whatsapp, k.designation), $2) as rank
           from app.contacts k
           where $2 is not null and ($4 is null or 'contact' = any($4))
             and k.org_id = $1 and k.deleted_at is null and app.contact_search_vector(k.name, k.email, k.phone, k.whatsapp, k.designation) @@ $2
           limit 100) k
     cross join lateral (select t.id, t.last_activity_at from app.threads t
       where t.org_id = $1 and t.contact_id = k.id
         and ($8 is null or t.last_activity_at >= $8) and ($9 is null or t.last_activity_at < $9)
         and t.merged_into_thread_id is null
         and (case when $6 is null then t.status <> all('{spam,bulk}'::text[]) else t.status = any($6) end)
         and ($5 is null or t.channel = any($5)) and ($7 is null or t.customer_id = $7)
       order by t.last_activity_at desc limit $10) t
     order by t.last_activity_at desc limit $10)
    union all
    (select t.id, 'customer', c.id, t.last_activity_at, c.rank
     from (select c.id, pg_catalog.ts_rank(app.customer_search_vector(c.name, c.domains, c.city, c.gstin), $2) as rank
           from app.customers c
           where $2 is not null and ($4 is null or 'customer' = any($4))
             and c.org_id = $1 and c.deleted_at is null and app.customer_search_vector(c.name, c.domains, c.city, c.gstin) @@ $2
           limit 100) c
     cross join lateral (select t.id, t.last_activity_at from app.threads t
       where t.org_id = $1 and t.customer_id = c.id
         and ($8 is null or t.last_activity_at >= $8) and ($9 is null or t.last_activity_at < $9)
         and t.merged_into_thread_id is null
         and (case when $6 is null then t.status <> all('{spam,bulk}'::text[]) else t.status = any($6) end)
         and ($5 is null or t.channel = any($5)) and ($7 is null or t.customer_id = $7)
       order by t.last_activity_at desc limit $10) t
     order by t.last_activity_at desc limit $10)
    union all
    (select t.id, 'shipment', s.id, t.last_activity_at, 1::real
     from (select s.id from app.shipments s
           where cardinality($3) > 0 and ($4 is null or 'shipment' = any($4)) and s.org_id = $1 and s.identifiers && $3
           limit 100) s
     cross join lateral (select t.id, t.last_activity_at from app.thread_shipments ts join app.threads t on t.id = ts.thread_id
       where ts.org_id = $1 and ts.shipment_id = s.id and ts.link_source <> 'rejected' and t.org_id = $1
         and ($8 is null or t.last_activity_at >= $8) and ($9 is null or t.last_activity_at < $9)
         and t.merged_into_thread_id is null
         and (case when $6 is null then t.status <> all('{spam,bulk}'::text[]) else t.status = any($6) end)
         and ($5 is null or t.channel = any($5)) and ($7 is null or t.customer_id = $7)
       order by t.last_activity_at desc limit $10) t
     order by t.last_activity_at desc limit $10)
    union all
    (select d.thread_id, 'document', d.id, d.created_at,
       case when $2 is null then 1::real else pg_catalog.ts_rank(app.search_vector(d.title, app.document_text(d.pages)), $2) end
     from app.documents d join app.threads t on t.id = d.thread_id
     where ($4 is null or 'document' = any($4))
       and d.org_id = $1
       and (($2 is not null and app.search_vector(d.title, app.document_text(d.pages)) @@ $2) or (cardinality($3) > 0 and d.identifiers && $3))
       and ($8 is null or d.created_at >= $8) and ($9 is null or d.created_at < $9)
       and t.org_id = $1 and t.merged_into_thread_id is null
       and (case when $6 is null then t.status <> all('{spam,bulk}'::text[]) else t.status = any($6) end)
       and ($5 is null or t.channel = any($5)) and ($7 is null or t.customer_id = $7)
     order by d.created_at desc limit $10)
  ) h
  $sql$
$fn$;
revoke all on function app.search_hits_sql() from public;
