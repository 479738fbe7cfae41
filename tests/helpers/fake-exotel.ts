// Plays Exotel in tests: a local HTTP server answering the documented endpoints the way
// api.exotel.com / api.in.exotel.com do: Basic auth with the API key and token, POST
// /v2/accounts/<sid>/messages (WhatsApp, JSON, 202 with one entry per message, each with its own
// code and status), POST /v1/Accounts/<sid>/Sms/send.json and /Calls/connect.json (urlencoded forms;
// errors as { RestException: { Status, Message } }). It records every request, and serves media files
// under /media/<name> for the fetch job.
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

const sid = (prefix = '') => `${prefix}${randomBytes(16).toString('hex')}`;

export async function fakeExotel() {
  const requests: ExotelRequest[] = [];
  const failures: Failure[] = [];
  const media = new Map<string, { type: string; bytes: Buffer }>();

  const send = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const rest = (res: ServerResponse, status: number, message: string) => send(res, status, { RestException: { Status: status, Message: message } });

  const whatsapp = (req: ExotelRequest, res: ServerResponse) => {
    const list = req.json?.whatsapp?.messages;
    if (!Array.isArray(list) || list.length === 0) {
      return send(res, 400, { http_code: 400, response: { code: 400, status: 'failure', error_data: { code: 1001, message: 'whatsapp.messages is required' } } });
    }
    const failure = failures[0]?.kind === 'whatsapp-entry' ? (failures.shift() as Extract<Failure, { kind: 'whatsapp-entry' }>) : undefined;
    const entries = list.map((m: any) => {
      const problem =
        !/^\+?\d{8,15}$/.test(String(m?.from ?? '')) ? 'Invalid from'
        : !/^\+?\d{8,15}$/.test(String(m?.to ?? '')) ? 'Invalid to'
        : m?.content?.recipient_type !== 'individual' ? 'recipient_type must be individual'
        : !['text', 'template', 'image', 'document'].includes(m?.content?.type) ? 'Unsupported content type'
        : m.content.type === 'text' && !m.content.text?.body ? 'text.body is required'
        : m.content.type === 'template' && (!m.content.template?.name || !m.content.template?.language?.code) ? 'template name and language are required'
        : null;
      if (failure) return { code: 400, error_data: { code: failure.code, message: failure.message }, status: 'failure' };
      if (problem) return { code: 400, error_data: { code: 1002, message: problem }, status: 'failure' };
      return { code: 200, error_data: null, status: 'success', data: { sid: sid('wa') } };
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
    send(res, 200, {
      SMSMessage: {
        Sid: sid(),
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
      return rest(res, 404, 'The requested resource was not found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
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
      failures.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FakeExotel = Awaited<ReturnType<typeof fakeExotel>>;
