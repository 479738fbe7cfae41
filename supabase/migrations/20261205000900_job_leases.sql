-- Job runs hold a short lease that a heartbeat renews and that fences their completion.

-- ---------------------------------------------------------------------------------------------
-- Leases
-- ---------------------------------------------------------------------------------------------
-- The claim of one run. A heartbeat renews locked_until while the run lives; a run whose lease lapsed
-- may be taken over by another delivery, and then its own updates (lease_id no longer matches) do nothing.
alter table app.outbox add column lease_id uuid;

-- Completes a run only while it still holds its lease: a run that lost it (another delivery took the
-- job over) raises, so its transaction, with the handler's effects, rolls back instead of doubling them.
create or replace function app.complete_job(job_id uuid, lease uuid) returns void
language plpgsql security definer set search_path = '' as $$
begin
  if app.acting_role() is distinct from 'system' then
    raise exception 'only the system actor completes jobs' using errcode = '42501';
  end if;
  update app.outbox set status = 'done', done_at = now(), locked_until = null, lease_id = null, last_error = null
  where id = job_id and org_id = app.acting_org() and status = 'running' and lease_id = lease;
  if not found then
    raise exception 'job % lost its lease to another run', job_id using errcode = 'BXJ01';
  end if;
end $$;
grant execute on function app.complete_job(uuid, uuid) to authenticated, service_role;
