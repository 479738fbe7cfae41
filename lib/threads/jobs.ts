// Background work for threads: a snoozed thread reopens when its time comes.
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { applyServiceLevel } from '../sla/clock.js';
import { announceThread } from './view.js';

export const unsnoozeThread = defineJob({
  ...jobSpecs.threadUnsnooze,
  async handle({ ctx, payload }) {
    // Only the snooze this job was made for: a thread snoozed again (or reopened) is left alone.
    const [thread] = await ctx.sql<{ id: string }[]>`
      update app.threads set status = 'open', snoozed_until = null, last_activity_at = now()
      where id = ${payload.threadId} and org_id = ${ctx.orgId} and status = 'snoozed' and snoozed_until = ${payload.until}::timestamptz
      returning id`;
    if (!thread) return;
    await applyServiceLevel(ctx, thread.id);
    await announceThread(ctx, 'thread.updated', thread.id, { action: 'thread.unsnoozed' });
  },
});
