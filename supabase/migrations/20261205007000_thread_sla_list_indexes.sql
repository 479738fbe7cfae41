-- The service-level views of GET /api/threads and the sidebar counts, measured by `npm run bench` on
-- 100,000 threads (30,000 open, 3,300 breached):
-- - sla=breached read every breached thread and sorted them (570 buffers, growing with the backlog):
--   the breached index now holds them in the list's order, so a page reads its 25 rows;
-- - the at-risk count read each candidate row from the heap (439 buffers for the counts), and the
--   "about to breach" view (sla=at_risk&sort=due) walked the due order past every breached thread
--   (3,473 buffers): the due index of the threads not yet breached now ends with the id, the page
--   order, and includes the three due times, so the count is an index-only scan and the view reads its page.
drop index app.threads_open_sla_breached_idx;
create index threads_open_sla_breached_idx on app.threads (org_id, last_activity_at desc, id desc)
  where status = 'open' and sla_breached_at is not null;

drop index app.threads_open_sla_due_idx;
create index threads_open_sla_due_idx on app.threads (org_id, (least(first_response_due_at, next_response_due_at, resolution_due_at)), id)
  include (first_response_due_at, next_response_due_at, resolution_due_at)
  where status = 'open' and sla_breached_at is null and least(first_response_due_at, next_response_due_at, resolution_due_at) is not null;
