-- Operations: actions (tasks), shipments and milestones, thread/message links to shipments, documents,
-- SLA policies and business-hours calendars, workflows and their runs, notifications and preferences.
-- Ends with the row-level security and grants for every business table of the inbox and operations.

create table app.shipments (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  reference text not null check (length(trim(reference)) between 1 and 64),
  customer_id uuid,
  mode text not null check (mode in ('sea_fcl', 'sea_lcl', 'air', 'road', 'rail', 'multimodal')),
  direction text not null default 'export' check (direction in ('export', 'import', 'cross_trade', 'domestic')),
  status text not null default 'booked' check (status in
    ('enquiry', 'booked', 'in_transit', 'arrived', 'customs', 'delivered', 'closed', 'cancelled')),
  incoterm text check (incoterm is null or incoterm ~ '^[A-Z]{3}$'),
  origin_port text check (origin_port is null or origin_port ~ '^[A-Z]{2}[A-Z2-9]{3}$'),
  destination_port text check (destination_port is null or destination_port ~ '^[A-Z]{2}[A-Z2-9]{3}$'),
  carrier text,
  vessel text,
  voyage text,
  -- Freight identifiers in canonical form: containers as 11 characters, AWBs as PPP-SSSSSSSS.
  container_numbers text[] not null default '{}',
  awb_numbers text[] not null default '{}',
  bl_numbers text[] not null default '{}',
  booking_numbers text[] not null default '{}',
  etd timestamptz,
  eta timestamptz,
  atd timestamptz,
  ata timestamptz,
  cargo_description text,
  owner_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, reference),
  foreign key (org_id, customer_id) references app.customers (org_id, id)
);
create index shipments_customer_idx on app.shipments (org_id, customer_id);
create index shipments_containers_idx on app.shipments using gin (container_numbers);
create index shipments_awbs_idx on app.shipments using gin (awb_numbers);
create index shipments_bls_idx on app.shipments using gin (bl_numbers);
create index shipments_bookings_idx on app.shipments using gin (booking_numbers);

create table app.shipment_milestones (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  shipment_id uuid not null,
  code text not null check (code in ('booking_confirmed', 'cargo_received', 'stuffing', 'gate_in', 'customs_cleared',
    'loaded', 'departed', 'transshipment', 'arrived', 'discharged', 'delivery_order', 'out_for_delivery', 'delivered', 'other')),
  label text,
  location text,
  planned_at timestamptz,
  actual_at timestamptz,
  source text not null default 'manual' check (source in ('manual', 'email', 'carrier', 'ai')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (org_id, shipment_id) references app.shipments (org_id, id) on delete cascade
);
create index shipment_milestones_idx on app.shipment_milestones (org_id, shipment_id, coalesce(actual_at, planned_at));

-- Links between conversations and shipments: many-to-many, and how each link was made. A rejected
-- link stays so that automatic matching does not make it again.
create table app.thread_shipments (
  org_id uuid not null,
  thread_id uuid not null,
  shipment_id uuid not null,
  link_source text not null default 'manual' check (link_source in ('automatic', 'manual', 'rejected')),
  matched_identifier text,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (thread_id, shipment_id),
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade,
  foreign key (org_id, shipment_id) references app.shipments (org_id, id) on delete cascade
);
create index thread_shipments_shipment_idx on app.thread_shipments (org_id, shipment_id) where link_source <> 'rejected';

create table app.message_shipments (
  org_id uuid not null,
  message_id uuid not null,
  shipment_id uuid not null,
  link_source text not null default 'automatic' check (link_source in ('automatic', 'manual', 'rejected')),
  matched_identifier text,
  created_at timestamptz not null default now(),
  primary key (message_id, shipment_id),
  foreign key (org_id, message_id) references app.messages (org_id, id) on delete cascade,
  foreign key (org_id, shipment_id) references app.shipments (org_id, id) on delete cascade
);
create index message_shipments_shipment_idx on app.message_shipments (org_id, shipment_id);

create table app.actions (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  thread_id uuid,
  shipment_id uuid,
  title text not null check (length(trim(title)) between 1 and 500),
  description text,
  type text not null default 'follow_up' check (type in ('follow_up', 'call_back', 'send_document', 'request_document',
    'quote', 'booking', 'customs', 'payment', 'other')),
  status text not null default 'open' check (status in ('open', 'in_progress', 'done', 'cancelled')),
  priority text not null default 'normal' check (priority in ('low', 'normal', 'high', 'urgent')),
  assignee_id uuid,
  due_at timestamptz,
  completed_at timestamptz,
  source text not null default 'manual' check (source in ('manual', 'ai', 'workflow', 'system')),
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade,
  foreign key (org_id, shipment_id) references app.shipments (org_id, id) on delete cascade
);
create index actions_assignee_idx on app.actions (org_id, assignee_id, status, due_at);
create index actions_thread_idx on app.actions (org_id, thread_id) where thread_id is not null;
create index actions_shipment_idx on app.actions (org_id, shipment_id) where shipment_id is not null;
create index actions_due_idx on app.actions (org_id, due_at) where status in ('open', 'in_progress');

create table app.documents (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  shipment_id uuid,
  thread_id uuid,
  attachment_id uuid references app.attachments (id) on delete set null,
  type text not null default 'other' check (type in ('commercial_invoice', 'packing_list', 'bill_of_lading', 'air_waybill',
    'shipping_bill', 'bill_of_entry', 'certificate_of_origin', 'delivery_order', 'arrival_notice', 'quote', 'other')),
  title text not null check (length(trim(title)) between 1 and 300),
  storage_path text,
  status text not null default 'received' check (status in ('draft', 'received', 'approved', 'sent', 'rejected')),
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (org_id, shipment_id) references app.shipments (org_id, id) on delete cascade,
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete set null (thread_id)
);
create index documents_shipment_idx on app.documents (org_id, shipment_id);

create table app.business_calendars (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  name text not null,
  timezone text not null default 'Asia/Kolkata',
  -- [{ "day": 1..7 (ISO, Monday = 1), "start": "09:30", "end": "18:30" }]
  hours jsonb not null default '[]'::jsonb,
  -- ["2026-01-26", ...]
  holidays date[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, name)
);

create table app.sla_policies (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  name text not null,
  calendar_id uuid,
  -- Which threads it applies to: { "customerTiers": [...], "channels": [...], "priorities": [...] }
  conditions jsonb not null default '{}'::jsonb,
  first_response_minutes integer check (first_response_minutes is null or first_response_minutes > 0),
  next_response_minutes integer check (next_response_minutes is null or next_response_minutes > 0),
  resolution_minutes integer check (resolution_minutes is null or resolution_minutes > 0),
  position integer not null default 0,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, name),
  foreign key (org_id, calendar_id) references app.business_calendars (org_id, id)
);

create table app.workflows (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  name text not null,
  description text,
  trigger_event text not null,
  conditions jsonb not null default '[]'::jsonb,
  steps jsonb not null default '[]'::jsonb,
  enabled boolean not null default false,
  version integer not null default 1,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, name)
);

create table app.workflow_runs (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  workflow_id uuid not null,
  workflow_version integer not null,
  trigger_event text not null,
  subject_type text not null,
  subject_id uuid,
  status text not null default 'running' check (status in ('running', 'waiting', 'completed', 'failed', 'cancelled')),
  step_index integer not null default 0,
  state jsonb not null default '{}'::jsonb,
  error text,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  foreign key (org_id, workflow_id) references app.workflows (org_id, id) on delete cascade
);
create index workflow_runs_workflow_idx on app.workflow_runs (org_id, workflow_id, started_at desc);
-- One run per workflow and triggering event, so a redelivered event starts nothing twice.
create unique index workflow_runs_trigger_idx on app.workflow_runs (workflow_id, trigger_event, subject_id);

create table app.notifications (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  user_id uuid not null,
  type text not null check (type in ('mention', 'assignment', 'sla_warning', 'sla_breach', 'action_due', 'missed_call', 'system')),
  title text not null,
  body text,
  thread_id uuid,
  entity_type text,
  entity_id uuid,
  read_at timestamptz,
  created_at timestamptz not null default now(),
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade
);
create index notifications_user_idx on app.notifications (org_id, user_id, created_at desc);
create index notifications_unread_idx on app.notifications (org_id, user_id) where read_at is null;

create table app.notification_preferences (
  org_id uuid not null references app.organizations (id) on delete cascade,
  user_id uuid not null,
  type text not null,
  in_app boolean not null default true,
  email boolean not null default false,
  whatsapp boolean not null default false,
  updated_at timestamptz not null default now(),
  primary key (org_id, user_id, type)
);

create trigger shipments_updated_at before update on app.shipments for each row execute function app.updated_at_trigger();
create trigger shipment_milestones_updated_at before update on app.shipment_milestones for each row execute function app.updated_at_trigger();
create trigger thread_shipments_updated_at before update on app.thread_shipments for each row execute function app.updated_at_trigger();
create trigger actions_updated_at before update on app.actions for each row execute function app.updated_at_trigger();
create trigger documents_updated_at before update on app.documents for each row execute function app.updated_at_trigger();
create trigger business_calendars_updated_at before update on app.business_calendars for each row execute function app.updated_at_trigger();
create trigger sla_policies_updated_at before update on app.sla_policies for each row execute function app.updated_at_trigger();
create trigger workflows_updated_at before update on app.workflows for each row execute function app.updated_at_trigger();
create trigger workflow_runs_updated_at before update on app.workflow_runs for each row execute function app.updated_at_trigger();
create trigger notification_preferences_updated_at before update on app.notification_preferences for each row execute function app.updated_at_trigger();

-- ---------------------------------------------------------------------------------------------
-- Row-level security. Every business row belongs to one organization: members of the acting
-- organization read it; every role but viewer writes it. Tables with stricter rules follow.
-- ---------------------------------------------------------------------------------------------
do $$
declare
  t text;
begin
  foreach t in array array['customers', 'contacts', 'threads', 'messages', 'attachments', 'notes', 'thread_reads',
    'shipments', 'shipment_milestones', 'thread_shipments', 'message_shipments', 'actions', 'documents']
  loop
    execute format('alter table app.%I enable row level security', t);
    execute format('create policy %I on app.%I for select to authenticated using (org_id = (select app.acting_org()) and (select app.acting_ok()))', t || '_read', t);
    execute format('create policy %I on app.%I for insert to authenticated with check (org_id = (select app.acting_org()) and (select app.acting_can_write()))', t || '_insert', t);
    execute format('create policy %I on app.%I for update to authenticated using (org_id = (select app.acting_org()) and (select app.acting_can_write())) with check (org_id = (select app.acting_org()))', t || '_update', t);
    execute format('create policy %I on app.%I for delete to authenticated using (org_id = (select app.acting_org()) and (select app.acting_can_write()))', t || '_delete', t);
    execute format('grant select, insert, update, delete on app.%I to authenticated', t);
  end loop;

  -- Channels (secrets included), SLA policies, calendars and workflows: read by members, written by
  -- the roles that manage them (admins for channels; managers for SLA and workflows).
  foreach t in array array['channels', 'mailbox_folders', 'sla_policies', 'business_calendars', 'workflows']
  loop
    execute format('alter table app.%I enable row level security', t);
    execute format('create policy %I on app.%I for select to authenticated using (org_id = (select app.acting_org()) and (select app.acting_ok()))', t || '_read', t);
    execute format('create policy %I on app.%I for all to authenticated using (org_id = (select app.acting_org()) and (select app.acting_role()) = any (%L::text[])) with check (org_id = (select app.acting_org()) and (select app.acting_role()) = any (%L::text[]))',
      t || '_write', t,
      case when t in ('channels', 'mailbox_folders') then '{owner,admin,system}' else '{owner,admin,manager,system}' end,
      case when t in ('channels', 'mailbox_folders') then '{owner,admin,system}' else '{owner,admin,manager,system}' end);
    execute format('grant select, insert, update, delete on app.%I to authenticated', t);
  end loop;
end $$;

-- Workflow runs are written by the workflow engine (system actor) only.
alter table app.workflow_runs enable row level security;
create policy workflow_runs_read on app.workflow_runs for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy workflow_runs_system on app.workflow_runs for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) = 'system')
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) = 'system');
grant select, insert, update on app.workflow_runs to authenticated;

-- Notifications and preferences: each member sees and edits their own; anyone in the organization
-- (a mention, an assignment, the system) may create one for a member.
alter table app.notifications enable row level security;
create policy notifications_own on app.notifications for select to authenticated
  using (org_id = (select app.acting_org()) and (user_id = auth.uid() or (select app.acting_role()) = 'system'));
create policy notifications_create on app.notifications for insert to authenticated
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()));
create policy notifications_mark on app.notifications for update to authenticated
  using (org_id = (select app.acting_org()) and user_id = auth.uid())
  with check (org_id = (select app.acting_org()) and user_id = auth.uid());
grant select, insert on app.notifications to authenticated;
grant update (read_at) on app.notifications to authenticated;

alter table app.notification_preferences enable row level security;
create policy notification_preferences_own on app.notification_preferences for all to authenticated
  using (org_id = (select app.acting_org()) and user_id = auth.uid() and (select app.acting_ok()))
  with check (org_id = (select app.acting_org()) and user_id = auth.uid() and (select app.acting_ok()));
grant select, insert, update, delete on app.notification_preferences to authenticated;

-- Read state is personal even though any member may read the row: members only write their own.
drop policy thread_reads_insert on app.thread_reads;
drop policy thread_reads_update on app.thread_reads;
drop policy thread_reads_delete on app.thread_reads;
create policy thread_reads_insert on app.thread_reads for insert to authenticated
  with check (org_id = (select app.acting_org()) and user_id = auth.uid() and (select app.acting_ok()));
create policy thread_reads_update on app.thread_reads for update to authenticated
  using (org_id = (select app.acting_org()) and user_id = auth.uid())
  with check (org_id = (select app.acting_org()) and user_id = auth.uid());
create policy thread_reads_delete on app.thread_reads for delete to authenticated
  using (org_id = (select app.acting_org()) and user_id = auth.uid());

grant all on all tables in schema app to service_role;
grant execute on all functions in schema app to authenticated, service_role;
