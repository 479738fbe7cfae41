// What an Exotel callback does once it is authenticated and parsed, under the channel organization's
// system claims: an incoming WhatsApp message or SMS lands on the contact (matched on the E.164 number,
// created when unknown) and on their open thread on that channel (a new one otherwise), exactly once;
// delivery reports move our outbound message forward (the status trigger ignores reports out of order);
// call callbacks (status callback, Passthru) record a call on the thread and move it on in whatever
// order they come; an incoming call that ended unanswered opens a call-back action, cancelled again if a
// later callback says it was answered. Media and recordings are copied into storage by a job. A number
// the sender rules block (or mark bulk) lands on a thread of that status and starts no work.
import { canonicalIdentifiers, extractIdentifiers, messageIdentifiers } from '../logistics/identifiers.js';
import { linkShipments } from '../logistics/links.js';
import type { Ctx } from '../context.js';
import { contactByNumber } from '../contacts/identity.js';
import { contactName } from '../contacts/limits.js';
import { announceMessage } from '../messages/announce.js';
import { makeSnippet } from '../email/quoted.js';
import { enqueue } from '../jobs/enqueue.js';
import { recordChange, topics } from '../realtime.js';
import { actionCreate, actionUpdate, createAction, updateAction } from '../actions/service.js';
import { notify, threadEscalation } from '../notifications/notify.js';
import { lockCounterpart } from '../threads/counterpart.js';
import { continuesThread, rollUp } from '../threads/roll-up.js';
import { isFiltered, senderVerdict, type Filtered } from '../sender-rules/verdict.js';
import { now } from '../time.js';
import { announceThread } from '../threads/view.js';
import type { ExotelChannel, ExotelKind } from './common.js';
import { enqueueAnalysis, jobSpecs } from '../jobs/specs.js';

export type InboundContentType = 'text' | 'image' | 'document' | 'audio' | 'video' | 'location' | 'contacts';

export interface InboundMessage {
  from: string;
  name: string | null;
  occurredAt: Date;
  contentType: InboundContentType;
  text: string;
  /** A download URL, or (newer WhatsApp events) only the provider's media id, which cannot be fetched. */
  media: { url: string | null; id?: string; mimeType: string | null; filename: string | null; caption: string | null } | null;
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
  const { filter } = await senderVerdict(ctx, { phone: number });
  // A thread merged into another leads to the one it was merged into.
  const [previous] = await sql<{ id: string; status: string; resolvedAt: Date | null }[]>`
    select t.id, t.status, t.resolved_at from app.threads w join app.threads t on t.org_id = w.org_id and t.id = coalesce(w.merged_into_thread_id, w.id)
    where w.org_id = ${ctx.orgId} and w.counterpart_key = app.index_key(${number}) and w.counterpart = ${number}
      and w.channel = ${channel.kind} and w.channel_id = ${channel.id}
    order by w.last_activity_at desc limit 1`;
  if (previous && continuesThread(previous, at, filter)) return { id: previous.id, created: false, contact, filter };
  const subject = `${LABEL[channel.kind]} ${name ? `${name} (${number})` : number}`;
  const [created] = await sql<{ id: string; status: string }[]>`
    insert into app.threads (org_id, subject, normalized_subject, channel, channel_id, customer_id, contact_id, counterpart, previous_thread_id, last_activity_at, status)
    values (${ctx.orgId}, ${subject}, ${subject.toLowerCase()}, ${channel.kind}, ${channel.id}, ${contact.customerId}, ${contact.id}, ${number},
      ${previous?.id ?? null}, ${at}, ${filter ?? 'open'})
    returning id`;
  return { id: created!.id, created: true, contact, filter: filter as Filtered | null };
}

/**
 * How a media file or call recording that could not be copied into storage is recorded on its message
 * (metadata.media.fetchError, metadata.recordingError), for the web app to show why there is no file.
 */
export function fetchFailure(reason: string): { reason: string; at: string } {
  return { reason: reason.slice(0, 1000), at: new Date().toISOString() };
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
  const identifiers = extractIdentifiers(m.text);
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
      identifiers: canonicalIdentifiers(identifiers),
      dedupeKey,
      occurredAt: m.occurredAt,
      metadata: sql.json({
        ...m.metadata,
        ...(m.media
          ? { media: m.media.url ? m.media : { ...m.media, fetchError: fetchFailure(`Exotel sent the media id ${m.media.id} without a download URL`) } }
          : {}),
      } as never),
    } as never)}
    returning id`;
  const messageId = row!.id;
  if (m.media?.url)
    await enqueue(ctx, jobSpecs.exotelMediaFetch, { messageId, url: m.media.url, purpose: 'media' }, { dedupeKey: `exotel.media:${messageId}` });
  // Customer text is analysed (intent, sentiment, urgency ...) and linked to shipments like inbound
  // email; a blocked number's is only kept.
  if (m.text.trim() && !thread.filter) {
    await enqueueAnalysis(ctx, messageId);
    await linkShipments(ctx, messageId, thread.id, identifiers);
  }
  await rollUp(ctx, {
    threadId: thread.id,
    messageId,
    at: m.occurredAt,
    snippet,
    direction: 'inbound',
    filtered: thread.filter !== null,
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

/**
 * A call status as Exotel writes it (Status of the call status callback, CallStatus of the connect
 * applet, DialCallStatus of Passthru: queued, ringing, in-progress, completed, busy, failed, no-answer,
 * canceled) in our model; null when it says nothing we know.
 * https://developer.exotel.com/api/statuscallback, https://support.exotel.com/support/solutions/articles/3000088074
 */
export function callStatusOf(value: string | null | undefined): CallStatus | null {
  const v = (value ?? '').trim().toLowerCase().replace(/_/g, '-');
  if (v === 'queued' || v === 'ringing' || v === 'initiated') return 'ringing';
  if (v === 'in-progress' || v === 'answered') return 'in_progress';
  if (v === 'completed') return 'completed';
  if (v === 'busy') return 'busy';
  if (v === 'no-answer') return 'no_answer';
  if (v === 'failed' || v === 'canceled' || v === 'cancelled') return 'failed';
  return null;
}

/**
 * Where an incoming call stands by what one Passthru hit says. Its CallType depends on where the applet
 * sits in the flow (https://support.exotel.com/support/solutions/articles/48283-working-with-passthru-applet):
 * `call-attempt` means the caller is (or was) in the IVR and no connect applet was reached yet: nobody
 * could have answered, so the call is not missed, only still going; `completed` a conversation
 * happened; `client-hangup` the caller hung up while being connected; `incomplete` the connect applet
 * reached no one; `voicemail` the caller was sent to voicemail. A DialCallStatus, when Exotel adds one
 * after a connect applet, says the same of the dialled leg.
 */
export function passthruStatusOf(f: { CallType?: string; DialCallStatus?: string; CallStatus?: string }): CallStatus {
  const type = (f.CallType ?? '').trim().toLowerCase();
  const dial = callStatusOf(f.DialCallStatus);
  if (type === 'completed' || dial === 'completed') return 'completed';
  if (dial === 'busy' || dial === 'no_answer' || dial === 'failed') return dial;
  if (type === 'incomplete' || type === 'client-hangup' || type === 'voicemail') return 'no_answer';
  if (type === 'call-attempt' || type === 'call') return 'ringing';
  const status = callStatusOf(f.CallStatus);
  return status === 'completed' || status === null ? 'ringing' : status;
}

/** The endings of a call that nobody answered: an incoming one is a missed call. */
const UNANSWERED: readonly string[] = ['busy', 'no_answer', 'failed'];

function spoken(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h} h` : '', m ? `${m} min` : '', s || seconds === 0 ? `${s} s` : ''].filter(Boolean).join(' ');
}

/**
 * What an incoming call's message says (its body and snippet), from where the call stands: "Missed
 * call" once it ended unanswered, "Call, 2 min 5 s" once answered with a known duration, "Incoming
 * call" otherwise (still in the IVR or ringing, or answered without a duration yet).
 */
export function incomingCallText(status: string, durationSeconds: number | null): string {
  if (UNANSWERED.includes(status)) return 'Missed call';
  if (status === 'completed' && durationSeconds) return `Call, ${spoken(durationSeconds)}`;
  return 'Incoming call';
}

export interface CallUpdate {
  callSid: string;
  /** The message id we sent as CustomField when we placed the call (click-to-call). */
  customData: string | null;
  status: CallStatus | null;
  durationSeconds: number | null;
  recordingUrl: string | null;
  raw: Record<string, unknown>;
  /**
   * The caller, when the callback is about an incoming call (Passthru, or a status callback whose
   * Direction says inbound): such a callback records the call even when it is the first we hear of it.
   */
  caller: string | null;
  at: Date;
}

interface CallRow {
  id: string;
  threadId: string;
  direction: 'inbound' | 'outbound';
  status: string;
  callDurationSeconds: number | null;
  snippet: string;
  fromAddress: string | null;
}

/**
 * Every call callback (status callback, Passthru) of a voice channel: the call it is about (found by
 * its CallSid, or the message id we sent as custom data) moves on, or an incoming call is recorded
 * the first time we hear of it. Callbacks come in any order and more than once: the database keeps a
 * call's status from moving back (app.call_status_rank: ringing < in progress < unanswered endings <
 * completed), and a callback older than what is known changes neither the duration nor the call's
 * details. An incoming call's text follows its status (incomingCallText), and its call-back action
 * follows too (settleCallBack).
 */
export async function applyCall(ctx: Ctx, channel: ExotelChannel, u: CallUpdate): Promise<Outcome> {
  const sql = ctx.sql;
  const dedupeKey = `exotel:call:${u.callSid}`;
  // The same lock for every callback of the call: the first two for a new call make one message.
  await sql`select pg_advisory_xact_lock(hashtextextended(${`${ctx.orgId}:${dedupeKey}`}, 0))`;
  const [m] = await sql<CallRow[]>`
    select id, thread_id, direction, status, call_duration_seconds, snippet, from_address from app.messages
    where org_id = ${ctx.orgId} and channel_id = ${channel.id} and kind = 'call'
      and (provider_message_id = ${u.callSid} or dedupe_key = ${dedupeKey}
        or ${u.customData && UUID.test(u.customData) ? sql`id = ${u.customData}` : sql`false`})
    order by (provider_message_id = ${u.callSid}) desc nulls last limit 1
    for update`;
  if (!m) return u.caller ? recordIncomingCall(ctx, channel, u.caller, dedupeKey, u) : { outcome: 'ignored' };

  const status = u.status === null ? null : sql`${u.status}::text`;
  // Not older than what is known: no status, or one that ranks at least as high as the current one.
  const current = status === null ? sql`true` : sql`app.call_status_rank(${status}) >= app.call_status_rank(status)`;
  const [after] = await sql<{ status: string; callDurationSeconds: number | null }[]>`
    update app.messages set
      status = ${status ?? sql`status`},
      call_duration_seconds = case when ${current} then coalesce(${u.durationSeconds}::int, call_duration_seconds) else call_duration_seconds end,
      provider_message_id = coalesce(provider_message_id, ${u.callSid}),
      external_ids = case when external_ids @> array[${u.callSid}]::text[] then external_ids else external_ids || array[${u.callSid}]::text[] end,
      metadata = case when ${current}
          then jsonb_set(metadata, '{call}', coalesce(metadata -> 'call', '{}'::jsonb) || ${sql.json(u.raw as never)}::jsonb)
          else metadata end
        || ${sql.json((u.recordingUrl ? { recordingUrl: u.recordingUrl } : {}) as never)}::jsonb
    where id = ${m.id}
    returning status, call_duration_seconds`;
  if (u.recordingUrl) await fetchRecording(ctx, m.id, u.recordingUrl);
  let changed = after!.status !== m.status || after!.callDurationSeconds !== m.callDurationSeconds || Boolean(u.recordingUrl);
  if (m.direction === 'inbound') {
    const text = incomingCallText(after!.status, after!.callDurationSeconds);
    if (text !== m.snippet) {
      await sql`update app.messages set body_text = ${text}, snippet = ${text} where id = ${m.id}`;
      // The thread shows the call's old text when the call is its latest message.
      const threads = await sql`
        update app.threads set snippet = ${text}
        where id = ${m.threadId} and org_id = ${ctx.orgId} and snippet = ${m.snippet}
          and last_message_at = (select occurred_at from app.messages where id = ${m.id})
        returning id`;
      if (threads.length) await announceThread(ctx, 'thread.updated', m.threadId);
      changed = true;
    }
  }
  if (changed) {
    await announceMessage(ctx, m.id, { action: 'message.call_updated', data: { provider: 'exotel', status: after!.status, reported: u.status } });
    await settleCallBack(ctx, { ...m, status: after!.status });
  }
  return { outcome: changed ? 'updated' : 'ignored', messageId: m.id, threadId: m.threadId };
}

function fetchRecording(ctx: Ctx, messageId: string, url: string) {
  return enqueue(ctx, jobSpecs.exotelMediaFetch, { messageId, url, purpose: 'recording' }, { dedupeKey: `exotel.recording:${messageId}` });
}

/** The first we hear of an incoming call: its message on the caller's thread. */
async function recordIncomingCall(ctx: Ctx, channel: ExotelChannel, from: string, dedupeKey: string, u: CallUpdate): Promise<Outcome> {
  const sql = ctx.sql;
  const thread = await threadFor(ctx, channel, from, null, u.at);
  const status = u.status ?? 'ringing';
  const text = incomingCallText(status, u.durationSeconds);
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
      identifiers: messageIdentifiers({ subject: null, body: text }),
      contentType: 'call',
      providerMessageId: u.callSid,
      externalIds: [u.callSid],
      dedupeKey,
      callDurationSeconds: u.durationSeconds,
      occurredAt: u.at,
      metadata: sql.json({ call: u.raw, ...(u.recordingUrl ? { recordingUrl: u.recordingUrl } : {}) } as never),
    } as never)}
    returning id`;
  const messageId = row!.id;
  if (u.recordingUrl) await fetchRecording(ctx, messageId, u.recordingUrl);
  await rollUp(ctx, {
    threadId: thread.id,
    messageId,
    at: u.at,
    snippet: text,
    direction: 'inbound',
    filtered: thread.filter !== null,
    created: thread.created,
    source: 'exotel.voice',
    fills: { customerId: thread.contact.customerId, contactId: thread.contact.id },
  });
  await announceMessage(ctx, messageId, undefined, 'message.created');
  await settleCallBack(ctx, { id: messageId, threadId: thread.id, direction: 'inbound', status, fromAddress: from });
  return { outcome: 'stored', messageId, threadId: thread.id };
}

/**
 * The call-back action of an incoming call follows how the call ended: one is opened when the call
 * ended unanswered (made like every action, lib/actions/service.ts: its event, audit row and the
 * assignee's notification, for the thread's assignee when they can still work it), and an open one is
 * cancelled (updated like every action, never deleted) once a later callback says the call was answered.
 */
async function settleCallBack(ctx: Ctx, call: Pick<CallRow, 'id' | 'threadId' | 'direction' | 'status' | 'fromAddress'>) {
  if (call.direction !== 'inbound') return;
  const sql = ctx.sql;
  const marker = `call:${call.id}`;
  const actions = await sql<{ id: string; status: string }[]>`
    select id, status from app.actions where org_id = ${ctx.orgId} and type = 'call_back' and description = ${marker} for update`;
  if (call.status === 'completed') {
    for (const a of actions) if (a.status === 'open' || a.status === 'in_progress') await updateAction(ctx, a.id, actionUpdate.parse({ status: 'cancelled' }));
    return;
  }
  if (!UNANSWERED.includes(call.status) || actions.length > 0) return;
  const [thread] = await sql<{ status: string; assigneeId: string | null }[]>`
    select t.status, m.user_id as assignee_id from app.threads t
    left join app.members m on m.org_id = t.org_id and m.user_id = t.assignee_id and m.status = 'active' and m.role <> 'viewer'
    where t.id = ${call.threadId}`;
  // A missed call from a number kept out of the inbox asks nobody to call back.
  if (!thread || isFiltered(thread.status)) return;
  const action = await createAction(
    ctx,
    actionCreate.parse({
      threadId: call.threadId,
      title: `Call back ${call.fromAddress ?? 'the caller'}`,
      description: marker,
      type: 'call_back',
      priority: 'high',
      dueAt: new Date(now().getTime() + 3_600_000).toISOString(),
      ...(thread?.assigneeId ? { assigneeId: thread.assigneeId } : {}),
    }),
    { notifyAssignee: false },
  );
  // One notice of the missed call (the call-back is its action): the assignee, or when nobody has the
  // thread, its team's leads (every manager without a team).
  await notify(ctx, thread.assigneeId ? [thread.assigneeId] : await threadEscalation(ctx, call.threadId, { withAssignee: false }), {
    type: 'missed_call',
    title: `Missed call from ${call.fromAddress ?? 'an unknown number'}`,
    body: action.title,
    threadId: call.threadId,
    entityType: 'action',
    entityId: action.id,
  });
}
