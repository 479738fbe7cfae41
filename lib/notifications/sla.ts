// SLA warnings and breaches become notifications: a warning tells the thread's assignee, a breach the
// assignee and the leads of the thread's team (every manager when it has no team). Subscribed to the
// `sla.event` hook (lib/sla/events.ts), so each event notifies once, with the job's retries.
import type { Ctx } from '../context.js';
import type { SlaEvent } from '../sla/check.js';
import { onSlaEvent } from '../sla/events.js';
import { notify, threadEscalation } from './notify.js';

const TARGET_NAMES: Record<SlaEvent['target'], string> = {
  firstResponse: 'First response',
  nextResponse: 'Next response',
  resolution: 'Resolution',
};

export async function notifySlaEvent(ctx: Ctx, event: SlaEvent): Promise<string[]> {
  const [thread] = await ctx.sql<{ subject: string; assigneeId: string | null }[]>`
    select subject, assignee_id from app.threads where id = ${event.threadId} and org_id = ${ctx.orgId}`;
  if (!thread) return [];
  const breached = event.kind === 'breached';
  const recipients = breached ? await threadEscalation(ctx, event.threadId) : [thread.assigneeId];
  const what = `${TARGET_NAMES[event.target]} ${breached ? 'overdue' : 'due soon'}`;
  return notify(ctx, recipients, {
    type: breached ? 'sla_breach' : 'sla_warning',
    title: `${what}: ${String(thread.subject || '(no subject)').slice(0, 200)}`,
    body: `${TARGET_NAMES[event.target]} ${breached ? 'was' : 'is'} due ${event.dueAt.toISOString()}`,
    threadId: event.threadId,
    entityType: 'thread',
    entityId: event.threadId,
  });
}

onSlaEvent('notifications', async (ctx, event) => {
  await notifySlaEvent(ctx, event);
});
