// Plays Resend in tests: a local HTTP server answering POST /emails and GET /domains(/:id) the way
// api.resend.com does (Bearer auth, Idempotency-Key, required fields, the error body
// `{ statusCode, name, message }`), recording every request; and signs webhook deliveries the way
// Resend's Svix does. Like a real provider it sends under a Message-ID of its own.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'svix/dist/webhook.js';

export const FAKE_RESEND_KEY = 're_test_fake_0123456789';
/** A Svix-style signing secret: whsec_ and 24 random bytes in base64. */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from('banxway-test-webhook-secret!').toString('base64')}`;

export interface EmailRequest {
  headers: IncomingHttpHeaders;
  body: any;
}

export interface SentEmail {
  id: string;
  /** The Message-ID the provider sent under (not ours: it rewrites it). */
  messageId: string;
  idempotencyKey: string;
  body: any;
}

export interface FakeDomain {
  id: string;
  name: string;
  status: 'not_started' | 'pending' | 'verified' | 'failed' | 'partially_verified' | 'partially_failed';
  records?: { record: string; status: string; name?: string; type?: string; value?: string; ttl?: string }[];
}

interface Failure {
  status: number;
  name: string;
  message: string;
}

const ADDRESS = /^(?:"?[^"<>]*"?\s*<)?[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>?$/;

export async function fakeResend(options: { apiKey?: string; domains?: FakeDomain[] } = {}) {
  const apiKey = options.apiKey ?? FAKE_RESEND_KEY;
  const requests: EmailRequest[] = [];
  const emails: SentEmail[] = [];
  const domainRequests: string[] = [];
  const domains: FakeDomain[] = options.domains ?? [
    {
      id: randomUUID(),
      name: 'seahawk-logistics.in',
      status: 'verified',
      records: [
        { record: 'SPF', status: 'verified' },
        { record: 'DKIM', status: 'verified' },
      ],
    },
  ];
  const failures: Failure[] = [];
  const holds: { arrived: () => void; gate: Promise<void> }[] = [];
  const byKey = new Map<string, { hash: string; email: SentEmail }>();

  const send = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const error = (res: import('node:http').ServerResponse, status: number, name: string, message: string) =>
    send(res, status, { statusCode: status, name, message });

  const postEmail = (headers: IncomingHttpHeaders, raw: string, res: import('node:http').ServerResponse) => {
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      return error(res, 400, 'validation_error', 'Invalid JSON body');
    }
    requests.push({ headers, body });
    const failure = failures.shift();
    if (failure) return error(res, failure.status, failure.name, failure.message);
    const key = headers['idempotency-key'];
    if (typeof key !== 'string' || key.length < 1 || key.length > 256) {
      return error(res, 400, 'invalid_idempotency_key', 'The key must be between 1-256 chars.');
    }
    for (const field of ['from', 'to', 'subject'] as const) {
      if (body[field] === undefined || body[field] === '' || (Array.isArray(body[field]) && body[field].length === 0)) {
        return error(res, 422, 'missing_required_field', `Missing \`${field}\` field.`);
      }
    }
    if (body.html === undefined && body.text === undefined) return error(res, 422, 'missing_required_field', 'Missing `html` or `text` field.');
    const list = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const addresses = [body.from, ...list(body.to), ...list(body.cc), ...list(body.bcc), ...list(body.reply_to)];
    const bad = addresses.find((a) => typeof a !== 'string' || !ADDRESS.test(a));
    if (bad !== undefined) return error(res, 422, 'validation_error', `Invalid email address: ${String(bad)}`);
    if (list(body.to).length > 50) return error(res, 422, 'validation_error', 'Too many recipients: at most 50.');
    for (const a of list(body.attachments)) {
      if (typeof a.filename !== 'string' || typeof a.content !== 'string' || Buffer.from(a.content, 'base64').toString('base64') !== a.content) {
        return error(res, 422, 'invalid_attachment', 'Attachment content must be base64 with a filename.');
      }
    }
    const fromDomain = (/([^@<>\s]+)>?$/.exec(body.from.split('@').pop() ?? '')?.[1] ?? '').toLowerCase();
    const domain = domains.find((d) => d.name === fromDomain);
    if (!domain || domain.status !== 'verified') {
      return error(res, 403, 'validation_error', `The ${fromDomain} domain is not verified. Please, add and verify your domain on https://resend.com/domains`);
    }
    const hash = createHash('sha256').update(raw).digest('hex');
    const previous = byKey.get(key);
    if (previous) {
      if (previous.hash !== hash) return error(res, 409, 'invalid_idempotent_request', 'Same idempotency key used with a different request payload.');
      return send(res, 200, { id: previous.email.id });
    }
    const email: SentEmail = {
      id: randomUUID(),
      messageId: `<0109019a${randomBytes(8).toString('hex')}-${randomUUID()}-000000@email.amazonses.com>`,
      idempotencyKey: key,
      body,
    };
    byKey.set(key, { hash, email });
    emails.push(email);
    return send(res, 200, { id: email.id });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const auth = req.headers.authorization;
      if (!auth) return error(res, 401, 'missing_api_key', 'Missing API key in the authorization header.');
      if (auth !== `Bearer ${apiKey}`) return error(res, 403, 'invalid_api_key', 'API key is invalid.');
      const path = (req.url ?? '').split('?')[0]!;
      if (req.method === 'POST' && path === '/emails') {
        const hold = holds.shift();
        if (!hold) return postEmail(req.headers, raw, res);
        hold.arrived();
        return void hold.gate.then(() => postEmail(req.headers, raw, res));
      }
      if (req.method === 'GET' && path === '/domains') {
        domainRequests.push(req.url ?? '');
        return send(res, 200, {
          object: 'list',
          has_more: false,
          data: domains.map((d) => ({
            id: d.id,
            name: d.name,
            status: d.status,
            created_at: new Date().toISOString(),
            region: 'ap-northeast-1',
            capabilities: { sending: 'enabled', receiving: 'disabled' },
          })),
        });
      }
      const m = /^\/domains\/([^/]+)$/.exec(path);
      if (req.method === 'GET' && m) {
        domainRequests.push(req.url ?? '');
        const d = domains.find((x) => x.id === m[1]);
        if (!d) return error(res, 404, 'not_found', 'Domain not found');
        return send(res, 200, {
          object: 'domain',
          id: d.id,
          name: d.name,
          status: d.status,
          created_at: new Date().toISOString(),
          region: 'ap-northeast-1',
          capabilities: { sending: 'enabled', receiving: 'disabled' },
          records: d.records ?? [],
        });
      }
      return error(res, 405, 'method_not_allowed', 'Method not allowed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    /** Every POST /emails, accepted or not, in order. */
    requests,
    /** Emails accepted once each (a replay with the same idempotency key adds none). */
    emails,
    domains,
    domainRequests,
    /**
     * The next POST /emails waits until released: `arrived` resolves when it came in (a request in flight,
     * for tests that look at the system meanwhile).
     */
    hold() {
      let release!: () => void;
      let arrived!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const came = new Promise<void>((r) => (arrived = r));
      holds.push({ arrived, gate });
      return { arrived: came, release };
    },
    /** The next n POST /emails answer this error (before any other check). */
    failNext(status: number, name: string, message: string, times = 1) {
      for (let i = 0; i < times; i++) failures.push({ status, name, message });
    },
    reset() {
      requests.length = 0;
      emails.length = 0;
      failures.length = 0;
      holds.length = 0;
      domainRequests.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FakeResend = Awaited<ReturnType<typeof fakeResend>>;

/** A Resend webhook event about an email this fake accepted, shaped as Resend documents it. */
export function resendEvent(email: SentEmail, type: string, data: Record<string, unknown> = {}, createdAt = new Date()) {
  return {
    type,
    created_at: createdAt.toISOString(),
    data: {
      email_id: email.id,
      message_id: email.messageId,
      created_at: createdAt.toISOString(),
      from: email.body.from,
      to: Array.isArray(email.body.to) ? email.body.to : [email.body.to],
      subject: email.body.subject,
      tags: Object.fromEntries(((email.body.tags ?? []) as { name: string; value: string }[]).map((t) => [t.name, t.value])),
      ...data,
    },
  };
}

/** The headers Resend (Svix) sends with a delivery, signed with the secret over the exact body. */
export function signResendWebhook(
  body: string,
  options: { secret?: string; id?: string; timestamp?: Date } = {},
): { 'content-type': string; 'svix-id': string; 'svix-timestamp': string; 'svix-signature': string } {
  const id = options.id ?? `msg_${randomUUID().replace(/-/g, '')}`;
  const timestamp = options.timestamp ?? new Date();
  return {
    'content-type': 'application/json',
    'svix-id': id,
    'svix-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'svix-signature': new Webhook(options.secret ?? TEST_WEBHOOK_SECRET).sign(id, timestamp, body),
  };
}
