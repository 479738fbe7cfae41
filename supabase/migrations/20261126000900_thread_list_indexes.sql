-- Two standing inbox views get an index that serves their page in activity order, instead of
-- filtering a wider index row by row (each filtered row also pays the RLS checks):
-- - "my open threads" (assignee and status), an agent's home screen;
-- - "high priority" / "urgent" (priority), a lead's triage view.
-- listThreads compares a single-valued filter with `=`, which these can serve in order; PostgreSQL
-- 15 cannot keep index order for `= any(array)`.
create index if not exists threads_assignee_status_activity_idx on app.threads (org_id, assignee_id, status, last_activity_at desc, id desc);
create index if not exists threads_priority_activity_idx on app.threads (org_id, priority, last_activity_at desc, id desc);
