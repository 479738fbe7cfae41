-- An agent task a macro step starts is recorded as the macro's (source 'macro'), no longer as a
-- workflow's: workflows keep 'workflow'.
alter table app.agent_tasks drop constraint agent_tasks_source_check;
alter table app.agent_tasks add constraint agent_tasks_source_check check (source in ('manual', 'workflow', 'macro', 'api'));
