// The one way a member is told about something: a row in app.notifications and a
// `notification.created` event on their own user topic, in the same transaction. Never the actor
// themselves (nobody is notified of what they just did).
import { randomUUID } from 'node:crypto';
import type { Ctx } from '../context.js';
import { recordChange, topics } from '../realtime.js';

export interface Notice {
  type: 'assignment' | 'mention';
  title: string;
  body?: string | null;
  threadId: string | null;
  entityType: 'thread' | 'action' | 'note';
  entityId: string;
}

/** Notifies each member (once, never the actor); returns who was notified. */
export async function notify(ctx: Ctx, userIds: Iterable<string | null | undefined>, notice: Notice): Promise<string[]> {
  const recipients = [...new Set(userIds)].filter((id): id is string => Boolean(id) && id !== ctx.userId);
  for (const userId of recipients) {
    const notification = {
      id: randomUUID(),
      type: notice.type,
      title: notice.title.slice(0, 300),
      body: notice.body?.slice(0, 500) ?? null,
      threadId: notice.threadId,
      entityType: notice.entityType,
      entityId: notice.entityId,
      createdAt: new Date(),
    };
    // No RETURNING: the notification belongs to the recipient, and RLS lets only them read it back.
    await ctx.sql`
      insert into app.notifications (id, org_id, user_id, type, title, body, thread_id, entity_type, entity_id, created_at)
      values (${notification.id}, ${ctx.orgId}, ${userId}, ${notification.type}, ${notification.title}, ${notification.body},
              ${notification.threadId}, ${notification.entityType}, ${notification.entityId}, ${notification.createdAt})`;
    await recordChange(ctx, { event: 'notification.created', topics: [topics.user(userId)], data: notification });
  }
  return recipients;
}
