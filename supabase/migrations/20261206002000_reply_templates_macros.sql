-- Reply templates (canned responses) and macros (named lists of steps run on threads), issue 17.
--
-- Both are shared with the organization (owner_id null) or personal (owner_id = the member who owns
-- them). Personal rows are read and written only by their owner: the read policy is row-scoped, so a
-- query that forgets the filter still never shows a member another's personal template.

create table app.reply_templates (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  owner_id uuid,
  name text not null check (length(name) between 1 and 200),
  channels text[] not null check (cardinality(channels) between 1 and 3 and channels <@ array['email', 'whatsapp', 'sms']),
  -- `text`: the body renders to plain text (every channel); `html`: to HTML mail, values HTML-escaped (email only).
  format text not null default 'text' check (format in ('text', 'html')),
  subject text check (length(subject) <= 1000),
  body text not null check (length(body) between 1 and 100000),
  folder text check (length(folder) between 1 and 100),
  tags text[] not null default '{}' check (cardinality(tags) <= 30),
  -- Variables of its own the template declares (`{{eta}}`), filled by the reply's `variables`.
  variables jsonb not null default '[]'::jsonb check (jsonb_typeof(variables) = 'array'),
  usage_count integer not null default 0 check (usage_count >= 0),
  last_used_at timestamptz,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint reply_templates_html_email check (format = 'text' or channels = array['email'])
);
-- One name per scope: the organization's shared templates, and each member's own.
create unique index reply_templates_name_key on app.reply_templates
  (org_id, coalesce(owner_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name));
-- The list: most used first, then by name (the cursor is (usage_count, name, id)).
create index reply_templates_list_idx on app.reply_templates (org_id, usage_count desc, name, id);
create index reply_templates_owner_idx on app.reply_templates (org_id, owner_id) where owner_id is not null;
create index reply_templates_tags_idx on app.reply_templates using gin (tags);
create trigger reply_templates_updated_at before update on app.reply_templates for each row execute function app.updated_at_trigger();

alter table app.reply_templates enable row level security;
create policy reply_templates_read on app.reply_templates for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()) and (owner_id is null or owner_id = (select auth.uid())));
create policy reply_templates_write on app.reply_templates for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_can_write()) and (owner_id is null or owner_id = (select auth.uid())))
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()) and (owner_id is null or owner_id = (select auth.uid())));
grant select, insert, update, delete on app.reply_templates to authenticated;
grant all on app.reply_templates to service_role;

create table app.macros (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  owner_id uuid,
  name text not null check (length(name) between 1 and 200),
  description text check (length(description) <= 2000),
  steps jsonb not null check (jsonb_typeof(steps) = 'array' and jsonb_array_length(steps) between 1 and 20),
  usage_count integer not null default 0 check (usage_count >= 0),
  last_run_at timestamptz,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index macros_name_key on app.macros (org_id, coalesce(owner_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name));
create index macros_list_idx on app.macros (org_id, usage_count desc, name, id);
create trigger macros_updated_at before update on app.macros for each row execute function app.updated_at_trigger();

alter table app.macros enable row level security;
create policy macros_read on app.macros for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()) and (owner_id is null or owner_id = (select auth.uid())));
create policy macros_write on app.macros for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_can_write()) and (owner_id is null or owner_id = (select auth.uid())))
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()) and (owner_id is null or owner_id = (select auth.uid())));
grant select, insert, update, delete on app.macros to authenticated;
grant all on app.macros to service_role;

-- One run of a macro on up to 100 threads: who ran it, when, and the steps as they were then.
create table app.macro_runs (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  macro_id uuid references app.macros (id) on delete set null,
  macro_name text not null,
  steps jsonb not null,
  run_by uuid,
  request_id text,
  thread_count integer not null check (thread_count between 1 and 100),
  succeeded integer not null default 0,
  failed integer not null default 0,
  created_at timestamptz not null default now()
);
create index macro_runs_org_time_idx on app.macro_runs (org_id, created_at desc);
create index macro_runs_macro_idx on app.macro_runs (org_id, macro_id, created_at desc);

-- What the run did on each thread: each step's outcome, or the error that rolled that thread back.
create table app.macro_run_threads (
  run_id uuid not null references app.macro_runs (id) on delete cascade,
  org_id uuid not null references app.organizations (id) on delete cascade,
  thread_id uuid not null references app.threads (id) on delete cascade,
  status text not null check (status in ('succeeded', 'failed')),
  steps jsonb not null default '[]'::jsonb,
  error jsonb,
  created_at timestamptz not null default now(),
  primary key (run_id, thread_id)
);
-- A thread's timeline of macro runs, newest first.
create index macro_run_threads_thread_idx on app.macro_run_threads (org_id, thread_id, created_at desc, run_id);

-- Runs are history every member of the organization reads; only members who work threads write them.
alter table app.macro_runs enable row level security;
create policy macro_runs_read on app.macro_runs for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy macro_runs_write on app.macro_runs for insert to authenticated
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()));
create policy macro_runs_update on app.macro_runs for update to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_can_write()))
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()));
grant select, insert, update on app.macro_runs to authenticated;
grant all on app.macro_runs to service_role;

alter table app.macro_run_threads enable row level security;
create policy macro_run_threads_read on app.macro_run_threads for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy macro_run_threads_write on app.macro_run_threads for insert to authenticated
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()));
grant select, insert on app.macro_run_threads to authenticated;
grant all on app.macro_run_threads to service_role;
