-- Tracking updates from a provider (issue 19): a per-organization integration (provider, sealed API
-- key and webhook secret), the numbers registered with it, and `tracking` as a webhook provider.

alter table app.webhook_events drop constraint webhook_events_provider_check;
alter table app.webhook_events add constraint webhook_events_provider_check
  check (provider in ('resend', 'exotel', 'qstash', 'tracking', 'other'));

create table app.tracking_integrations (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  provider text not null check (provider in ('terminal49')),
  -- Sealed { apiKey, webhookSecret } (lib/crypto/secrets.ts); never returned.
  secret_ciphertext text not null,
  secret_key_id text not null,
  enabled boolean not null default true,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, provider)
);

-- One registration per number and integration: the provider sends events only for what was registered.
create table app.tracking_requests (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  integration_id uuid not null,
  shipment_id uuid not null,
  request_type text not null check (request_type in ('container', 'bill_of_lading', 'booking_number')),
  request_number text not null,
  scac text,
  provider_request_id text,
  status text not null default 'pending' check (status in ('pending', 'created', 'failed', 'skipped')),
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (integration_id, request_type, request_number),
  foreign key (org_id, integration_id) references app.tracking_integrations (org_id, id) on delete cascade,
  foreign key (org_id, shipment_id) references app.shipments (org_id, id) on delete cascade
);
create index tracking_requests_shipment_idx on app.tracking_requests (org_id, shipment_id);

create trigger tracking_integrations_updated_at before update on app.tracking_integrations for each row execute function app.updated_at_trigger();
create trigger tracking_requests_updated_at before update on app.tracking_requests for each row execute function app.updated_at_trigger();

-- Integrations hold secrets: read by members (never the secret: the API does not select it), written by
-- admins and the system; requests are written by the system (the registration job) and read by members.
alter table app.tracking_integrations enable row level security;
create policy tracking_integrations_read on app.tracking_integrations for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy tracking_integrations_write on app.tracking_integrations for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) = any ('{owner,admin,system}'::text[]))
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) = any ('{owner,admin,system}'::text[]));
grant select, insert, update, delete on app.tracking_integrations to authenticated;

alter table app.tracking_requests enable row level security;
create policy tracking_requests_read on app.tracking_requests for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy tracking_requests_write on app.tracking_requests for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_can_write()))
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()));
grant select, insert, update, delete on app.tracking_requests to authenticated;
