-- Keeping the inbox clean: per-organization sender rules, and the two thread statuses that hold mail
-- kept out of the inbox.
--
-- `spam` (blocked senders, mail an upstream filter flagged, threads an agent marked spam) and `bulk`
-- (newsletters and mailing lists) are thread statuses, so the trigger-kept counters of
-- 20261205004100_thread_counts count them like any status, and nothing open, unread or SLA-bound
-- (all of which look at status `open`) ever includes them.
alter table app.threads drop constraint threads_status_check;
alter table app.threads add constraint threads_status_check
  check (status in ('open', 'pending', 'snoozed', 'resolved', 'closed', 'spam', 'bulk')) not valid;
alter table app.threads validate constraint threads_status_check;

-- One rule per sender value: an email address, an email domain (subdomains included) or an E.164
-- phone number (WhatsApp, SMS, calls). `block` stores the sender's mail as spam, `bulk` as bulk,
-- `allow` keeps it in the inbox whatever its headers say and overrides a block of its domain.
create table app.sender_rules (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  kind text not null check (kind in ('block', 'allow', 'bulk')),
  match text not null check (match in ('address', 'domain', 'phone')),
  value text not null check (length(value) between 1 and 320),
  note text check (length(note) <= 1000),
  -- Where the rule came from: a manager's list (`manual`) or an agent marking a thread (`thread`).
  source text not null default 'manual' check (source in ('manual', 'thread')),
  thread_id uuid references app.threads (id) on delete set null,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint sender_rules_value_key unique (org_id, match, value)
);
create index sender_rules_list_idx on app.sender_rules (org_id, created_at desc, id desc);
create trigger sender_rules_updated_at before update on app.sender_rules for each row execute function app.updated_at_trigger();

-- Every member reads the rules (ingest, as the system actor, too); whoever may write threads may
-- write them (marking a thread spam blocks its sender). The API lets only managers edit the list.
alter table app.sender_rules enable row level security;
create policy sender_rules_read on app.sender_rules for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy sender_rules_write on app.sender_rules for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_can_write()))
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()));
grant select, insert, update, delete on app.sender_rules to authenticated;
grant all on app.sender_rules to service_role;
