// `message.created` and `message.updated`, one shape for every channel, route and job: the message as
// GET /api/messages/{id} shows it without its bodies (text, HTML and transcript can be megabytes; a
// client that shows them fetches the message).
import type { Ctx } from '../context.js';
import { recordChange, topics } from '../realtime.js';
import { messageEvent } from '../workflows/emit.js';

/** Why a message has no copy of its media file or call recording (lib/exotel/jobs.ts records it), else null. */
export const mediaError = (sql: Ctx['sql'], m = sql`m`) =>
  sql`coalesce(${m}.metadata -> 'media' -> 'fetchError', ${m}.metadata -> 'recordingError') as media_error`;

/** The message as its events show it. */
export async function messageEventView(ctx: Ctx, messageId: string) {
  const [row] = await ctx.sql<{ id: string; threadId: string }[]>`
    select id, thread_id, channel, channel_id, kind, direction, status, from_address, from_name, to_recipients, cc_recipients,
      reply_to, subject, snippet, content_type, rfc_message_id, provider_message_id, is_auto_reply, is_bounce, error_code,
      error_message, call_duration_seconds, ${mediaError(ctx.sql, ctx.sql`app.messages`)}, intent, sentiment, urgency, author_id, occurred_at, sent_at, delivered_at, read_at,
      failed_at, status_changed_at, metadata -> 'transcription' as transcription, created_at, updated_at
    from app.messages where id = ${messageId} and org_id = ${ctx.orgId}`;
  return row;
}

/**
 * Broadcasts `message.created` or `message.updated` on the thread's topic (and audits it when an action
 * is given). A message moved to another thread is announced on the thread it left too (`fromThreadId`):
 * its `threadId` then tells that thread's listeners it is no longer theirs.
 */
export async function announceMessage(
  ctx: Ctx,
  messageId: string,
  audit?: { action: string; data?: unknown },
  event: 'message.created' | 'message.updated' = 'message.updated',
  fromThreadId?: string,
): Promise<void> {
  const view = await messageEventView(ctx, messageId);
  if (!view) return;
  // A reply whose status moved (sent, failed, bounced, a call answered) may start or stop a response
  // clock: every channel's status change passes here (lib/sla/clock.ts, loaded here to keep the SLA
  // modules out of this one's import graph).
  if (event === 'message.updated' && (view as { direction?: string }).direction === 'outbound') {
    const { applyServiceLevel } = await import('../sla/clock.js');
    if (await applyServiceLevel(ctx, view.threadId)) {
      const { announceThread } = await import('../threads/view.js');
      await announceThread(ctx, 'thread.updated', view.threadId);
    }
  }
  const threads = fromThreadId && fromThreadId !== view.threadId ? [fromThreadId, view.threadId] : [view.threadId];
  await recordChange(ctx, {
    event,
    topics: threads.map((id) => topics.thread(ctx.orgId, id)),
    data: view,
    audit: audit ? { action: audit.action, entityType: 'message', entityId: messageId, data: audit.data } : undefined,
  });
  // The workflow engine hears of a message received (once its analysis is settled) or sent.
  if (event === 'message.created') await messageEvent(ctx, messageId, 'created');
  else if (audit?.action === 'message.sent') await messageEvent(ctx, messageId, 'sent');
}
