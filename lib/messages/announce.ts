// `message.updated` for a message whose delivery state changed (sent, delivered, failed, call progress),
// shared by every channel's send job and delivery webhook.
import type { Ctx } from '../context.js';
import { recordChange, topics } from '../realtime.js';

/** The status fields a client shows, for `message.updated`. */
export async function messageStatusView(ctx: Ctx, messageId: string) {
  const [row] = await ctx.sql<{ id: string; threadId: string }[]>`
    select id, thread_id, direction, status, subject, reply_to, rfc_message_id, provider_message_id, sent_at, delivered_at,
      read_at, failed_at, error_code, error_message, status_changed_at, updated_at
    from app.messages where id = ${messageId} and org_id = ${ctx.orgId}`;
  return row;
}

/** Broadcasts `message.updated` on the thread's topic (and audits it when an action is given). */
export async function announceMessage(ctx: Ctx, messageId: string, audit?: { action: string; data?: unknown }): Promise<void> {
  const view = await messageStatusView(ctx, messageId);
  if (!view) return;
  await recordChange(ctx, {
    event: 'message.updated',
    topics: [topics.thread(ctx.orgId, view.threadId)],
    data: view,
    audit: audit ? { action: audit.action, entityType: 'message', entityId: messageId, data: audit.data } : undefined,
  });
}
