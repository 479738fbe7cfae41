-- Analytics, part two: one row per reply that answered a customer (GET /api/analytics/response-times),
-- for percentiles with percentile_cont, read by organization and time: (org_id, at).
--
-- Written by applyServiceLevels (lib/sla/clock.ts) in the transaction that adds or sends the reply,
-- with the same rule as the SLA clocks: a member's reply always counts, an automation's only where the
-- thread's policy counts automation replies. `since` is the customer message the reply answered (the
-- first one nobody had answered yet), `first` marks the thread's first response. wall_ms is calendar
-- time from since to at; business_ms the business time on the policy's calendar, or the default
-- calendar for a thread no policy covers (null when there is none). Paused time is not taken out
-- here: that is the SLA's view, in app.sla_outcomes. The thread's channel, mailbox, team and customer are copied as they were then,
-- like the message rollups.
create table app.message_responses (
  message_id uuid primary key,
  org_id uuid not null references app.organizations (id) on delete cascade,
  thread_id uuid not null,
  responder_id uuid,
  automated boolean not null,
  first boolean not null,
  since timestamptz not null,
  at timestamptz not null,
  wall_ms bigint not null check (wall_ms >= 0),
  business_ms bigint check (business_ms >= 0),
  policy_id uuid,
  channel text not null,
  channel_id uuid,
  team_id uuid,
  customer_id uuid,
  foreign key (org_id, message_id) references app.messages (org_id, id) on delete cascade,
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade
);
create index message_responses_org_at_idx on app.message_responses (org_id, at);
create index message_responses_thread_idx on app.message_responses (thread_id);

alter table app.message_responses enable row level security;
create policy message_responses_read on app.message_responses for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy message_responses_write on app.message_responses for insert to authenticated
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()));
grant select, insert on app.message_responses to authenticated;
grant all on app.message_responses to service_role;

