// How a reply leaves on each channel: which of the organization's channels sends it, and which job
// carries it. Email is here; WhatsApp and SMS come from the Exotel work.
import { smsSender, whatsappSender } from '../exotel/senders.js';
import { AppError } from '../errors.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';
import { sendingChannel, type ChannelSender } from './sending-channel.js';

const email: ChannelSender = {
  resolveFrom: (ctx, thread) => sendingChannel(ctx, 'email', thread.channelId, 'No active mailbox to send from: add an email channel first'),
  async enqueue(ctx, messageId) {
    await enqueue(ctx, jobSpecs.emailSend, { messageId }, { dedupeKey: messageId });
  },
};

const senders = new Map<string, ChannelSender>([
  ['email', email],
  ['whatsapp', whatsappSender],
  ['sms', smsSender],
]);

export function channelSender(channel: string): ChannelSender {
  const sender = senders.get(channel);
  if (!sender) {
    throw new AppError('validation_failed', `Replies on ${channel} threads are not available in this deployment`, {
      issues: [{ path: 'thread.channel', message: `no sender for ${channel}` }],
    });
  }
  return sender;
}
