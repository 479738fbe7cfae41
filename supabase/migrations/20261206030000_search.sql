-- Search (issue 21): message bodies and subjects, notes, contacts, customers, shipment references and
-- document titles, through one security-definer function. The match operator `@@` (like the array
-- operators, see 20261126001000) is not leakproof, so under RLS PostgreSQL applies it only after the
-- policy and cannot use a GIN index: a plain query would read every message of the organization.
-- app.search_hits checks the acting membership the way the policies do and filters the organization
-- explicitly, so the indexes serve it.
--
-- Text is indexed twice in one tsvector: `simple` (the words as written, stop words included: "on
-- board", names, codes) and `english` (stems: "containers" finds "container"). A query matches when
-- its words match in either form; an exclusion (-word) excludes a row holding the word in either form
-- (app.search_query).

-- ---------------------------------------------------------------------------------------------
-- Text to vector: one rule for every indexed text
-- ---------------------------------------------------------------------------------------------

-- At most this much body text (256 KiB, in bytes) is indexed: to_tsvector fails above 1 MB of
-- vector, and a message insert must never fail on its size (a lost mail). Twice-indexed text makes up
-- to three times its size in vector (hyphenated unique tokens, the worst measured); a vector still too
-- large is retried on a quarter of the text.
create or replace function app.search_vector(head text, body text) returns tsvector
language plpgsql immutable parallel safe set search_path = '' as $$
declare
  h text := left(coalesce(head, ''), 2000);
  b text := left(coalesce(body, ''), 262144);
  v tsvector;
begin
  if octet_length(b) > 262144 then
    b := left(b, (262144::bigint * length(b) / octet_length(b))::int);
  end if;
  v := setweight(pg_catalog.to_tsvector('pg_catalog.simple', h), 'A') || setweight(pg_catalog.to_tsvector('pg_catalog.english', h), 'A');
  begin
    return v || pg_catalog.to_tsvector('pg_catalog.simple', b) || pg_catalog.to_tsvector('pg_catalog.english', b);
  exception when program_limit_exceeded then
    b := left(b, length(b) / 4);
    return v || pg_catalog.to_tsvector('pg_catalog.simple', b) || pg_catalog.to_tsvector('pg_catalog.english', b);
  end;
end $$;

-- The text of an HTML body, for the rare message stored without a plain-text part: scripts and styles
-- dropped, tags and entities turned into spaces (markup never becomes a search word).
create or replace function app.html_text(html text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select pg_catalog.regexp_replace(
    pg_catalog.regexp_replace(
      pg_catalog.regexp_replace(left(html, 1048576), '<(script|style)\M.*?</\1\s*>', ' ', 'gi'),
      '<[^>]*>', ' ', 'g'),
    '&(#[0-9]+|#x[0-9a-f]+|[a-z]+);', ' ', 'gi')
$$;

-- A message's searchable text: the subject (weighted A), the sender, the plain body (or the HTML's
-- text) and a call's transcript.
create or replace function app.message_search_vector(subject text, from_name text, from_address text, body_text text, body_html text, transcript text)
returns tsvector
language sql immutable parallel safe set search_path = '' as $$
  select app.search_vector(subject, concat_ws(E'\n', from_name, from_address, coalesce(body_text, app.html_text(body_html)), transcript))
$$;

-- ---------------------------------------------------------------------------------------------
-- Messages: a nullable column (no rewrite, a brief lock), filled by every insert and by a backfill
-- ---------------------------------------------------------------------------------------------
alter table app.messages add column search_vector tsvector;

-- Every way a message is stored (email ingest, Exotel, replies, drafts, imports) goes through this.
create or replace function app.messages_search_trigger() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.search_vector := app.message_search_vector(new.subject, new.from_name, new.from_address, new.body_text, new.body_html, new.transcript);
  return new;
end $$;
create trigger messages_search_vector before insert or update of subject, from_name, from_address, body_text, body_html, transcript
  on app.messages for each row execute function app.messages_search_trigger();

-- Built while the column is empty, so quickly; the backfill fills it (lib/search/backfill.ts). Without
-- fastupdate: a pending list (up to 4 MB of unsorted entries) would be read in full by every search
-- until a vacuum merged it, and mail arrives slowly enough to pay for its entries at insert.
create index messages_search_idx on app.messages using gin (search_vector) with (fastupdate = off);
-- The latest matches first: a common word is found by walking the organization's messages newest first.
create index messages_recent_idx on app.messages (org_id, occurred_at desc);

-- Contacts and customers as one text each (the functions the indexes and the search share).
create or replace function app.contact_search_vector(name text, email text, phone text, whatsapp text, designation text)
returns tsvector
language sql immutable parallel safe set search_path = '' as $$
  -- The address whole (a query of the address) and split at the @ (its mailbox name, its domain).
  select app.search_vector(name, coalesce(email, '') || ' ' || coalesce(replace(email, '@', ' '), '') || ' ' || coalesce(phone, '') || ' '
    || coalesce(whatsapp, '') || ' ' || coalesce(designation, ''))
$$;
create or replace function app.customer_search_vector(name text, domains text[], city text, gstin text)
returns tsvector
language sql immutable parallel safe set search_path = '' as $$
  select app.search_vector(name, pg_catalog.array_to_string(domains, ' ') || ' ' || coalesce(city, '') || ' ' || coalesce(gstin, ''))
$$;

-- Notes, contacts, customers and documents are small: expression indexes, no new columns.
create index notes_search_idx on app.notes using gin (app.search_vector('', body)) with (fastupdate = off) where deleted_at is null;
create index contacts_search_idx on app.contacts using gin (app.contact_search_vector(name, email, phone, whatsapp, designation)) with (fastupdate = off)
  where deleted_at is null;
create index customers_search_idx on app.customers using gin (app.customer_search_vector(name, domains, city, gstin)) with (fastupdate = off)
  where deleted_at is null;
create index documents_search_idx on app.documents using gin (app.search_vector(title, '')) with (fastupdate = off);
-- A person's threads, newest first (contact hits).
create index threads_contact_idx on app.threads (org_id, contact_id, last_activity_at desc) where contact_id is not null;

-- ---------------------------------------------------------------------------------------------
-- Queries
-- ---------------------------------------------------------------------------------------------

-- websearch_to_tsquery syntax ("a phrase", or, -exclusion) for the words in `positive`, matched as
-- written or stemmed; each of `negatives` (words or phrases the user wrote with a leading '-')
-- excludes a row holding it as written or stemmed. NULL when nothing is left to look for.
create or replace function app.search_query(positive text, negatives text[]) returns tsquery
language plpgsql immutable parallel safe set search_path = '' as $$
declare
  q tsquery := pg_catalog.websearch_to_tsquery('pg_catalog.english', coalesce(positive, ''))
    || pg_catalog.websearch_to_tsquery('pg_catalog.simple', coalesce(positive, ''));
  n text;
  nq tsquery;
begin
  if pg_catalog.numnode(q) = 0 then
    return null;
  end if;
  foreach n in array coalesce(negatives, '{}') loop
    nq := pg_catalog.phraseto_tsquery('pg_catalog.english', n) || pg_catalog.phraseto_tsquery('pg_catalog.simple', n);
    if pg_catalog.numnode(nq) > 0 then
      q := q && !! nq;
    end if;
  end loop;
  return q;
end $$;

-- The statement behind app.search_hits, one place for it and for its plan (app.search_hits_plan).
-- Parameters: $1 organization, $2 tsquery (null: identifiers only), $3 canonical identifiers, $4 hit
-- types (null: all), $5 channels, $6 thread statuses (null: all but spam and bulk), $7 customer,
-- $8 from, $9 until (on the hit's time), $10 candidates per kind of hit.
-- Each branch takes the latest `$10` matches of its kind (recency first: ranking every match of a
-- common word is not the point); the caller ranks and groups what comes back. Contacts, customers and
-- shipments are found first (at most 100 of each), then their threads through their own indexes.
-- A further kind (document pages' text, issue 20) is one more branch of the union.
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
    (select d.thread_id, 'document', d.id, d.created_at, pg_catalog.ts_rank(app.search_vector(d.title, ''), $2)
     from app.documents d join app.threads t on t.id = d.thread_id
     where $2 is not null and ($4 is null or 'document' = any($4))
       and d.org_id = $1 and app.search_vector(d.title, '') @@ $2
       and ($8 is null or d.created_at >= $8) and ($9 is null or d.created_at < $9)
       and t.org_id = $1 and t.merged_into_thread_id is null
       and (case when $6 is null then t.status <> all('{spam,bulk}'::text[]) else t.status = any($6) end)
       and ($5 is null or t.channel = any($5)) and ($7 is null or t.customer_id = $7)
     order by d.created_at desc limit $10)
  ) h
  $sql$
$fn$;
revoke all on function app.search_hits_sql() from public;

-- The hits of the acting organization (nothing for a caller who is not an active member). EXECUTE
-- plans the statement for these very values each time: whether a word is rare (the GIN index) or
-- common (the newest messages, walked in order) is the planner's call with the word in hand.
create or replace function app.search_hits(query tsquery, ids text[], types text[], channels text[], statuses text[],
  customer uuid, since timestamptz, until timestamptz, cap int)
returns table (thread_id uuid, kind text, hit_id uuid, at timestamptz, rank real)
language plpgsql stable security definer set search_path = '' as $$
begin
  if not app.acting_ok() then
    return;
  end if;
  return query execute app.search_hits_sql()
    using app.acting_org(), query, coalesce(ids, '{}'::text[]), types, channels, statuses, customer, since, until, least(greatest(cap, 1), 2000);
end $$;
revoke all on function app.search_hits(tsquery, text[], text[], text[], text[], uuid, timestamptz, timestamptz, int) from public;
grant execute on function app.search_hits(tsquery, text[], text[], text[], text[], uuid, timestamptz, timestamptz, int) to authenticated, service_role;

-- The plan of that statement for given values, for the tests and the bench (which assert that the
-- indexes serve it). The owner's only: it names the organization rather than checking membership.
create or replace function app.search_hits_plan(org uuid, query tsquery, ids text[], types text[], channels text[], statuses text[],
  customer uuid, since timestamptz, until timestamptz, cap int)
returns setof text
language plpgsql volatile security definer set search_path = '' as $$
begin
  return query execute 'explain (costs off) ' || app.search_hits_sql()
    using org, query, coalesce(ids, '{}'::text[]), types, channels, statuses, customer, since, until, least(greatest(cap, 1), 2000);
end $$;
revoke all on function app.search_hits_plan(uuid, tsquery, text[], text[], text[], text[], uuid, timestamptz, timestamptz, int) from public;

-- Queue the backfill of messages.search_vector (lib/search/backfill.ts) for every organization with
-- messages.
insert into app.outbox (org_id, name, payload, max_attempts)
select o.id, 'messages.search.backfill', '{"after": null}'::jsonb, 5
from app.organizations o where exists (select 1 from app.messages m where m.org_id = o.id);
