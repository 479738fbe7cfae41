// What an Exotel callback does once it is authenticated and parsed, under the channel organization's
// system claims: an incoming WhatsApp message or SMS lands on the contact (matched on the E.164 number,
// created when unknown) and on their open thread on that channel (a new one otherwise), exactly once;
// delivery reports move our outbound message forward (the status trigger ignores reports out of order);
// call status callbacks and incoming calls (Passthru) record a call on the thread, and a missed
// incoming call opens a call-back action. Media and recordings are copied into storage by a job.
import { extractIdentifiers } from '../logistics/identifiers.js';
import { linkShipments } from '../logistics/links.js';
import type { Ctx } from '../context.js';
import { contactByNumber } from '../contacts/identity.js';
import { contactName } from '../contacts/limits.js';
import { announceMessage } from '../messages/announce.js';
import { makeSnippet } from '../email/quoted.js';
import { enqueue } from '../jobs/enqueue.js';
import { recordChange, topics } from '../realtime.js';
import { actionCreate, createAction } from '../actions/service.js';
import { lockCounterpart } from '../threads/counterpart.js';
import { continuesThread, rollUp } from '../threads/roll-up.js';
import type { ExotelChannel, ExotelKind } from './common.js';
import { enqueueAnalysis, jobSpecs } from '../jobs/specs.js';

export type InboundContentType = 'text' | 'image' | 'document' | 'audio' | 'video' | 'location' | 'contacts';

export interface InboundMessage {
  from: string;
  name: string | null;
  occurredAt: Date;
  contentType: InboundContentType;
  text: string;
  media: { url: string; mimeType: string | null; filename: string | null; caption: string | null } | null;
  metadata: Record<string, unknown>;
  providerId: string | null;
  dedupeKey: string;
}

export interface Outcome {
  outcome: 'stored' | 'duplicate' | 'updated' | 'ignored';
  messageId?: string;
  threadId?: string;
}

const LABEL: Record<ExotelKind, string> = { whatsapp: 'WhatsApp', sms: 'SMS', voice: 'Call' };

/** The contact this number reaches (lib/contacts/identity.ts: WhatsApp number first on WhatsApp), created when unknown. */
async function contactFor(ctx: Ctx, kind: ExotelKind, number: string, name: string | null): Promise<{ id: string; customerId: string | null }> {
  const sql = ctx.sql;
  const found = await contactByNumber(ctx, number, kind === 'whatsapp' ? 'whatsapp' : 'phone');
  if (found) return found;
  const [created] = await sql<{ id: string; customerId: string | null }[]>`
    insert into app.contacts (org_id, name, phone, whatsapp)
    values (${ctx.orgId}, ${contactName(name)}, ${number}, ${kind === 'whatsapp' ? number : null})
    returning id, customer_id`;
  await recordChange(ctx, {
    event: 'contact.created',
    topics: [topics.org(ctx.orgId)],
    data: { id: created!.id, name: contactName(name), phone: number, whatsapp: kind === 'whatsapp' ? number : null, customerId: null },
    audit: { action: 'contact.created', entityType: 'contact', entityId: created!.id, data: { source: `exotel.${kind}` } },
  });
  return created!;
}

/**
 * The contact's latest thread on this channel when the message continues it (the rule every channel
 * shares: not closed, nor resolved long ago), or a new one. Under the number's lock, so simultaneous
 * messages from a new number make one contact and one thread.
 */
async function threadFor(ctx: Ctx, channel: ExotelChannel, number: string, name: string | null, at: Date) {
  const sql = ctx.sql;
  await lockCounterpart(ctx, number);
  const contact = await contactFor(ctx, channel.kind, number, name);
  // A thread merged into another leads to the one it was merged into.
  const [previous] = await sql<{ id: string; status: string; resolvedAt: Date | null }[]>`
    select t.id, t.status, t.resolved_at from app.threads w join app.threads t on t.org_id = w.org_id and t.id = coalesce(w.merged_into_thread_id, w.id)
    where w.org_id = ${ctx.orgId} and w.counterpart_key = app.index_key(${number}) and w.counterpart = ${number}
      and w.channel = ${channel.kind} and w.channel_id = ${channel.id}
    order by w.last_activity_at desc limit 1`;
  if (previous && continuesThread(previous, at)) return { id: previous.id, created: false, contact };
  const subject = `${LABEL[channel.kind]} ${name ? `${name} (${number})` : number}`;
  const [created] = await sql<{ id: string; status: string }[]>`
    insert into app.threads (org_id, subject, normalized_subject, channel, channel_id, customer_id, contact_id, counterpart, previous_thread_id, last_activity_at)
    values (${ctx.orgId}, ${subject}, ${subject.toLowerCase()}, ${channel.kind}, ${channel.id}, ${contact.customerId}, ${contact.id}, ${number},
      ${previous?.id ?? null}, ${at})
    returning id`;
  return { id: created!.id, created: true, contact };
}

/** Stores one incoming WhatsApp message or SMS, once per dedupe key. */
export async function ingestExotelMessage(ctx: Ctx, channel: ExotelChannel, m: InboundMessage): Promise<Outcome> {
  const sql = ctx.sql;
  const dedupeKey = `exotel:${m.dedupeKey}`;
  await sql`select pg_advisory_xact_lock(hashtextextended(${`${ctx.orgId}:${dedupeKey}`}, 0))`;
  const [dup] = await sql<{ id: string; threadId: string }[]>`
    select id, thread_id from app.messages where org_id = ${ctx.orgId} and dedupe_key = ${dedupeKey}`;
  if (dup) return { outcome: 'duplicate', messageId: dup.id, threadId: dup.threadId };
  const thread = await threadFor(ctx, channel, m.from, m.name, m.occurredAt);
  const shown = m.text || (m.media ? `[${m.contentType}${m.media.filename ? `: ${m.media.filename}` : ''}]` : `[${m.contentType}]`);
  const snippet = makeSnippet(shown);
  const [row] = await sql<{ id: string }[]>`
    insert into app.messages ${sql({
      orgId: ctx.orgId,
      threadId: thread.id,
      channel: channel.kind,
      channelId: channel.id,
      direction: 'inbound',
      status: 'received',
      fromAddress: m.from,
      fromName: m.name,
      toRecipients: sql.json([{ address: channel.address }] as never),
      bodyText: m.text,
      bodyNewText: m.text,
      snippet: snippet,
      contentType: m.contentType,
      providerMessageId: m.providerId,
      externalIds: m.providerId ? [m.providerId] : [],
      dedupeKey,
      occurredAt: m.occurredAt,
      metadata: sql.json({ ...m.metadata, ...(m.media ? { media: m.media } : {}) } as never),
    } as never)}
    returning id`;
  const messageId = row!.id;
  if (m.media) await enqueue(ctx, jobSpecs.exotelMediaFetch, { messageId, url: m.media.url, purpose: 'media' }, { dedupeKey: `exotel.media:${messageId}` });
  // Customer text is analysed (intent, sentiment, urgency ...) and linked to shipments like inbound email.
  if (m.text.trim()) {
    await enqueueAnalysis(ctx, messageId);
    await linkShipments(ctx, messageId, thread.id, extractIdentifiers(m.text));
  }
  await rollUp(ctx, {
    threadId: thread.id,
    messageId,
    at: m.occurredAt,
    snippet,
    direction: 'inbound',
    created: thread.created,
    source: `exotel.${channel.kind}`,
    fills: { customerId: thread.contact.customerId, contactId: thread.contact.id },
  });
  await announceMessage(ctx, messageId, undefined, 'message.created');
  return { outcome: 'stored', messageId, threadId: thread.id };
}

export interface DeliveryReport {
  sid: string | null;
  customData: string | null;
  status: 'sent' | 'delivered' | 'read' | 'failed' | null;
  code: string | null;
  reason: string | null;
  at: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Moves our outbound message (found by the provider's sid, else by the id we sent as custom data) forward. */
export async function applyDeliveryReport(ctx: Ctx, channel: ExotelChannel, r: DeliveryReport): Promise<Outcome> {
  const sql = ctx.sql;
  if (!r.status) return { outcome: 'ignored' };
  const [m] = await sql<{ id: string; status: string; threadId: string }[]>`
    select id, status, thread_id from app.messages
    where org_id = ${ctx.orgId} and channel_id = ${channel.id} and direction = 'outbound' and kind = 'message'
      and (${r.sid ? sql`provider_message_id = ${r.sid}` : sql`false`} or ${r.customData && UUID.test(r.customData) ? sql`id = ${r.customData}` : sql`false`})
    order by (provider_message_id = ${r.sid ?? ''}) desc limit 1
    for update`;
  if (!m) return { outcome: 'ignored' };
  const at = { sent: sql`sent_at`, delivered: sql`delivered_at`, read: sql`read_at`, failed: sql`failed_at` }[r.status];
  const [after] = await sql<{ status: string }[]>`
    update app.messages set status = ${r.status}, ${at} = coalesce(${at}, ${r.at}),
      provider_message_id = coalesce(provider_message_id, ${r.sid}),
      external_ids = case when ${r.sid}::text is null or external_ids @> array[${r.sid}]::text[] then external_ids else external_ids || array[${r.sid}]::text[] end
    where id = ${m.id} returning status`;
  const changed = after!.status === r.status && m.status !== r.status;
  if (changed && r.status === 'failed') {
    await sql`update app.messages set error_code = ${(r.code ?? 'failed').slice(0, 100)}, error_message = ${(r.reason ?? 'Exotel reported a failure').slice(0, 1000)} where id = ${m.id}`;
  }
  if (changed) await announceMessage(ctx, m.id, { action: `message.${r.status}`, data: { provider: 'exotel', code: r.code } });
  return { outcome: changed ? 'updated' : 'ignored', messageId: m.id, threadId: m.threadId };
}

export type CallStatus = 'ringing' | 'in_progress' | 'completed' | 'busy' | 'no_answer' | 'failed';

/** Exotel's call statuses (and Passthru's DialCallStatus / CallType) in our model. */
export function callStatusOf(value: string | null | undefined): CallStatus | null {
  const v = (value ?? '').toLowerCase().replace(/_/g, '-');
  if (v === 'queued' || v === 'ringing' || v === 'initiated') return 'ringing';
  if (v === 'in-progress' || v === 'answered') return 'in_progress';
  if (v === 'completed' || v === 'answered-completed') return 'completed';
  if (v === 'busy') return 'busy';
  if (v === 'no-answer' || v === 'call-attempt' || v === 'incomplete' || v === 'missed') return 'no_answer';
  if (v === 'failed' || v === 'canceled' || v === 'cancelled' || v === 'client-hangup') return 'failed';
  return null;
}

export interface CallUpdate {
  callSid: string;
  customData: string | null;
  status: CallStatus | null;
  durationSeconds: number | null;
  recordingUrl: string | null;
  raw: Record<string, unknown>;
}

async function recordCallUpdate(ctx: Ctx, id: string, before: { status: string }, u: CallUpdate): Promise<boolean> {
  const sql = ctx.sql;
  const [after] = await sql<{ status: string }[]>`
    update app.messages set
      ${u.status ? sql`status = ${u.status},` : sql``}
      call_duration_seconds = coalesce(${u.durationSeconds}, call_duration_seconds),
      provider_message_id = coalesce(provider_message_id, ${u.callSid}),
      metadata = metadata || ${sql.json({ call: u.raw, ...(u.recordingUrl ? { recordingUrl: u.recordingUrl } : {}) } as never)}
    where id = ${id} returning status`;
  if (u.recordingUrl)
    await enqueue(ctx, jobSpecs.exotelMediaFetch, { messageId: id, url: u.recordingUrl, purpose: 'recording' }, { dedupeKey: `exotel.recording:${id}` });
  return after!.status !== before.status || Boolean(u.recordingUrl) || u.durationSeconds !== null;
}

/** A status callback of a call we placed (click-to-call). */
export async function applyCallStatus(ctx: Ctx, channel: ExotelChannel, u: CallUpdate): Promise<Outcome> {
  const sql = ctx.sql;
  const [m] = await sql<{ id: string; status: string; threadId: string }[]>`
    select id, status, thread_id from app.messages
    where org_id = ${ctx.orgId} and channel_id = ${channel.id} and kind = 'call'
      and (provider_message_id = ${u.callSid} or ${u.customData && UUID.test(u.customData) ? sql`id = ${u.customData}` : sql`false`})
    limit 1 for update`;
  if (!m) return { outcome: 'ignored' };
  const changed = await recordCallUpdate(ctx, m.id, m, u);
  if (changed) await announceMessage(ctx, m.id, { action: 'message.call_updated', data: { provider: 'exotel', status: u.status } });
  return { outcome: changed ? 'updated' : 'ignored', messageId: m.id, threadId: m.threadId };
}

/** Passthru: an incoming call on the ExoPhone (first or later hit for the same CallSid). */
export async function ingestIncomingCall(ctx: Ctx, channel: ExotelChannel, from: string, u: CallUpdate & { at: Date }): Promise<Outcome> {
  const sql = ctx.sql;
  const dedupeKey = `exotel:call:${u.callSid}`;
  await sql`select pg_advisory_xact_lock(hashtextextended(${`${ctx.orgId}:${dedupeKey}`}, 0))`;
  const [existing] = await sql<{ id: string; status: string; threadId: string }[]>`
    select id, status, thread_id from app.messages where org_id = ${ctx.orgId} and dedupe_key = ${dedupeKey} for update`;
  let messageId: string;
  let threadId: string;
  let outcome: Outcome['outcome'];
  if (existing) {
    const changed = await recordCallUpdate(ctx, existing.id, existing, u);
    if (changed) await announceMessage(ctx, existing.id, { action: 'message.call_updated', data: { provider: 'exotel', status: u.status } });
    messageId = existing.id;
    threadId = existing.threadId;
    outcome = changed ? 'updated' : 'duplicate';
  } else {
    const thread = await threadFor(ctx, channel, from, null, u.at);
    const status = u.status ?? 'ringing';
    const text = status === 'no_answer' || status === 'busy' || status === 'failed' ? 'Missed call' : 'Incoming call';
    const [row] = await sql<{ id: string }[]>`
      insert into app.messages ${sql({
        orgId: ctx.orgId,
        threadId: thread.id,
        channel: 'voice',
        channelId: channel.id,
        kind: 'call',
        direction: 'inbound',
        status,
        fromAddress: from,
        toRecipients: sql.json([{ address: channel.address }] as never),
        bodyText: text,
        snippet: text,
        contentType: 'call',
        providerMessageId: u.callSid,
        externalIds: [u.callSid],
        dedupeKey,
        callDurationSeconds: u.durationSeconds,
        occurredAt: u.at,
        metadata: sql.json({ call: u.raw, ...(u.recordingUrl ? { recordingUrl: u.recordingUrl } : {}) } as never),
      } as never)}
      returning id`;
    messageId = row!.id;
    threadId = thread.id;
    if (u.recordingUrl)
      await enqueue(ctx, jobSpecs.exotelMediaFetch, { messageId, url: u.recordingUrl, purpose: 'recording' }, { dedupeKey: `exotel.recording:${messageId}` });
    await rollUp(ctx, {
      threadId: thread.id,
      messageId,
      at: u.at,
      snippet: text,
      direction: 'inbound',
      created: thread.created,
      source: 'exotel.voice',
      fills: { customerId: thread.contact.customerId, contactId: thread.contact.id },
    });
    await announceMessage(ctx, messageId, undefined, 'message.created');
    outcome = 'stored';
  }
  const [now] = await sql<{ status: string }[]>`select status from app.messages where id = ${messageId}`;
  if (['no_answer', 'busy', 'failed'].includes(now!.status)) await missedCallAction(ctx, threadId, messageId, from);
  return { outcome, messageId, threadId };
}

/**
 * One call-back action per missed call, made like every action (lib/actions/service.ts: its event,
 * audit row and the assignee's notification), for the thread's assignee when they can still work it.
 */
async function missedCallAction(ctx: Ctx, threadId: string, messageId: string, from: string) {
  const sql = ctx.sql;
  const marker = `call:${messageId}`;
  const [exists] =
    await sql`select 1 from app.actions where org_id = ${ctx.orgId} and thread_id = ${threadId} and type = 'call_back' and description = ${marker}`;
  if (exists) return;
  const [thread] = await sql<{ assigneeId: string | null }[]>`
    select m.user_id as assignee_id from app.threads t
    join app.members m on m.org_id = t.org_id and m.user_id = t.assignee_id and m.status = 'active' and m.role <> 'viewer'
    where t.id = ${threadId}`;
  await createAction(
    ctx,
    actionCreate.parse({
      threadId,
      title: `Call back ${from}`,
      description: marker,
      type: 'call_back',
      priority: 'high',
      dueAt: new Date(Date.now() + 3_600_000).toISOString(),
      ...(thread?.assigneeId ? { assigneeId: thread.assigneeId } : {}),
    }),
  );
}
