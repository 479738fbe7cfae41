// GET/HEAD/POST /api/webhooks/exotel/{channelId}?token=<secret>: every Exotel callback of one channel.
// Exotel does not sign webhooks, so the channel's secret travels in the URL and is compared in constant
// time with the stored hash (and the previous one during its grace period); a wrong or missing token
// answers 401 and stores nothing. Each event of a callback (one WhatsApp callback may carry several
// messages) is stored once in app.webhook_events (provider 'exotel', dedupe on the provider's sid, or
// a hash of channel, sender, time and content) and applied under the organization's system claims.
// Payload shapes differ between Exotel's pages: they are parsed defensively, and one that cannot be
// understood answers a 4xx naming what is missing, never a 500.
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { config } from '../config.js';
import { asSystem, type Ctx, type QueuedJob } from '../context.js';
import { db } from '../db/client.js';
import { AppError } from '../errors.js';
import { errorResponse } from '../http/errors.js';
import { readBody, requestIdOf, toErrorResponse } from '../http/route.js';
import { finishWebhookEvent, storeWebhookEvent } from '../http/webhook-events.js';
import { publishJobs } from '../jobs/publish.js';
import { log } from '../log.js';
import { EXOTEL_KINDS, normalizePhone, tokenMatches, type ExotelChannel, type SecretHashes } from './common.js';
import {
  applyCall,
  applyDeliveryReport,
  callStatusOf,
  ingestExotelMessage,
  passthruStatusOf,
  type DeliveryReport,
  type InboundContentType,
  type InboundMessage,
  type Outcome,
} from './inbound.js';
import { withoutNul } from '../validation.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One thing a callback tells us, ready to store and apply. */
export interface ExotelEvent {
  kind: string;
  dedupeKey: string;
  payload: unknown;
  apply(ctx: Ctx, channel: ExotelChannel): Promise<Outcome>;
}

/** A callback (or one entry of it) we cannot use: the reason becomes the 4xx message. */
export class Unusable extends Error {}

const hash = (...parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 40);

/** ISO text, "YYYY-MM-DD HH:MM:SS" (India time, as Exotel's v1 sends it) or unix seconds / milliseconds. */
export function parseTime(value: unknown): Date {
  if (value === undefined || value === null || value === '') return new Date();
  const s = String(value).trim();
  if (/^\d{9,13}$/.test(s)) {
    const n = Number(s);
    return new Date(s.length > 11 ? n : n * 1000);
  }
  const local = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})$/.exec(s);
  const d = new Date(local ? `${local[1]}T${local[2]}+05:30` : s);
  return Number.isNaN(d.getTime()) || d.getTime() > Date.now() + 86_400_000 ? new Date() : d;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : null);

/** The longest provider id we take (Exotel's sids are 32 characters); WhatsApp's schema says the same. */
const MAX_SID = 200;

/** A provider id field (SmsSid, CallSid): longer than any real one is not one, and would not fit the indexes it keys. */
function sidOf(f: Fields, field: 'SmsSid' | 'CallSid'): string | null {
  const v = f[field];
  if (v !== undefined && v.length > MAX_SID) throw new Unusable(`${field} is longer than ${MAX_SID} characters`);
  return v ?? null;
}

/**
 * The key an event is stored once by. Keys hold status texts a caller chooses; a long one is kept as a
 * prefix and its hash, so the unique index over it always fits.
 */
function storedKey(dedupeKey: string): string {
  return dedupeKey.length <= 300 ? dedupeKey : `${dedupeKey.slice(0, 100)}#${createHash('sha256').update(dedupeKey).digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// WhatsApp (JSON)
// ---------------------------------------------------------------------------------------------

const waEntry = z
  .object({
    callback_type: z.string().max(20).optional(),
    sid: z.union([z.string().max(200), z.number()]).optional(),
    from: z.union([z.string().max(40), z.number()]).optional(),
    to: z.union([z.string().max(40), z.number()]).optional(),
    profile_name: z.string().max(300).optional(),
    timestamp: z.union([z.string().max(60), z.number()]).optional(),
    content: z.record(z.string(), z.unknown()).optional(),
    exo_status_code: z.union([z.number(), z.string().max(20)]).optional(),
    exo_detailed_status: z.string().max(200).optional(),
    status: z.string().max(60).optional(),
    description: z.string().max(2000).optional(),
    custom_data: z.string().max(500).optional(),
  })
  .loose();
type WaEntry = z.infer<typeof waEntry>;

/**
 * Exotel's newer pages post one event per callback instead of a message list: an incoming message as
 * `{ event: "incoming_message", timestamp, account_sid, message: { id, from, to, timestamp, type, <type>: {...} },
 * contact: { wa_id, profile: { name } } }` (https://developer.exotel.com/docs/whatsapp-api/api-reference/receive-messages),
 * a status as `{ type: "message_status", timestamp, data: { message_sid, from, to, status, timestamp, ... } }`
 * (https://developer.exotel.com/docs/whatsapp-support/webhooks) or with `event` and `message` in the same places
 * (the receive-messages page names the event but shows no example of it), and a bare status
 * `{ sid, from, to, status, exo_status_code, timestamp }` (https://developer.exotel.com/docs/whatsapp-api/api-reference/status-codes).
 * Each is turned into the entry of the older list shape it corresponds to (callback_type icm / dlr).
 */
function waEventEntry(b: Record<string, any>, event: string): Record<string, unknown> {
  const m = b.message ?? b.data;
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new Unusable(`${event} has no message object`);
  if (event === 'incoming_message') {
    const { id, from, to, timestamp, ...content } = m as Record<string, unknown>;
    const contact = b.contact ?? b.contacts?.[0];
    return {
      callback_type: 'icm',
      ...(id === undefined ? {} : { sid: id }),
      from: from ?? contact?.wa_id,
      ...(to === undefined ? {} : { to }),
      ...(typeof contact?.profile?.name === 'string' ? { profile_name: contact.profile.name } : {}),
      timestamp: timestamp ?? b.timestamp,
      content,
    };
  }
  const error = Array.isArray(m.errors) ? m.errors[0] : m.error;
  const sid = m.sid ?? m.message_sid ?? m.message_id ?? m.id;
  return {
    callback_type: 'dlr',
    ...(sid === undefined ? {} : { sid }),
    ...(m.to === undefined ? {} : { to: m.to }),
    ...(m.status === undefined ? {} : { status: m.status }),
    ...(m.exo_status_code === undefined ? {} : { exo_status_code: m.exo_status_code }),
    ...(m.exo_detailed_status === undefined ? {} : { exo_detailed_status: m.exo_detailed_status }),
    ...(typeof (m.description ?? error?.title ?? error?.message) === 'string' ? { description: m.description ?? error?.title ?? error?.message } : {}),
    ...(typeof (m.custom_data ?? b.custom_data) === 'string' ? { custom_data: m.custom_data ?? b.custom_data } : {}),
    timestamp: m.timestamp ?? b.timestamp,
  };
}

const WA_EVENTS = ['incoming_message', 'message_status'];

/** The message list, wherever the page put it: whatsapp.messages, response.whatsapp.messages, messages, one event, or one bare entry. */
function waEntries(body: unknown): unknown[] {
  const b = body as Record<string, any> | null;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new Unusable('the body is not a JSON object');
  const list = b.whatsapp?.messages ?? b.response?.whatsapp?.messages ?? b.messages;
  if (Array.isArray(list)) {
    if (list.length === 0) throw new Unusable('whatsapp.messages is empty');
    if (list.length > 100) throw new Unusable('whatsapp.messages has more than 100 entries');
    return list;
  }
  const event = typeof b.event === 'string' ? b.event : typeof b.type === 'string' ? b.type : null;
  if (event !== null) {
    if (!WA_EVENTS.includes(event)) throw new Unusable(`event ${event.slice(0, 60)} is neither incoming_message nor message_status`);
    return [waEventEntry(b, event)];
  }
  if (b.callback_type || b.exo_status_code || (b.content && b.from)) return [b];
  if (b.sid && b.status) return [{ ...b, callback_type: 'dlr' }];
  throw new Unusable('no whatsapp.messages, event or message entry in the body');
}

const MEDIA_TYPES = ['image', 'document', 'audio', 'video', 'sticker', 'voice'] as const;

function waContent(content: Record<string, any>): Pick<InboundMessage, 'contentType' | 'text' | 'media' | 'metadata'> {
  const type = String(content.type ?? '').toLowerCase();
  if (type === 'text') {
    const body = str(content.text?.body) ?? str(content.text) ?? str(content.body);
    if (body === null) throw new Unusable('content.text.body is missing');
    return { contentType: 'text', text: body.slice(0, 100_000), media: null, metadata: {} };
  }
  if ((MEDIA_TYPES as readonly string[]).includes(type)) {
    const m = content[type] ?? {};
    // The list shape gives a download URL; the newer event shape shows only the media's id (and
    // Exotel documents no way to download by id): such a message is kept with the reason it has no file.
    const url = str(m.url) ?? str(m.link);
    const id = str(m.id);
    if (!url && !id) throw new Unusable(`content.${type}.url is missing`);
    const contentType: InboundContentType = type === 'sticker' ? 'image' : type === 'voice' ? 'audio' : (type as InboundContentType);
    const caption = str(m.caption);
    return {
      contentType,
      text: caption ?? '',
      media: { url, ...(id ? { id } : {}), mimeType: str(m.mime_type) ?? str(m.mimeType), filename: str(m.filename), caption },
      metadata: {},
    };
  }
  if (type === 'location') {
    const l = content.location ?? {};
    const lat = Number(l.latitude);
    const lon = Number(l.longitude);
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) throw new Unusable('content.location.latitude and longitude are required');
    const label = [str(l.name), str(l.address)].filter(Boolean).join(', ');
    return {
      contentType: 'location',
      text: `Location: ${label ? `${label} ` : ''}(${lat}, ${lon})`,
      media: null,
      metadata: { location: { latitude: lat, longitude: lon, name: str(l.name), address: str(l.address), url: str(l.url) } },
    };
  }
  if (type === 'contacts') {
    const list = Array.isArray(content.contacts) ? content.contacts.slice(0, 20) : [];
    if (list.length === 0) throw new Unusable('content.contacts is empty');
    const names = list.map((c: any) => str(c?.name?.formatted_name) ?? str(c?.name?.first_name) ?? str(c?.phones?.[0]?.phone) ?? 'contact');
    return { contentType: 'contacts', text: `Contacts: ${names.join(', ')}`, media: null, metadata: { contacts: list } };
  }
  if (type === 'button' || type === 'interactive') {
    const text =
      str(content.button?.text) ?? str(content.button?.payload) ?? str(content.interactive?.button_reply?.title) ?? str(content.interactive?.list_reply?.title);
    if (!text) throw new Unusable(`content.${type} has no text`);
    return { contentType: 'text', text, media: null, metadata: { [type]: content[type] } };
  }
  throw new Unusable(type ? `content type ${type} is not supported` : 'content.type is missing');
}

const WA_STATUS: Record<string, DeliveryReport['status']> = { '30001': 'sent', '30002': 'delivered', '30003': 'read' };

export function waReportStatus(e: WaEntry): DeliveryReport['status'] {
  const code = e.exo_status_code === undefined ? null : String(e.exo_status_code);
  if (code && WA_STATUS[code]) return WA_STATUS[code];
  if (code && /^\d+$/.test(code) && Number(code) >= 30004) return 'failed';
  const s = `${e.exo_detailed_status ?? ''} ${e.status ?? ''}`.toLowerCase();
  if (/fail|reject|undeliver|expired/.test(s)) return 'failed';
  if (/seen|read/.test(s)) return 'read';
  if (/deliver/.test(s)) return 'delivered';
  if (/sent/.test(s)) return 'sent';
  return null;
}

function waEvent(channelId: string, raw: unknown): ExotelEvent {
  const parsed = waEntry.safeParse(raw);
  if (!parsed.success) throw new Unusable(`an entry is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'entry'} ${i.message}`).join('; ')}`);
  const e = parsed.data;
  const sid = e.sid === undefined ? null : String(e.sid);
  const type = (e.callback_type ?? (e.exo_status_code !== undefined ? 'dlr' : e.content ? 'icm' : '')).toLowerCase();
  if (type === 'dlr') {
    if (!sid && !e.custom_data) throw new Unusable('a delivery report needs sid or custom_data');
    const report: DeliveryReport = {
      sid,
      customData: e.custom_data ?? null,
      status: waReportStatus(e),
      code: e.exo_status_code === undefined ? null : String(e.exo_status_code),
      reason: e.description ?? e.exo_detailed_status ?? null,
      at: parseTime(e.timestamp),
    };
    return {
      kind: 'whatsapp.dlr',
      dedupeKey: `${channelId}:wa:dlr:${sid ?? hash(e.custom_data)}:${report.code ?? e.exo_detailed_status ?? e.status ?? ''}`,
      payload: e,
      apply: (ctx, channel) => applyDeliveryReport(ctx, channel, report),
    };
  }
  if (type === 'icm') {
    const from = normalizePhone(str(e.from));
    if (!from) throw new Unusable('from is not a phone number');
    if (!e.content) throw new Unusable('content is missing');
    const content = waContent(e.content);
    const key = sid ? `wa:${sid}` : `wa:h:${hash(channelId, from, e.timestamp ?? null, e.content)}`;
    const message: InboundMessage = { ...content, from, name: e.profile_name ?? null, occurredAt: parseTime(e.timestamp), providerId: sid, dedupeKey: key };
    return {
      kind: 'whatsapp.icm',
      dedupeKey: `${channelId}:${key}`,
      payload: e,
      apply: (ctx, channel) => ingestExotelMessage(ctx, channel, message),
    };
  }
  throw new Unusable(`callback_type ${e.callback_type ?? '(none)'} is neither icm nor dlr`);
}

// ---------------------------------------------------------------------------------------------
// SMS (GET incoming, form status) and calls (Passthru GET, status JSON / multipart / form)
// ---------------------------------------------------------------------------------------------

type Fields = Record<string, string>;

export function smsReportStatus(f: Fields): DeliveryReport['status'] {
  const d = (f.DetailedStatus ?? '').toUpperCase();
  if (d === 'DELIVERED_TO_HANDSET' || d === 'DELIVERED') return 'delivered';
  if (d.startsWith('DELIVERED_TO_OPERATOR') || d === 'SUBMITTED_TO_OPERATOR' || d === 'SENT') return 'sent';
  if (/FAIL|DND|INVALID|REJECT|EXPIRED|BLOCK|BARRED|UNDELIVER|ABSENT|SPAM/.test(d)) return 'failed';
  if (d) return null;
  const s = (f.Status ?? '').toLowerCase();
  if (s.startsWith('failed')) return 'failed';
  if (s === 'sent') return 'sent';
  return null;
}

function smsIncoming(channelId: string, f: Fields): ExotelEvent {
  const from = normalizePhone(f.From);
  if (!from) throw new Unusable(`${f.From === f.Sender ? 'Sender' : 'From'} is not a phone number`);
  const sid = sidOf(f, 'SmsSid');
  const key = sid ? `sms:${sid}` : `sms:h:${hash(channelId, from, f.Date ?? null, f.Body ?? '')}`;
  const message: InboundMessage = {
    from,
    name: null,
    occurredAt: parseTime(f.Date),
    contentType: 'text',
    text: (f.Body ?? '').slice(0, 10_000),
    media: null,
    metadata: { to: f.To ?? null },
    providerId: sid,
    dedupeKey: key,
  };
  return { kind: 'sms.incoming', dedupeKey: `${channelId}:${key}`, payload: f, apply: (ctx, channel) => ingestExotelMessage(ctx, channel, message) };
}

function smsStatus(channelId: string, f: Fields): ExotelEvent {
  const report: DeliveryReport = {
    sid: sidOf(f, 'SmsSid'),
    customData: f.CustomField ?? null,
    status: smsReportStatus(f),
    code: f.DetailedStatusCode ?? f.DetailedStatus ?? f.Status ?? null,
    reason: f.DetailedStatus ?? f.Status ?? null,
    at: parseTime(f.DateSent ?? f.DateUpdated),
  };
  return {
    kind: 'sms.status',
    dedupeKey: `${channelId}:sms:dlr:${f.SmsSid}:${f.DetailedStatus ?? f.Status ?? ''}`,
    payload: f,
    apply: (ctx, channel) => applyDeliveryReport(ctx, channel, report),
  };
}

function duration(...values: (string | undefined)[]): number | null {
  for (const v of values) {
    if (v !== undefined && /^\d{1,7}$/.test(v.trim())) return Number(v.trim());
  }
  return null;
}

/**
 * The call status callback (POST; JSON, multipart or a form): CallSid, Status (completed, failed, busy,
 * no-answer; in-progress for the `answered` event), ConversationDuration, RecordingUrl, Direction, From,
 * To, StartTime, CustomField (https://developer.exotel.com/api/statuscallback). One about an incoming
 * call (Direction inbound or incoming) names its caller, so it records the call even before Passthru.
 */
function callStatus(channelId: string, f: Fields): ExotelEvent {
  const callSid = sidOf(f, 'CallSid')!;
  const inbound = /^(inbound|incoming)/i.test(f.Direction ?? '');
  const update = {
    callSid,
    customData: f.CustomField ?? null,
    status: callStatusOf(f.Status ?? f.CallStatus ?? f.DialCallStatus),
    durationSeconds: duration(f.ConversationDuration, f.DialCallDuration, f.Duration),
    recordingUrl: str(f.RecordingUrl),
    raw: pick(f, ['CallSid', 'Status', 'Direction', 'StartTime', 'EndTime', 'ConversationDuration', 'EventType']),
    caller: inbound ? normalizePhone(f.From ?? f.CallFrom) : null,
    at: parseTime(f.StartTime ?? f.DateCreated),
  };
  return {
    kind: 'call.status',
    dedupeKey: `${channelId}:call:${callSid}:${f.EventType ?? ''}:${f.Status ?? ''}:${update.recordingUrl ? 'rec' : ''}`,
    payload: f,
    apply: (ctx, channel) => applyCall(ctx, channel, update),
  };
}

/** Passthru (GET): an incoming call on the ExoPhone, at the point of the flow the applet sits in. */
function passthru(channelId: string, f: Fields): ExotelEvent {
  const callSid = sidOf(f, 'CallSid')!;
  const from = normalizePhone(f.CallFrom ?? f.From);
  if (!from) throw new Unusable('CallFrom is not a phone number');
  const update = {
    callSid,
    customData: null,
    status: passthruStatusOf(f),
    durationSeconds: duration(f.DialCallDuration, f.ConversationDuration),
    recordingUrl: str(f.RecordingUrl),
    raw: pick(f, ['CallSid', 'CallFrom', 'CallTo', 'Direction', 'CallType', 'DialCallStatus', 'DialWhomNumber', 'StartTime', 'digits']),
    caller: from,
    at: parseTime(f.StartTime ?? f.Created),
  };
  return {
    kind: 'call.passthru',
    dedupeKey: `${channelId}:call:pt:${callSid}:${f.CallType ?? ''}:${f.DialCallStatus ?? ''}:${update.recordingUrl ? 'rec' : ''}`,
    payload: f,
    apply: (ctx, channel) => applyCall(ctx, channel, update),
  };
}

function pick(f: Fields, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => f[k] !== undefined).map((k) => [k, f[k]!.slice(0, 500)]));
}

/** Flat string fields of a form, a query or a JSON object (numbers as text; nested values dropped). */
function fieldsOf(source: Iterable<[string, unknown]>): Fields {
  const out: Fields = {};
  for (const [k, v] of source) {
    if (k === 'token' || k === 'channelId' || k.length > 100) continue;
    if (typeof v === 'string') out[k] = v.slice(0, 20_000);
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

/**
 * The two-way SMS callback posted as JSON, `{ SmsSid, Direction, Sender, ReceivedOn, MessageBody,
 * ReceivedTime }` (the sender, the virtual number it reached, the text and when), in the fields of the
 * incoming-SMS GET (From, To, Body, Date) that the rest reads; a JSON body already in those fields (or an
 * SMS status as JSON) passes as it is.
 */
function smsJsonFields(body: Record<string, unknown>): Fields {
  const f = fieldsOf(Object.entries(body));
  const alias: [string, string][] = [
    ['Sender', 'From'],
    ['ReceivedOn', 'To'],
    ['MessageBody', 'Body'],
    ['ReceivedTime', 'Date'],
  ];
  for (const [from, to] of alias) if (f[from] !== undefined && f[to] === undefined) f[to] = f[from]!;
  if (f.Body !== undefined && !f.SmsSid && !f.From) throw new Unusable('Sender is missing');
  return f;
}

/** Which events a callback carries, by channel kind and shape. */
export function eventsOf(channel: { id: string; kind: string }, method: string, fields: Fields | null, json: unknown): ExotelEvent[] {
  if (json !== undefined) {
    const body = json as Record<string, unknown> | null;
    const object = body !== null && typeof body === 'object' && !Array.isArray(body);
    if (object && typeof body.CallSid === 'string') return eventsOf(channel, method, fieldsOf(Object.entries(body)), undefined);
    if (object && channel.kind === 'sms') return eventsOf(channel, method, smsJsonFields(body), undefined);
    if (channel.kind !== 'whatsapp') throw new Unusable(`a ${channel.kind} channel does not take this JSON callback`);
    return waEntries(json).map((e) => waEvent(channel.id, e));
  }
  const f = fields ?? {};
  if (f.CallSid) {
    if (channel.kind !== 'voice') throw new Unusable(`call callbacks belong on a voice channel, not ${channel.kind}`);
    return [method === 'GET' ? passthru(channel.id, f) : callStatus(channel.id, f)];
  }
  if (f.SmsSid || (f.From && f.Body !== undefined)) {
    if (channel.kind !== 'sms') throw new Unusable(`SMS callbacks belong on an SMS channel, not ${channel.kind}`);
    return [method === 'GET' || (f.Body !== undefined && !f.Status && !f.DetailedStatus) ? smsIncoming(channel.id, f) : smsStatus(channel.id, f)];
  }
  throw new Unusable('neither SmsSid, CallSid nor a WhatsApp message list was found');
}

// ---------------------------------------------------------------------------------------------
// The endpoint
// ---------------------------------------------------------------------------------------------

type ChannelRow = Omit<ExotelChannel, 'orgId'> & SecretHashes & { orgId: string };

async function authenticate(url: URL): Promise<ChannelRow> {
  const channelId = url.searchParams.get('channelId') ?? url.pathname.split('/').filter(Boolean).pop() ?? '';
  const token = url.searchParams.get('token');
  const refuse = () => new AppError('unauthorized', 'Unknown channel or wrong webhook token');
  if (!UUID.test(channelId) || !token) throw refuse();
  const sql = await db();
  const [row] = await sql<ChannelRow[]>`
    select id, org_id, kind, name, address, status, settings, webhook_secret_hash, previous_webhook_secret_hash,
      previous_webhook_secret_expires_at, secret_ciphertext, secret_key_id
    from app.channels where id = ${channelId} and kind = any(${[...EXOTEL_KINDS]}::text[])`;
  if (!row || !tokenMatches(row.id, token, row)) throw refuse();
  return row;
}

async function fieldsFromBody(request: Request, raw: string): Promise<{ fields: Fields | null; json: unknown }> {
  const type = (request.headers.get('content-type') ?? '').toLowerCase();
  if (/json/.test(type) || (!type && /^\s*[{[]/.test(raw))) {
    try {
      return { fields: null, json: JSON.parse(raw) };
    } catch {
      throw new AppError('bad_request', 'The body is not valid JSON');
    }
  }
  if (type.startsWith('multipart/form-data')) {
    try {
      const form = await new Response(raw, { headers: { 'content-type': request.headers.get('content-type')! } }).formData();
      return { fields: fieldsOf(form.entries()), json: undefined };
    } catch {
      throw new AppError('bad_request', 'The multipart body cannot be read');
    }
  }
  if (type.startsWith('application/x-www-form-urlencoded') || !type) return { fields: fieldsOf(new URLSearchParams(raw).entries()), json: undefined };
  throw new AppError('unsupported_media_type', 'Exotel callbacks are JSON, multipart or urlencoded forms');
}

/**
 * The handler of every method of /api/webhooks/exotel/{channelId}. Exotel's incoming-SMS applet texts
 * whatever a GET answers back to the customer (and a Passthru's answer only steers the call by its
 * status), so GET and HEAD answer with their status and an empty text/plain body; what went wrong is
 * logged under the request id instead.
 */
export async function receiveExotelWebhook(request: Request): Promise<Response> {
  const response = await handleExotelWebhook(request);
  if (request.method !== 'GET' && request.method !== 'HEAD') return response;
  if (response.status >= 400) {
    log.warn('exotel webhook: refused a GET callback', {
      requestId: response.headers.get('x-request-id'),
      status: response.status,
      answer: await response.text(),
    });
  }
  const headers = new Headers(response.headers);
  headers.set('content-type', 'text/plain; charset=utf-8');
  headers.delete('content-length');
  return new Response(request.method === 'HEAD' ? null : '', { status: response.status, headers });
}

async function handleExotelWebhook(request: Request): Promise<Response> {
  const requestId = requestIdOf(request);
  const headers = new Headers({ 'x-request-id': requestId });
  try {
    const url = new URL(request.url);
    const channel = await authenticate(url);
    // A disabled channel takes nothing in: no message, no delivery report, no stored event.
    if (channel.status === 'disabled') throw new AppError('gone', `The channel ${channel.name} is disabled; its callbacks are not accepted`);
    // Exotel checks the incoming-SMS URL with a HEAD first.
    if (request.method === 'HEAD') return new Response(null, { status: 200, headers });
    let fields: Fields | null = null;
    let json: unknown;
    const raw = request.method === 'GET' ? url.search : await readBody(request, config().maxBodyBytes);
    if (request.method === 'GET') fields = fieldsOf(url.searchParams.entries());
    else ({ fields, json } = await fieldsFromBody(request, raw));
    // NUL characters (PostgreSQL stores none) leave the message and the stored payload; the exact
    // callback is then kept as bytes beside them, so nothing Exotel sent is lost.
    const clean = withoutNul({ fields, json });
    const rawBytes = clean.fields !== fields || clean.json !== json ? Buffer.from(raw, 'utf8') : null;
    ({ fields, json } = clean);

    // Exotel's check of a WhatsApp webhook URL: answer its challenge, store nothing
    // (https://developer.exotel.com/docs/whatsapp-support/webhooks).
    const probe = channel.kind === 'whatsapp' ? (json as Record<string, unknown> | null | undefined) : undefined;
    if (probe && typeof probe === 'object' && probe.type === 'verification' && typeof probe.challenge === 'string') {
      return Response.json({ challenge: probe.challenge.slice(0, 1000) }, { headers });
    }

    let events: ExotelEvent[] = [];
    const rejected: string[] = [];
    try {
      if (json !== undefined && channel.kind === 'whatsapp' && !(json as Record<string, unknown> | null)?.CallSid) {
        // Entry by entry: one bad entry does not lose the others.
        for (const entry of waEntries(json)) {
          try {
            events.push(waEvent(channel.id, entry));
          } catch (error) {
            if (!(error instanceof Unusable)) throw error;
            rejected.push(error.message);
          }
        }
      } else events = eventsOf(channel, request.method, fields, json);
    } catch (error) {
      if (error instanceof Unusable) rejected.push(error.message);
      else throw error;
    }
    if (events.length === 0) {
      log.warn('exotel webhook: nothing usable', { requestId, channelId: channel.id, reasons: rejected });
      throw new AppError('validation_failed', `The callback cannot be used: ${rejected.join('; ')}`, {
        issues: rejected.map((message) => ({ path: 'body', message })),
      });
    }

    const jobs: QueuedJob[] = [];
    const results: { kind: string; outcome: string; messageId?: string; threadId?: string }[] = [];
    for (const event of events) {
      const stored = await storeWebhookEvent({
        provider: 'exotel',
        dedupeKey: storedKey(event.dedupeKey),
        kind: event.kind,
        orgId: channel.orgId,
        channelId: channel.id,
        headers: { 'content-type': request.headers.get('content-type'), 'user-agent': request.headers.get('user-agent') },
        payload: event.payload,
        rawBytes,
      });
      if (stored === 'duplicate') {
        results.push({ kind: event.kind, outcome: 'duplicate' });
        continue;
      }
      let outcome: Outcome;
      try {
        outcome = await asSystem(channel.orgId, requestId, jobs, (ctx) => event.apply(ctx, { ...channel }));
      } catch (error) {
        await finishWebhookEvent(stored.id, 'failed', { error });
        throw error;
      }
      await finishWebhookEvent(stored.id, outcome.outcome === 'ignored' ? 'ignored' : 'processed');
      results.push({ kind: event.kind, ...outcome });
    }
    if (jobs.length) await publishJobs(jobs);
    log.info('exotel webhook', {
      requestId,
      channelId: channel.id,
      orgId: channel.orgId,
      results: results.map((r) => `${r.kind}:${r.outcome}`),
      rejected: rejected.length,
    });
    return Response.json({ results, rejected }, { headers });
  } catch (error) {
    if (error instanceof AppError) return errorResponse(error, requestId, headers);
    return toErrorResponse(error, requestId, request, headers);
  }
}
