-- The inbox: customers and contacts, channels (mailboxes, WhatsApp, SMS, voice), threads, messages
-- with one status model for every channel, attachments, read state, notes and actions.

create table app.customers (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  name text not null check (length(trim(name)) between 1 and 300),
  kind text not null default 'shipper' check (kind in
    ('shipper', 'consignee', 'overseas_agent', 'carrier', 'customs_broker', 'transporter', 'other')),
  tier text not null default 'standard' check (tier in ('strategic', 'key', 'standard', 'occasional')),
  -- Company email domains, lower case; free-mail domains never belong here.
  domains text[] not null default '{}',
  gstin text,
  city text,
  country text check (country is null or country ~ '^[A-Z]{2}$'),
  notes text,
  tags text[] not null default '{}',
  owner_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  unique (org_id, id)
);
create index customers_org_name_idx on app.customers (org_id, lower(name), id) where deleted_at is null;
create index customers_name_trgm_idx on app.customers using gin (name extensions.gin_trgm_ops);
create index customers_domains_idx on app.customers using gin (domains);

create table app.contacts (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  customer_id uuid,
  name text not null default '' check (length(name) <= 300),
  email text check (email is null or (email = lower(email) and email like '%_@_%')),
  phone text check (phone is null or phone ~ '^\+[1-9][0-9]{6,14}$'),
  whatsapp text check (whatsapp is null or whatsapp ~ '^\+[1-9][0-9]{6,14}$'),
  designation text,
  email_status text not null default 'ok' check (email_status in ('ok', 'bounced', 'complained')),
  is_primary boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  unique (org_id, id),
  foreign key (org_id, customer_id) references app.customers (org_id, id)
);
create unique index contacts_email_idx on app.contacts (org_id, email) where email is not null and deleted_at is null;
create index contacts_phone_idx on app.contacts (org_id, phone) where phone is not null and deleted_at is null;
create index contacts_whatsapp_idx on app.contacts (org_id, whatsapp) where whatsapp is not null and deleted_at is null;
create index contacts_customer_idx on app.contacts (org_id, customer_id) where deleted_at is null;
create index contacts_name_trgm_idx on app.contacts using gin (name extensions.gin_trgm_ops);

-- A channel is a way in and out: an email mailbox, a WhatsApp number, an SMS sender, a voice number.
-- Secrets live in secret_ciphertext (AES-256-GCM, key id recorded) and are never returned.
create table app.channels (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  kind text not null check (kind in ('email', 'whatsapp', 'sms', 'voice')),
  name text not null check (length(trim(name)) between 1 and 200),
  -- Email: the sending address; WhatsApp, SMS and voice: the E.164 number or sender id.
  address text not null,
  status text not null default 'active' check (status in ('active', 'disabled', 'error')),
  -- Non-secret settings: IMAP host/port/tls/user/folders/auth method, thread-token mode, DLT ids ...
  settings jsonb not null default '{}'::jsonb,
  secret_ciphertext text,
  secret_key_id text,
  webhook_secret_hash text,
  previous_webhook_secret_hash text,
  previous_webhook_secret_expires_at timestamptz,
  sending_domain_status text check (sending_domain_status in ('not_started', 'pending', 'verified', 'failed')),
  last_error text,
  last_synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, kind, address)
);

-- Per-folder IMAP sync state; the high-water UID only moves by compare-and-set.
create table app.mailbox_folders (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  channel_id uuid not null,
  path text not null,
  uid_validity bigint,
  last_uid bigint not null default 0 check (last_uid >= 0),
  enabled boolean not null default true,
  last_polled_at timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (channel_id, path),
  foreign key (org_id, channel_id) references app.channels (org_id, id) on delete cascade
);

create table app.threads (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  subject text not null default '' check (length(subject) <= 1000),
  normalized_subject text not null default '',
  status text not null default 'open' check (status in ('open', 'pending', 'snoozed', 'resolved', 'closed')),
  priority text not null default 'normal' check (priority in ('low', 'normal', 'high', 'urgent')),
  channel text not null default 'email' check (channel in ('email', 'whatsapp', 'sms', 'voice')),
  channel_id uuid,
  customer_id uuid,
  contact_id uuid,
  -- The external address or number the conversation is with (for subject threading and window rules).
  counterpart text,
  assignee_id uuid,
  team_id uuid,
  tags text[] not null default '{}',
  snoozed_until timestamptz,
  snippet text not null default '',
  message_count integer not null default 0 check (message_count >= 0),
  first_inbound_at timestamptz,
  last_inbound_at timestamptz,
  first_outbound_at timestamptz,
  last_outbound_at timestamptz,
  last_message_at timestamptz,
  last_activity_at timestamptz not null default now(),
  resolved_at timestamptz,
  closed_at timestamptz,
  previous_thread_id uuid,
  -- Rolled up by analysis (AI issue) and SLA (later issue).
  intent text,
  sentiment text check (sentiment is null or sentiment in ('positive', 'neutral', 'negative')),
  sentiment_score real,
  urgency text check (urgency is null or urgency in ('low', 'normal', 'high', 'critical')),
  sla_policy_id uuid,
  first_response_due_at timestamptz,
  next_response_due_at timestamptz,
  resolution_due_at timestamptz,
  sla_breached_at timestamptz,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  check ((status = 'snoozed') = (snoozed_until is not null)),
  foreign key (org_id, customer_id) references app.customers (org_id, id),
  foreign key (org_id, contact_id) references app.contacts (org_id, id),
  foreign key (org_id, channel_id) references app.channels (org_id, id),
  foreign key (org_id, team_id) references app.teams (org_id, id) on delete set null (team_id),
  foreign key (org_id, assignee_id) references app.members (org_id, user_id) on delete set null (assignee_id),
  foreign key (org_id, previous_thread_id) references app.threads (org_id, id)
);
-- The inbox list: newest activity first, optionally narrowed by status or assignee.
create index threads_activity_idx on app.threads (org_id, last_activity_at desc, id desc);
create index threads_status_activity_idx on app.threads (org_id, status, last_activity_at desc, id desc);
create index threads_assignee_activity_idx on app.threads (org_id, assignee_id, last_activity_at desc, id desc);
create index threads_customer_idx on app.threads (org_id, customer_id, last_activity_at desc);
create index threads_team_idx on app.threads (org_id, team_id, last_activity_at desc) where team_id is not null;
create index threads_tags_idx on app.threads using gin (tags);
create index threads_subject_trgm_idx on app.threads using gin (subject extensions.gin_trgm_ops);
create index threads_counterpart_idx on app.threads (org_id, counterpart, normalized_subject, last_activity_at desc);
create index threads_snoozed_idx on app.threads (snoozed_until) where status = 'snoozed';

-- Status ranks: a status only moves forward. Outbound draft < queued < sent < delivered < read;
-- failed and bounced end an outbound message that has not been read; calls ringing < in_progress <
-- completed | busy | no_answer | failed; inbound messages are received.
create or replace function app.message_status_rank(status text) returns integer
language sql immutable set search_path = '' as $$
  select case status
    when 'draft' then 0 when 'queued' then 1 when 'sent' then 2 when 'delivered' then 3 when 'read' then 4
    when 'failed' then 5 when 'bounced' then 5
    when 'ringing' then 0 when 'in_progress' then 1
    when 'completed' then 2 when 'busy' then 2 when 'no_answer' then 2
    when 'received' then 0
  end
$$;

create table app.messages (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  thread_id uuid not null,
  channel text not null check (channel in ('email', 'whatsapp', 'sms', 'voice')),
  channel_id uuid,
  kind text not null default 'message' check (kind in ('message', 'call')),
  direction text not null check (direction in ('inbound', 'outbound')),
  status text not null check (
    (direction = 'inbound' and kind = 'message' and status = 'received')
    or (direction = 'outbound' and kind = 'message' and status in ('draft', 'queued', 'sent', 'delivered', 'read', 'failed', 'bounced'))
    or (kind = 'call' and status in ('ringing', 'in_progress', 'completed', 'busy', 'no_answer', 'failed'))
  ),
  from_address text,
  from_name text,
  to_recipients jsonb not null default '[]'::jsonb,
  cc_recipients jsonb not null default '[]'::jsonb,
  bcc_recipients jsonb not null default '[]'::jsonb,
  reply_to text,
  subject text,
  body_text text,
  body_html text,
  -- New text only, without the quoted history (for the snippet and analysis).
  body_new_text text,
  snippet text not null default '',
  content_type text not null default 'text' check (content_type in
    ('text', 'html', 'image', 'document', 'audio', 'video', 'location', 'contacts', 'template', 'call')),
  -- Every id this message may be known by: our RFC Message-ID, the provider's ids, rewritten ids.
  rfc_message_id text,
  in_reply_to text,
  references_ids text[] not null default '{}',
  provider_message_id text,
  external_ids text[] not null default '{}',
  -- Unique per organization: Message-ID, provider id, or a content hash when neither exists.
  dedupe_key text,
  raw_storage_path text,
  raw_size integer,
  is_auto_reply boolean not null default false,
  is_bounce boolean not null default false,
  error_code text,
  error_message text,
  call_duration_seconds integer check (call_duration_seconds is null or call_duration_seconds >= 0),
  recording_path text,
  transcript text,
  template jsonb,
  -- Analysis (AI issue)
  intent text,
  sentiment text check (sentiment is null or sentiment in ('positive', 'neutral', 'negative')),
  sentiment_score real,
  urgency text,
  summary text,
  language text,
  entities jsonb,
  analyzed_at timestamptz,
  metadata jsonb not null default '{}'::jsonb,
  author_id uuid,
  occurred_at timestamptz not null default now(),
  sent_at timestamptz,
  delivered_at timestamptz,
  read_at timestamptz,
  failed_at timestamptz,
  status_changed_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade,
  foreign key (org_id, channel_id) references app.channels (org_id, id) on delete set null (channel_id)
);
create unique index messages_dedupe_idx on app.messages (org_id, dedupe_key) where dedupe_key is not null;
create index messages_thread_idx on app.messages (org_id, thread_id, occurred_at, id);
create index messages_external_ids_idx on app.messages using gin (external_ids);
create index messages_provider_idx on app.messages (org_id, provider_message_id) where provider_message_id is not null;
create index messages_status_idx on app.messages (org_id, status) where status in ('queued', 'draft', 'failed');

-- A status never moves backwards: an out-of-order delivery report keeps the later status.
create or replace function app.messages_status_guard() returns trigger
language plpgsql set search_path = '' as $$
declare
  same_family boolean := case
    when new.kind = 'call' then new.status in ('ringing', 'in_progress', 'completed', 'busy', 'no_answer', 'failed')
    when new.direction = 'inbound' then new.status = 'received'
    else new.status in ('draft', 'queued', 'sent', 'delivered', 'read', 'failed', 'bounced') end;
begin
  -- A status from another family (a call status on an email) is left to the check constraint.
  if new.status is distinct from old.status and same_family then
    if app.message_status_rank(new.status) < app.message_status_rank(old.status)
       or (app.message_status_rank(new.status) = app.message_status_rank(old.status) and old.status <> 'draft')
       or (old.status = 'read' and new.status in ('failed', 'bounced')) then
      -- Ignore the status (and its timestamp) but keep any other change in the same update.
      new.status := old.status;
      new.status_changed_at := old.status_changed_at;
    else
      new.status_changed_at := now();
    end if;
  end if;
  return new;
end $$;
create trigger messages_status_guard before update of status on app.messages
  for each row execute function app.messages_status_guard();

create table app.attachments (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  message_id uuid,
  thread_id uuid,
  filename text not null check (length(filename) between 1 and 255),
  content_type text not null default 'application/octet-stream',
  size_bytes bigint check (size_bytes is null or size_bytes >= 0),
  sha256 text check (sha256 is null or sha256 ~ '^[0-9a-f]{64}$'),
  storage_path text not null,
  content_id text,
  is_inline boolean not null default false,
  status text not null default 'pending' check (status in ('pending', 'ready', 'quarantined')),
  uploaded_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, storage_path),
  foreign key (org_id, message_id) references app.messages (org_id, id) on delete cascade,
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade
);
create index attachments_message_idx on app.attachments (org_id, message_id);

-- Per-member read state: a thread is unread for a member when it has activity after last_read_at.
create table app.thread_reads (
  org_id uuid not null,
  thread_id uuid not null,
  user_id uuid not null,
  last_read_at timestamptz not null default now(),
  primary key (thread_id, user_id),
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade
);
create index thread_reads_user_idx on app.thread_reads (user_id, thread_id);

create table app.notes (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  thread_id uuid not null,
  author_id uuid,
  body text not null check (length(body) between 1 and 20000),
  mentions uuid[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  unique (org_id, id),
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade
);
create index notes_thread_idx on app.notes (org_id, thread_id, created_at);

create trigger customers_updated_at before update on app.customers for each row execute function app.updated_at_trigger();
create trigger contacts_updated_at before update on app.contacts for each row execute function app.updated_at_trigger();
create trigger channels_updated_at before update on app.channels for each row execute function app.updated_at_trigger();
create trigger mailbox_folders_updated_at before update on app.mailbox_folders for each row execute function app.updated_at_trigger();
create trigger threads_updated_at before update on app.threads for each row execute function app.updated_at_trigger();
create trigger messages_updated_at before update on app.messages for each row execute function app.updated_at_trigger();
create trigger attachments_updated_at before update on app.attachments for each row execute function app.updated_at_trigger();
create trigger notes_updated_at before update on app.notes for each row execute function app.updated_at_trigger();
