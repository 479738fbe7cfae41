// The one way a member is told about something: a row in app.notifications and a
// `notification.created` event on their own user topic, in the same transaction, as each recipient's
// preference for the type says (`off`: nothing; `email`: the row also waits to be mailed, through the
// `notification.email` job). Never the actor themselves (nobody is notified of what they just did).
import { randomUUID } from 'node:crypto';
import { config } from '../config.js';
import type { Ctx } from '../context.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';
import { recordChange, topics } from '../realtime.js';
import { now } from '../time.js';
import { modeOf, type NotificationType } from './types.js';

export interface Notice {
  type: NotificationType;
  title: string;
  body?: string | null;
  threadId: string | null;
  entityType: 'thread' | 'action' | 'note' | 'message';
  entityId: string;
}

/** A notification as the API lists it and `notification.created` carries it. */
export interface Notification {
  id: string;
  type: NotificationType;
  title: string;
  body: string | null;
  threadId: string | null;
  entityType: string | null;
  entityId: string | null;
  readAt: Date | null;
  createdAt: Date;
}

/**
 * Queues a run of a member's mail job for the time their mail may go; `reason` (the notification, or the
 * run that held the mail) makes it once per cause. Runs that find nothing left to send do nothing.
 */
export function scheduleNotificationEmail(ctx: Ctx, userId: string, at: Date, reason: string): Promise<string> {
  return enqueue(ctx, jobSpecs.notificationEmail, { userId }, { runAt: at, dedupeKey: `notification.email:${reason}` });
}

/** Notifies each member (once, never the actor) as their preferences say; returns who was notified. */
export async function notify(ctx: Ctx, userIds: Iterable<string | null | undefined>, notice: Notice): Promise<string[]> {
  const recipients = [...new Set(userIds)].filter((id): id is string => Boolean(id) && id !== ctx.userId);
  if (recipients.length === 0) return [];
  const choices = await ctx.sql<{ userId: string; inApp: boolean | null; email: boolean | null }[]>`
    select user_id, in_app, email from app.notification_choices(${recipients}::uuid[], ${notice.type})`;
  const chosen = new Map(choices.map((c) => [c.userId, c]));
  const notified: string[] = [];
  for (const userId of recipients) {
    const mode = modeOf(notice.type, chosen.get(userId));
    if (mode === 'off') continue;
    const createdAt = now();
    const notification: Notification = {
      id: randomUUID(),
      type: notice.type,
      title: notice.title.slice(0, 300),
      body: notice.body?.slice(0, 500) ?? null,
      threadId: notice.threadId,
      entityType: notice.entityType,
      entityId: notice.entityId,
      readAt: null,
      createdAt,
    };
    const emailDueAt = mode === 'email' ? new Date(createdAt.getTime() + config().notifications.emailDelayMs) : null;
    // No RETURNING: the notification belongs to the recipient, and RLS lets only them read it back.
    await ctx.sql`
      insert into app.notifications (id, org_id, user_id, type, title, body, thread_id, entity_type, entity_id, created_at, email_state, email_due_at)
      values (${notification.id}, ${ctx.orgId}, ${userId}, ${notification.type}, ${notification.title}, ${notification.body},
              ${notification.threadId}, ${notification.entityType}, ${notification.entityId}, ${createdAt},
              ${emailDueAt ? 'pending' : null}, ${emailDueAt})`;
    await recordChange(ctx, { event: 'notification.created', topics: [topics.user(userId)], data: notification });
    if (emailDueAt) await scheduleNotificationEmail(ctx, userId, emailDueAt, notification.id);
    notified.push(userId);
  }
  return notified;
}

/**
 * Who hears of a thread's trouble (an SLA breach, a missed call nobody owns): its assignee, and the
 * leads of its team, or every manager (owners and admins too) when it has no team. Active members only.
 */
export async function threadEscalation(ctx: Ctx, threadId: string, options: { withAssignee?: boolean } = {}): Promise<string[]> {
  const rows = await ctx.sql<{ userId: string }[]>`
    with t as (select assignee_id, team_id from app.threads where id = ${threadId} and org_id = ${ctx.orgId})
    select m.user_id from app.members m, t
    where m.org_id = ${ctx.orgId} and m.status = 'active' and (
      (${options.withAssignee ?? true} and m.user_id = t.assignee_id)
      or (t.team_id is not null and exists (
        select 1 from app.team_members tm where tm.team_id = t.team_id and tm.user_id = m.user_id and tm.role = 'lead'))
      or (t.team_id is null and m.role in ('owner', 'admin', 'manager')))
    order by m.user_id`;
  return rows.map((r) => r.userId);
}
