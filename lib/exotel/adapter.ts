// Talking to Exotel (India): WhatsApp messages (v2 JSON), SMS (v1 form, DLT ids; and the SMS details
// API by Sid) and click-to-call (v1 Calls/connect). The production adapter uses fetch with Basic auth (API key and token) against
// https://<subdomain> (api.exotel.com or api.in.exotel.com), or EXOTEL_BASE_URL in tests; the local
// sink writes each request it would have sent as a JSON file under EXOTEL_OUT_DIR and answers with
// made-up sids. Picked by EXOTEL_ADAPTER.
import { randomUUID } from 'node:crypto';
import { config } from '../config.js';
import { writeSinkFile } from '../local-sink.js';
import { log } from '../log.js';

export const EXOTEL_SUBDOMAINS = ['api.exotel.com', 'api.in.exotel.com'] as const;
export type ExotelSubdomain = (typeof EXOTEL_SUBDOMAINS)[number];

/** What a channel's sealed secret holds. */
export interface ExotelCredentials {
  apiKey: string;
  apiToken: string;
  accountSid: string;
  subdomain: ExotelSubdomain;
}

export type WhatsAppContent =
  | { recipient_type: 'individual'; type: 'text'; text: { body: string } }
  | {
      recipient_type: 'individual';
      type: 'template';
      template: { name: string; language: { code: string; policy: 'deterministic' }; components: unknown[] };
    }
  | { recipient_type: 'individual'; type: 'image'; image: { link: string; caption?: string } }
  | { recipient_type: 'individual'; type: 'document'; document: { link: string; filename?: string; caption?: string } };

export interface WhatsAppSend {
  from: string;
  to: string;
  content: WhatsAppContent;
  statusCallback: string;
  customData: string;
  /**
   * Our key for this call (not sent): the message id, or `<message id>:<n>` for the n-th WhatsApp
   * message of one that goes out as several (lib/exotel/jobs.ts). Names the local sink's file.
   */
  reference?: string;
}

export interface SmsSend {
  from: string;
  to: string;
  body: string;
  statusCallback: string;
  customField: string;
  dltEntityId: string;
  dltTemplateId?: string;
}

export interface CallConnect {
  /** Dialled first: the agent's phone. */
  from: string;
  /** Then the customer. */
  to: string;
  callerId: string;
  record: boolean;
  statusCallback: string;
  customField: string;
}

/** A refusal (permanent: retrying will not help) or a temporary failure. */
export class ExotelError extends Error {
  override name = 'ExotelError';
  constructor(
    readonly code: string,
    message: string,
    readonly permanent: boolean,
    readonly status?: number,
    /**
     * Whether Exotel answered: true for an error answer, false when no connection was made (the
     * request never left), null when the connection broke or timed out (it may have been accepted).
     */
    readonly answered: boolean | null = true,
  ) {
    super(message);
  }
}

/** What Exotel's SMS details API says about one SMS. */
export interface SmsDetails {
  sid: string;
  /** queued, sending, submitted, sent, failed, failed-dnd. */
  status: string;
  detailedStatus: string | null;
  detailedStatusCode: string | null;
}

export interface ExotelAdapter {
  readonly kind: 'exotel' | 'local';
  sendWhatsApp(creds: ExotelCredentials, msg: WhatsAppSend): Promise<{ sid: string }>;
  sendSms(creds: ExotelCredentials, msg: SmsSend): Promise<{ sid: string; status: string }>;
  connectCall(creds: ExotelCredentials, call: CallConnect): Promise<{ sid: string; status: string }>;
  /** GET /v1/Accounts/<sid>/SMS/Messages/<SmsSid>.json; null when Exotel knows no SMS by that Sid (404). */
  smsDetails(creds: ExotelCredentials, smsSid: string): Promise<SmsDetails | null>;
}

/** The API origin: the test override, or the channel's regional subdomain. */
function baseUrl(creds: ExotelCredentials): string {
  return config().exotel.baseUrl ?? `https://${creds.subdomain}`;
}

function authHeader(creds: ExotelCredentials): string {
  return `Basic ${Buffer.from(`${creds.apiKey}:${creds.apiToken}`).toString('base64')}`;
}

/** 4xx other than 408/429 is a refusal; 5xx, 408, 429 and network errors are worth a retry. */
function isPermanent(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** The message of a RestException body (JSON `{ RestException: { Status, Message } }`), or of a v2 error. */
function errorOf(status: number, body: unknown, text: string): ExotelError {
  const b = body as Record<string, any> | null;
  const rest = b?.RestException;
  if (rest && typeof rest === 'object') {
    const code = String(rest.Code ?? rest.Status ?? status);
    return new ExotelError(`exotel_${code}`, String(rest.Message ?? `Exotel answered ${status}`).slice(0, 500), isPermanent(status), status);
  }
  const v2 = b?.response?.error_data ?? b?.error_data ?? b?.response;
  const message = typeof v2?.message === 'string' ? v2.message : text.slice(0, 300) || `Exotel answered ${status}`;
  const code = String(v2?.code ?? status);
  return new ExotelError(`exotel_${code}`, message, isPermanent(status), status);
}

/** Errors of the connect phase: the request never reached Exotel. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function unreachable(error: unknown): ExotelError {
  const cause = (error as { cause?: { code?: string } }).cause;
  const connectFailed = typeof cause?.code === 'string' && CONNECT_FAILURES.has(cause.code);
  return new ExotelError('exotel_unreachable', `Exotel could not be reached: ${(error as Error).message}`, false, undefined, connectFailed ? false : null);
}

async function request(
  creds: ExotelCredentials,
  path: string,
  init: { json?: unknown; form?: URLSearchParams; method?: 'GET' | 'POST' },
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: authHeader(creds), accept: 'application/json' };
  let body: string | undefined;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = init.form.toString();
  }
  let res: Response;
  try {
    res = await fetch(`${baseUrl(creds)}${path}`, { method: init.method ?? 'POST', headers, body, redirect: 'error', signal: AbortSignal.timeout(20_000) });
  } catch (error) {
    throw unreachable(error);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (error) {
    throw unreachable(error);
  }
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) throw errorOf(res.status, parsed, text);
  return { status: res.status, body: parsed };
}

const accountPath = (creds: ExotelCredentials) => encodeURIComponent(creds.accountSid);

/** One request as it goes on the wire: the path under the API origin, and its JSON body or form. */
interface WireRequest {
  path: string;
  json?: unknown;
  form?: URLSearchParams;
}

/** POST /v2/accounts/<sid>/messages: one WhatsApp message (https://developer.exotel.com/api/whatsapp). */
function whatsAppRequest(creds: ExotelCredentials, msg: WhatsAppSend): WireRequest {
  return {
    path: `/v2/accounts/${accountPath(creds)}/messages`,
    json: {
      custom_data: msg.customData,
      status_callback: msg.statusCallback,
      whatsapp: { messages: [{ from: msg.from, to: msg.to, content: msg.content }] },
    },
  };
}

/** POST /v1/Accounts/<sid>/Sms/send.json with the DLT ids. */
function smsRequest(creds: ExotelCredentials, msg: SmsSend): WireRequest {
  const form = new URLSearchParams({
    From: msg.from,
    To: msg.to,
    Body: msg.body,
    StatusCallback: msg.statusCallback,
    CustomField: msg.customField,
    DltEntityId: msg.dltEntityId,
  });
  if (msg.dltTemplateId) form.set('DltTemplateId', msg.dltTemplateId);
  return { path: `/v1/Accounts/${accountPath(creds)}/Sms/send.json`, form };
}

/** POST /v1/Accounts/<sid>/Calls/connect.json: the agent's phone first, then the customer. */
function callRequest(creds: ExotelCredentials, call: CallConnect): WireRequest {
  const form = new URLSearchParams({
    From: call.from,
    To: call.to,
    CallerId: call.callerId,
    Record: call.record ? 'true' : 'false',
    StatusCallback: call.statusCallback,
    StatusCallbackContentType: 'application/json',
    CustomField: call.customField,
  });
  form.append('StatusCallbackEvents[0]', 'terminal');
  form.append('StatusCallbackEvents[1]', 'answered');
  return { path: `/v1/Accounts/${accountPath(creds)}/Calls/connect.json`, form };
}

export const httpExotel: ExotelAdapter = {
  kind: 'exotel',
  async sendWhatsApp(creds, msg) {
    const wire = whatsAppRequest(creds, msg);
    const { body } = await request(creds, wire.path, wire);
    // 202 even when a message was refused: every entry carries its own code and status.
    const entry = body?.response?.whatsapp?.messages?.[0];
    // A success without the entry we need: it may have been accepted, so the outcome is unknown.
    if (!entry) throw new ExotelError('exotel_bad_response', 'Exotel answered without a message entry', false, undefined, null);
    const code = Number(entry.code);
    const sid = entry.data?.sid;
    const refused = entry.status !== 'success' || (code && code >= 300);
    if (!refused && typeof sid !== 'string') {
      throw new ExotelError('exotel_bad_response', 'Exotel accepted the message without a sid', false, undefined, null);
    }
    if (refused || typeof sid !== 'string') {
      const message = entry.error_data?.message ?? entry.data?.message ?? `Exotel refused the message (${entry.code ?? 'no code'})`;
      // An entry's code is HTTP-like: 5xx and 429 may pass on a retry, anything else will not.
      const temporary = (code >= 500 && code < 600) || code === 429;
      throw new ExotelError(`exotel_${entry.error_data?.code ?? entry.code ?? 'refused'}`, String(message).slice(0, 500), !temporary);
    }
    return { sid };
  },
  async sendSms(creds, msg) {
    const wire = smsRequest(creds, msg);
    const { body } = await request(creds, wire.path, wire);
    const sms = body?.SMSMessage;
    if (!sms?.Sid) throw new ExotelError('exotel_bad_response', 'Exotel answered without SMSMessage.Sid', false, undefined, null);
    return { sid: String(sms.Sid), status: String(sms.Status ?? 'queued') };
  },
  async connectCall(creds, call) {
    const wire = callRequest(creds, call);
    const { body } = await request(creds, wire.path, wire);
    const c = body?.Call;
    if (!c?.Sid) throw new ExotelError('exotel_bad_response', 'Exotel answered without Call.Sid', false);
    return { sid: String(c.Sid), status: String(c.Status ?? 'in-progress') };
  },
  async smsDetails(creds, smsSid) {
    let body: any;
    try {
      ({ body } = await request(creds, `/v1/Accounts/${accountPath(creds)}/SMS/Messages/${encodeURIComponent(smsSid)}.json`, { method: 'GET' }));
    } catch (error) {
      if (error instanceof ExotelError && error.status === 404) return null;
      throw error;
    }
    const sms = body?.SMSMessage;
    if (!sms?.Sid) throw new ExotelError('exotel_bad_response', 'Exotel answered without SMSMessage.Sid', false);
    const text = (v: unknown) => (v === undefined || v === null ? null : String(v));
    return {
      sid: String(sms.Sid),
      status: String(sms.Status ?? ''),
      detailedStatus: text(sms.DetailedStatus),
      detailedStatusCode: text(sms.DetailedStatusCode),
    };
  },
};

/** What the local sink was asked to send (dev server and tests read it), and the file it wrote. */
export const localOutbox: { kind: 'whatsapp' | 'sms' | 'call'; sid: string; request: WhatsAppSend | SmsSend | CallConnect; file: string }[] = [];

/**
 * Writes the request Exotel would have received as `<kind>-<key>.json` under EXOTEL_OUT_DIR (the
 * local mail sink's conventions: one file per message, named by its key, a retry overwrites it):
 * method, URL, and the JSON body or form fields exactly as the production adapter sends them, the
 * status callback and custom data included. Credentials never go in.
 */
async function sink(kind: 'whatsapp' | 'sms' | 'call', key: string, sid: string, creds: ExotelCredentials, wire: WireRequest): Promise<string> {
  const content = {
    note: 'Written by the local Exotel sink (EXOTEL_ADAPTER=local): this request was not sent.',
    kind,
    sid,
    at: new Date().toISOString(),
    request: {
      method: 'POST',
      url: `${baseUrl(creds)}${wire.path}`,
      contentType: wire.json !== undefined ? 'application/json' : 'application/x-www-form-urlencoded',
      ...(wire.json !== undefined ? { json: wire.json } : { form: Object.fromEntries(wire.form ?? []) }),
    },
  };
  return writeSinkFile(config().exotel.outDir, `${kind}-${key}`, 'json', `${JSON.stringify(content, null, 2)}\n`);
}

export const localExotel: ExotelAdapter = {
  kind: 'local',
  async sendWhatsApp(creds, msg) {
    const sid = `local-wa-${randomUUID()}`;
    const file = await sink('whatsapp', msg.reference ?? msg.customData, sid, creds, whatsAppRequest(creds, msg));
    localOutbox.push({ kind: 'whatsapp', sid, request: msg, file });
    log.info('exotel (local sink): WhatsApp message', { sid, to: msg.to, type: msg.content.type, file });
    return { sid };
  },
  async sendSms(creds, msg) {
    const sid = `local-sms-${randomUUID()}`;
    const file = await sink('sms', msg.customField, sid, creds, smsRequest(creds, msg));
    localOutbox.push({ kind: 'sms', sid, request: msg, file });
    log.info('exotel (local sink): SMS', { sid, to: msg.to, file });
    return { sid, status: 'queued' };
  },
  async connectCall(creds, call) {
    const sid = `local-call-${randomUUID()}`;
    const file = await sink('call', call.customField, sid, creds, callRequest(creds, call));
    localOutbox.push({ kind: 'call', sid, request: call, file });
    log.info('exotel (local sink): call', { sid, file });
    return { sid, status: 'in-progress' };
  },
  async smsDetails(_creds, smsSid) {
    const sent = localOutbox.find((o) => o.kind === 'sms' && o.sid === smsSid);
    return sent ? { sid: smsSid, status: 'sent', detailedStatus: 'DELIVERED_TO_HANDSET', detailedStatusCode: '20005' } : null;
  },
};

let override: ExotelAdapter | undefined;

export function exotelAdapter(): ExotelAdapter {
  if (override) return override;
  return config().exotel.adapter === 'exotel' ? httpExotel : localExotel;
}

/** Replaces the adapter (tests); undefined goes back to configuration. */
export function useExotelAdapter(adapter: ExotelAdapter | undefined): void {
  override = adapter;
}
