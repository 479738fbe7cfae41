-- A btree index entry holds at most about 2,700 bytes, and mail fills threads.counterpart (an address)
-- and threads.normalized_subject (a subject) with whatever its headers say: a 6,000-character subject
-- or a 3,500-character address failed the thread insert, and the folder stalled for three polls until
-- the message was quarantined. The values stay whole; the index holds a bounded key beside each.
--
-- The key is the value itself up to 1,000 bytes, else its first 200 characters and the md5 of the
-- whole (so distinct long values keep distinct keys). It is a generated column, so every writer gets
-- it. Lookups compare the key with app.index_key(the value) and then the value. Not an expression index
-- on (left(counterpart, n)): under RLS PostgreSQL uses an index only for conditions that cannot leak,
-- and a condition over a function of a column that is not leakproof (left, md5) may; a plain column
-- compared with `=` can. (Contacts are bounded where they are made: an inbound address longer than the
-- 320 characters the API allows is not a contact's address. Message-IDs are bounded when parsed.)

-- No `set search_path` clause, unlike the other functions: with one PostgreSQL would not inline it, and
-- the generated columns compute it on every write of a thread (100,000 inserts took 740 ms instead of
-- 250). Every function and operator in it is schema-qualified instead, so no search path changes it.
create function app.index_key(value text) returns text
language sql immutable parallel safe as $$
  select case when pg_catalog.octet_length(value) operator(pg_catalog.<=) 1000 then value
    else pg_catalog.left(value, 200) operator(pg_catalog.||) ' #' operator(pg_catalog.||) pg_catalog.md5(value) end
$$;
grant execute on function app.index_key(text) to authenticated, service_role;

alter table app.threads
  add column counterpart_key text generated always as (app.index_key(counterpart)) stored,
  add column subject_key text generated always as (app.index_key(normalized_subject)) stored;

drop index app.threads_counterpart_idx;
create index threads_counterpart_idx on app.threads (org_id, counterpart_key, subject_key, last_activity_at desc);
