-- External agents and the tasks handed to them: an organization registers an agent's MCP server (its
-- URL and credentials, sealed like channel secrets), and a member, an API key or an automation hands a
-- thread to one of its tools. The agent.task job calls the tool with the MCP SDK's client and records
-- the task's status, its tool calls and the result, which lands on the thread as a note or a draft.

create table app.agents (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  name text not null check (length(trim(name)) between 1 and 200),
  description text check (description is null or length(description) <= 2000),
  url text not null check (url ~ '^https?://' and length(url) <= 2000),
  -- The tool a task calls when it names none.
  default_tool text check (default_tool is null or default_tool ~ '^[A-Za-z0-9_./-]{1,128}$'),
  -- { bearerToken?, headers? } sealed with the organization's id as associated data; never answered.
  credentials_sealed jsonb,
  timeout_seconds integer not null default 120 check (timeout_seconds between 5 and 900),
  status text not null default 'active' check (status in ('active', 'disabled')),
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, name)
);
create index agents_org_name_idx on app.agents (org_id, name);
create trigger agents_updated_at before update on app.agents for each row execute function app.updated_at_trigger();

create table app.agent_tasks (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references app.organizations (id) on delete cascade,
  thread_id uuid not null,
  agent_id uuid not null,
  tool text not null check (tool ~ '^[A-Za-z0-9_./-]{1,128}$'),
  instructions text check (instructions is null or length(instructions) <= 20000),
  -- What the tool is called with besides the thread and the instructions.
  arguments jsonb not null default '{}'::jsonb,
  deliver_as text not null default 'note' check (deliver_as in ('note', 'draft')),
  status text not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'failed', 'timed_out')),
  -- [{ tool, startedAt, durationMs, isError, error? }], one per call of the agent's server.
  tool_calls jsonb not null default '[]'::jsonb,
  result jsonb,
  error text,
  attempts integer not null default 0,
  deadline_at timestamptz not null,
  -- The note or draft the result became.
  note_id uuid,
  message_id uuid,
  created_by uuid,
  created_by_api_key uuid,
  source text not null default 'manual' check (source in ('manual', 'workflow', 'api')),
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (org_id, thread_id) references app.threads (org_id, id) on delete cascade,
  foreign key (org_id, agent_id) references app.agents (org_id, id) on delete cascade
);
-- A thread's tasks, newest first; an agent's tasks.
create index agent_tasks_thread_idx on app.agent_tasks (org_id, thread_id, created_at desc, id desc);
create index agent_tasks_agent_idx on app.agent_tasks (org_id, agent_id, created_at desc);
create trigger agent_tasks_updated_at before update on app.agent_tasks for each row execute function app.updated_at_trigger();

alter table app.agents enable row level security;
alter table app.agent_tasks enable row level security;

-- Everyone in the organization sees its agents (the API never answers the sealed credentials);
-- owners and admins manage them (the system actor reads them for the job).
create policy agents_read on app.agents for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy agents_write on app.agents for all to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin'))
  with check (org_id = (select app.acting_org()) and (select app.acting_role()) in ('owner', 'admin'));

-- Tasks are read by everyone who reads threads, made by those who work them, run by the system actor.
create policy agent_tasks_read on app.agent_tasks for select to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_ok()));
create policy agent_tasks_insert on app.agent_tasks for insert to authenticated
  with check (org_id = (select app.acting_org()) and (select app.acting_can_write()));
create policy agent_tasks_update on app.agent_tasks for update to authenticated
  using (org_id = (select app.acting_org()) and (select app.acting_can_write()))
  with check (org_id = (select app.acting_org()));

grant select, insert, update, delete on app.agents to authenticated;
grant select, insert, update on app.agent_tasks to authenticated;
