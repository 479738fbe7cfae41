// How a reply leaves on each channel: which of the organization's channels sends it, and which job
// carries it. Email is here; WhatsApp, SMS and voice register with the Exotel work.
import type { Ctx } from '../context.js';
import { AppError } from '../http/errors.js';
import { enqueue } from '../jobs/enqueue.js';
import { EMAIL_SEND_DEADLINE_MS, jobSpecs } from '../jobs/specs.js';

export interface ChannelSender {
  /** The channel (and its address) a reply on this thread goes out from. */
  resolveFrom(ctx: Ctx, thread: { channelId: string | null }): Promise<{ channelId: string; address: string }>;
  /** Enqueues the send job for a queued message. */
  enqueue(ctx: Ctx, messageId: string): Promise<void>;
}

/**
 * The channel a reply leaves from: the thread's own when it is still active, else the organization's
 * first active channel of that kind; a 422 naming what to add when there is none.
 */
export async function sendingChannel(ctx: Ctx, kind: string, preferred: string | null, missing: string) {
  const [row] = await ctx.sql<{ id: string; address: string }[]>`
    select id, address from app.channels
    where org_id = ${ctx.orgId} and kind = ${kind} and status <> 'disabled'
    order by (id = ${preferred}) desc nulls last, created_at limit 1`;
  if (!row) throw new AppError('validation_failed', missing, { issues: [{ path: 'thread.channel', message: `no active ${kind} channel` }] });
  return { channelId: row.id, address: row.address };
}

const email: ChannelSender = {
  resolveFrom: (ctx, thread) => sendingChannel(ctx, 'email', thread.channelId, 'No active mailbox to send from: add an email channel first'),
  async enqueue(ctx, messageId) {
    await enqueue(ctx, jobSpecs.emailSend, { messageId }, { deadlineAt: new Date(Date.now() + EMAIL_SEND_DEADLINE_MS), dedupeKey: messageId });
  },
};

const senders = new Map<string, ChannelSender>([['email', email]]);

/** Lets another channel (WhatsApp, SMS) plug its sender in. */
export function registerSender(channel: string, sender: ChannelSender): void {
  senders.set(channel, sender);
}

export function channelSender(channel: string): ChannelSender {
  const sender = senders.get(channel);
  if (!sender) {
    throw new AppError('validation_failed', `Replies on ${channel} threads are not available in this deployment`, {
      issues: [{ path: 'thread.channel', message: `no sender for ${channel}` }],
    });
  }
  return sender;
}
