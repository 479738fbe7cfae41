// Plays Exotel in tests: a local HTTP server answering the documented endpoints the way
// api.exotel.com / api.in.exotel.com do: Basic auth with the API key and token, POST
// /v2/accounts/<sid>/messages (WhatsApp, JSON, 202 with one entry per message, each with its own
// code and status), POST /v1/Accounts/<sid>/Sms/send.json and /Calls/connect.json (urlencoded forms;
// errors as { RestException: { Status, Message } }), and the SMS details API GET
// /v1/Accounts/<sid>/SMS/Messages/<SmsSid>.json (404 for an unknown Sid). WhatsApp images and documents
// need a link (Exotel fetches the file from it). It records every request and
// every accepted message, writes the status callbacks Exotel would send for them, and serves media
// files under /media/<name> for the fetch job.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const FAKE_EXOTEL = { apiKey: 'exo_key_test_0123', apiToken: 'exo_token_test_4567', accountSid: 'seahawk1' } as const;

export interface ExotelRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  json?: any;
  form?: URLSearchParams;
}

type Failure = { kind: 'whatsapp-entry'; code: number; message: string } | { kind: 'http'; status: number; message: string };

/** A message Exotel accepted: what the status callback and the details API report on. */
export interface AcceptedMessage {
  kind: 'whatsapp' | 'sms';
  sid: string;
  to: string;
  from: string;
  body: string | null;
  /** WhatsApp: the content object as sent (text, template, image, document). */
  content?: any;
  /** custom_data (WhatsApp) or CustomField (SMS), as sent. */
  customData: string | null;
  statusCallback: string | null;
  /** SMS: Status and DetailedStatus as the details API reports them. */
  status: string;
  detailedStatus: string;
  detailedStatusCode: number;
}

const sid = (prefix = '') => `${prefix}${randomBytes(16).toString('hex')}`;

export async function fakeExotel() {
  const requests: ExotelRequest[] = [];
  const accepted: AcceptedMessage[] = [];
  const failures: Failure[] = [];
  const media = new Map<string, { type: string; bytes: Buffer }>();

  const send = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const rest = (res: ServerResponse, status: number, message: string) => send(res, status, { RestException: { Status: status, Message: message } });

  const whatsapp = (req: ExotelRequest, res: ServerResponse) => {
    const list = req.json?.whatsapp?.messages;
    if (!Array.isArray(list) || list.length === 0) {
      return send(res, 400, {
        http_code: 400,
        response: { code: 400, status: 'failure', error_data: { code: 1001, message: 'whatsapp.messages is required' } },
      });
    }
    const failure = failures[0]?.kind === 'whatsapp-entry' ? (failures.shift() as Extract<Failure, { kind: 'whatsapp-entry' }>) : undefined;
    const entries = list.map((m: any) => {
      const problem = !/^\+?\d{8,15}$/.test(String(m?.from ?? ''))
        ? 'Invalid from'
        : !/^\+?\d{8,15}$/.test(String(m?.to ?? ''))
          ? 'Invalid to'
          : m?.content?.recipient_type !== 'individual'
            ? 'recipient_type must be individual'
            : !['text', 'template', 'image', 'document'].includes(m?.content?.type)
              ? 'Unsupported content type'
              : m.content.type === 'text' && !m.content.text?.body
                ? 'text.body is required'
                : m.content.type === 'template' && (!m.content.template?.name || !m.content.template?.language?.code)
                  ? 'template name and language are required'
                  : (m.content.type === 'image' || m.content.type === 'document') && !/^https?:\/\//.test(String(m.content[m.content.type]?.link ?? ''))
                    ? `${m.content.type}.link must be a URL`
                    : null;
      if (failure) return { code: 400, error_data: { code: failure.code, message: failure.message }, status: 'failure' };
      if (problem) return { code: 400, error_data: { code: 1002, message: problem }, status: 'failure' };
      const waSid = sid('wa');
      accepted.push({
        kind: 'whatsapp',
        sid: waSid,
        to: String(m.to),
        from: String(m.from),
        body: m.content?.text?.body ?? null,
        content: m.content,
        customData: m.custom_data ?? req.json?.whatsapp?.custom_data ?? req.json?.custom_data ?? null,
        statusCallback: m.status_callback ?? req.json?.whatsapp?.status_callback ?? req.json?.status_callback ?? null,
        status: 'sent',
        detailedStatus: 'EX_MESSAGE_SENT',
        detailedStatusCode: 30001,
      });
      return { code: 200, error_data: null, status: 'success', data: { sid: waSid } };
    });
    send(res, 202, {
      request_id: sid(),
      method: 'POST',
      http_code: 202,
      response: { code: 202, error_data: null, status: 'success', whatsapp: { messages: entries } },
    });
  };

  const sms = (req: ExotelRequest, res: ServerResponse) => {
    const f = req.form!;
    for (const field of ['From', 'To', 'Body']) if (!f.get(field)) return rest(res, 400, `Missing parameter ${field}`);
    if (!f.get('DltEntityId')) return rest(res, 400, 'DltEntityId is mandatory for SMS to Indian numbers');
    const smsSid = sid();
    accepted.push({
      kind: 'sms',
      sid: smsSid,
      to: f.get('To')!,
      from: f.get('From')!,
      body: f.get('Body'),
      customData: f.get('CustomField'),
      statusCallback: f.get('StatusCallback'),
      status: 'sent',
      detailedStatus: 'DELIVERED_TO_HANDSET',
      detailedStatusCode: 20005,
    });
    send(res, 200, {
      SMSMessage: {
        Sid: smsSid,
        AccountSid: FAKE_EXOTEL.accountSid,
        From: `${FAKE_EXOTEL.accountSid}/${f.get('From')}`,
        To: f.get('To'),
        DateCreated: '2026-11-26 12:30:00',
        DateUpdated: '2026-11-26 12:30:00',
        DateSent: null,
        Body: f.get('Body'),
        Direction: 'outbound-api',
        Uri: `/v1/Accounts/${FAKE_EXOTEL.accountSid}/SMS/Messages/x.json`,
        ApiVersion: null,
        Price: null,
        Status: 'queued',
        DetailedStatusCode: 21010,
        DetailedStatus: 'PENDING_TO_OPERATOR',
        SmsUnits: null,
      },
    });
  };

  // GET .../SMS/Messages/<SmsSid>.json: the documented response shape; 404 for a Sid it never issued.
  const smsDetails = (smsSid: string, res: ServerResponse) => {
    const m = accepted.find((a) => a.kind === 'sms' && a.sid === smsSid);
    if (!m) return rest(res, 404, 'The requested resource was not found');
    send(res, 200, {
      SMSMessage: {
        Sid: m.sid,
        AccountSid: FAKE_EXOTEL.accountSid,
        From: `${FAKE_EXOTEL.accountSid}/${m.from}`,
        To: m.to,
        Body: m.body,
        Status: m.status,
        DetailedStatusCode: m.detailedStatusCode,
        DetailedStatus: m.detailedStatus,
        DateCreated: '2026-11-26 12:30:00',
        DateUpdated: '2026-11-26 12:30:05',
        DateSent: '2026-11-26 12:30:02',
        Price: 0.18,
        Uri: `/v1/Accounts/${FAKE_EXOTEL.accountSid}/SMS/Messages/${m.sid}`,
      },
    });
  };

  const connect = (req: ExotelRequest, res: ServerResponse) => {
    const f = req.form!;
    for (const field of ['From', 'To', 'CallerId']) if (!f.get(field)) return rest(res, 400, `Missing parameter ${field}`);
    send(res, 200, {
      Call: {
        Sid: sid(),
        ParentCallSid: null,
        DateCreated: '2026-11-26 12:30:00',
        AccountSid: FAKE_EXOTEL.accountSid,
        To: f.get('To'),
        From: f.get('From'),
        PhoneNumberSid: f.get('CallerId'),
        Status: 'in-progress',
        Direction: 'outbound-api',
        Uri: `/v1/Accounts/${FAKE_EXOTEL.accountSid}/Calls/x.json`,
      },
    });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').split('?')[0]!;
      const r: ExotelRequest = { method: req.method ?? '', path, headers: req.headers, raw };
      const type = req.headers['content-type'] ?? '';
      if (type.includes('json')) {
        try {
          r.json = JSON.parse(raw);
        } catch {
          return send(res, 400, { http_code: 400, response: { code: 400, status: 'failure', error_data: { message: 'Invalid JSON' } } });
        }
      } else if (type.includes('x-www-form-urlencoded')) r.form = new URLSearchParams(raw);
      requests.push(r);
      const m = /^\/media\/(.+)$/.exec(path);
      if (req.method === 'GET' && m) {
        const file = media.get(m[1]!);
        if (!file) return res.writeHead(404).end();
        return res.writeHead(200, { 'content-type': file.type, 'content-length': String(file.bytes.length) }).end(file.bytes);
      }
      const expected = `Basic ${Buffer.from(`${FAKE_EXOTEL.apiKey}:${FAKE_EXOTEL.apiToken}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return rest(res, 401, 'Authentication is required to view this resource.');
      const failure = failures[0]?.kind === 'http' ? (failures.shift() as Extract<Failure, { kind: 'http' }>) : undefined;
      if (failure) return rest(res, failure.status, failure.message);
      const account = FAKE_EXOTEL.accountSid;
      if (req.method === 'POST' && path === `/v2/accounts/${account}/messages`) return whatsapp(r, res);
      if (req.method === 'POST' && path === `/v1/Accounts/${account}/Sms/send.json`) return sms(r, res);
      if (req.method === 'POST' && path === `/v1/Accounts/${account}/Calls/connect.json`) return connect(r, res);
      // The docs write SMS/Messages; the send path is Sms/send. Accept either case, with or without .json.
      const details = new RegExp(`^/v1/Accounts/${account}/(?:SMS|Sms)/Messages/([^/]+?)(?:\\.json)?$`).exec(path);
      if (req.method === 'GET' && details) return smsDetails(decodeURIComponent(details[1]!), res);
      return rest(res, 404, 'The requested resource was not found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    /** Messages accepted (a refused or failed request adds none). */
    accepted,
    /** The sends Exotel received (POST requests to its send endpoints), accepted or not. */
    sendRequests: () => requests.filter((r) => r.method === 'POST' && /\/messages$|\/Sms\/send\.json$/.test(r.path)),
    /**
     * The status callback Exotel would POST for an accepted message: for WhatsApp the JSON delivery
     * report (callback_type dlr, exo_status_code 30001 sent, custom_data); for SMS the form fields
     * (SmsSid, Status, DetailedStatus, DetailedStatusCode, CustomField). Its URL is the status_callback given.
     */
    statusCallback(m: AcceptedMessage): { url: string; json?: unknown; form?: Record<string, string> } {
      if (m.kind === 'whatsapp') {
        return {
          url: m.statusCallback ?? '',
          json: {
            whatsapp: {
              messages: [
                {
                  callback_type: 'dlr',
                  sid: m.sid,
                  to: m.to,
                  exo_status_code: m.detailedStatusCode,
                  exo_detailed_status: m.detailedStatus,
                  description: 'Message sent to WhatsApp',
                  timestamp: new Date().toISOString(),
                  ...(m.customData !== null ? { custom_data: m.customData } : {}),
                },
              ],
            },
          },
        };
      }
      return {
        url: m.statusCallback ?? '',
        form: {
          SmsSid: m.sid,
          To: m.to,
          Status: m.status,
          DetailedStatus: m.detailedStatus,
          DetailedStatusCode: String(m.detailedStatusCode),
          DateSent: '2026-11-26 12:30:02',
          ...(m.customData !== null ? { CustomField: m.customData } : {}),
        },
      };
    },
    /** The next WhatsApp send gets a failed entry inside a 202, or the next request an HTTP error. */
    fail(failure: Failure) {
      failures.push(failure);
    },
    serve(name: string, type: string, bytes: Buffer) {
      media.set(name, { type, bytes });
      return `http://127.0.0.1:${port}/media/${name}`;
    },
    reset() {
      requests.length = 0;
      accepted.length = 0;
      failures.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FakeExotel = Awaited<ReturnType<typeof fakeExotel>>;
