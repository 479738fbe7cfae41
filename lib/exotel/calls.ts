// Click-to-call: POST /api/threads/{id}/calls rings the agent's own phone (their member phone) from the
// organization's voice ExoPhone, then the customer. The call is a message (kind 'call') on the thread,
// ringing at first; the connect request is a job, and Exotel's status callbacks move it along
// (in_progress, completed, busy, no_answer, failed) with its duration and recording.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { messageIdentifiers } from '../logistics/identifiers.js';
import { getMessage } from '../messages/service.js';
import { AppError, invalid, notFound } from '../errors.js';
import { enqueue } from '../jobs/enqueue.js';
import { announceMessage } from '../messages/announce.js';
import { normalizePhone } from './common.js';
import { jobSpecs } from '../jobs/specs.js';
import { rollUp } from '../threads/roll-up.js';

export const callCreate = z.strictObject({
  /** The number to call; by default the thread's counterpart, else its contact's phone. */
  to: z.string().trim().min(3).max(40).optional(),
  /** A voice channel of the organization; by default the thread's, else the first active one. */
  channelId: z.uuid().optional(),
});

export async function startCall(ctx: Ctx, threadId: string, input: z.infer<typeof callCreate>) {
  const sql = ctx.sql;
  const [thread] = await sql<
    { id: string; channelId: string | null; counterpart: string | null; contactPhone: string | null; contactWhatsapp: string | null }[]
  >`
    select t.id, t.channel_id, t.counterpart, c.phone as contact_phone, c.whatsapp as contact_whatsapp
    from app.threads t left join app.contacts c on c.id = t.contact_id
    where t.id = ${threadId} and t.org_id = ${ctx.orgId}`;
  if (!thread) throw notFound('Thread');
  const to = input.to
    ? normalizePhone(input.to)
    : (normalizePhone(thread.counterpart) ?? normalizePhone(thread.contactPhone) ?? normalizePhone(thread.contactWhatsapp));
  if (!to) throw invalid('body.to', input.to ? 'is not a phone number' : 'is required: the thread has no phone number to call');
  const [channel] = await sql<{ id: string; address: string }[]>`
    select id, address from app.channels
    where org_id = ${ctx.orgId} and kind = 'voice' and status <> 'disabled'
      ${input.channelId ? sql`and id = ${input.channelId}` : sql``}
    order by (id = ${thread.channelId}) desc nulls last, created_at limit 1`;
  if (!channel) {
    throw input.channelId
      ? invalid('body.channelId', 'is not an active voice channel of this organization')
      : new AppError('validation_failed', 'No active voice channel (ExoPhone) to call from: add one first', {
          issues: [{ path: 'thread.channel', message: 'no active voice channel' }],
        });
  }
  const [member] = await sql<{ phone: string | null }[]>`select phone from app.members where org_id = ${ctx.orgId} and user_id = ${ctx.userId}`;
  if (!member?.phone) throw invalid('member.phone', 'add your phone number to your membership first: Exotel rings it before the customer');
  const [row] = await sql<{ id: string; occurredAt: Date }[]>`
    insert into app.messages ${sql({
      orgId: ctx.orgId,
      threadId,
      channel: 'voice',
      channelId: channel.id,
      kind: 'call',
      direction: 'outbound',
      status: 'ringing',
      fromAddress: channel.address,
      toRecipients: sql.json([{ address: to }] as never),
      bodyText: `Call to ${to}`,
      snippet: `Call to ${to}`,
      identifiers: messageIdentifiers({ subject: null, body: `Call to ${to}` }),
      contentType: 'call',
      authorId: ctx.userId,
      metadata: sql.json({ agentPhone: member.phone, customerPhone: to } as never),
    } as never)}
    returning id, occurred_at`;
  await enqueue(ctx, jobSpecs.exotelCallConnect, { messageId: row!.id }, { dedupeKey: row!.id });
  await rollUp(ctx, { threadId, messageId: row!.id, at: row!.occurredAt, snippet: `Call to ${to}`, direction: 'outbound', source: 'call' });
  await announceMessage(ctx, row!.id, { action: 'call.started', data: { to, channelId: channel.id } }, 'message.created');
  const message = await getMessage(ctx, row!.id);
  return message;
}
