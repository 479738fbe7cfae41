// What a channel's sender is, and which of the organization's channels a reply leaves from; shared by
// the email sender (lib/messages/senders.ts) and the WhatsApp and SMS senders (lib/exotel/senders.ts).
import type { Ctx } from '../context.js';
import { AppError } from '../errors.js';

export interface ChannelSender {
  /** The channel (and its address) a reply on this thread goes out from. */
  resolveFrom(ctx: Ctx, thread: { channelId: string | null }): Promise<{ channelId: string; address: string }>;
  /** Enqueues the send job for a queued message. */
  enqueue(ctx: Ctx, messageId: string): Promise<void>;
  /**
   * Refuses files this channel cannot carry when they are attached (a 422 naming
   * body.attachmentIds.N, N their place in the request), before anything is queued.
   */
  checkAttachments?(files: OutgoingFile[]): void;
}

/** An attachment of a message about to be sent, as a sender checks it. */
export interface OutgoingFile {
  id: string;
  filename: string;
  contentType: string;
  sizeBytes: number | null;
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
