-- GET /api/threads?sla=at_risk&sort=due read 3,490 buffers on the bench data set (budget 250): the
-- planner walked threads_open_due_order_idx, whose earliest entries are the breached threads (3,317
-- of them), all skipped before the first thread at risk. This index holds only the threads at risk,
-- in that order (due time, then id: the page cursor): 94 buffers. The sidebar's count keeps the
-- smaller threads_open_sla_due_idx.
create index threads_open_sla_due_order_idx on app.threads (org_id, (least(first_response_due_at, next_response_due_at, resolution_due_at)), id)
  where status = 'open' and sla_breached_at is null and least(first_response_due_at, next_response_due_at, resolution_due_at) is not null;
