-- GET /api/threads?sort=due (the "about to breach" view): open threads with a running clock, earliest
-- due time first, read in order from this index with (due time, id) as the page cursor. The at-risk and
-- breached filters use the partial indexes of 20261205004100_thread_counts.
create index threads_open_due_order_idx on app.threads (org_id, (least(first_response_due_at, next_response_due_at, resolution_due_at)), id)
  where status = 'open' and least(first_response_due_at, next_response_due_at, resolution_due_at) is not null;
