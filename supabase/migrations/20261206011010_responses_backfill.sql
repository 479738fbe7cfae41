-- Queue the backfill of app.message_responses (lib/analytics/backfill.ts) for every organization with
-- threads: replies made before the response table existed count in the response-time reports too.
-- The job runner picks these up like any other job.
insert into app.outbox (org_id, name, payload, max_attempts)
select o.id, 'analytics.responses.backfill', '{"after": null}'::jsonb, 5
from app.organizations o where exists (select 1 from app.threads t where t.org_id = o.id);
