-- Analytics: the backlog (GET /api/analytics/overview: waiting threads by status and age, with the
-- report's filters) by index only, instead of reading every waiting thread's row (44 ms of database CPU
-- for 50,014 waiting threads on the bench data set, the largest part of the overview).
create index threads_backlog_idx on app.threads (org_id, status, created_at)
  include (channel, channel_id, team_id, customer_id) where status in ('open', 'pending', 'snoozed');
