-- The cron sweeper (lib/jobs/sweep.ts) drops sync tombstones older than any sync may look back
-- (lib/sync.ts: SYNC_MAX_AGE_DAYS, one day more), every organization's at once, oldest first.
create index sync_tombstones_age_idx on app.sync_tombstones (deleted_at);
