// Plays Supabase Auth (GoTrue) in tests: `POST /auth/v1/invite` the way the admin API answers it. The
// service-role key must come as both `apikey` and `Authorization: Bearer`; the body is `{ email, data }`
// and the redirect travels as the `redirect_to` query parameter. A new email answers 200 with the
// invited user; an email that already has a confirmed account answers 422 with the `email_exists` code
// and "A user with this email address has already been registered" (in the 2024-01-01 API version's
// `{ code, message }` shape when the client sends that version, as supabase-js does, else the older
// `{ code: 422, error_code, msg }`). Records every request.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const FAKE_SERVICE_ROLE_KEY = 'fake-service-role-key-0123456789abcdef';

export interface InviteRequest {
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  body: any;
}

export async function fakeSupabaseAuth() {
  const requests: InviteRequest[] = [];
  /** Emails with a confirmed account (GoTrue refuses to invite those). */
  const registered = new Set<string>();
  /** Emails invited and not yet confirmed (GoTrue invites them again). */
  const invited = new Map<string, string>();
  let failNext: { status: number; code: string; message: string } | null = null;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, res, Buffer.concat(chunks)));
  });
  const answer = (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const v2024 = req.headers['x-supabase-api-version'] === '2024-01-01';
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', ...(v2024 ? { 'x-supabase-api-version': '2024-01-01' } : {}) });
      res.end(JSON.stringify(body));
    };
    const fail = (status: number, code: string, message: string) => send(status, v2024 ? { code, message } : { code: status, error_code: code, msg: message });
    if (req.method !== 'POST' || url.pathname !== '/auth/v1/invite') return fail(404, 'not_found', 'Not found');
    if (req.headers.apikey !== FAKE_SERVICE_ROLE_KEY || req.headers.authorization !== `Bearer ${FAKE_SERVICE_ROLE_KEY}`) {
      return fail(403, 'not_admin', 'User not allowed');
    }
    let body: any;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return fail(400, 'bad_json', 'Could not parse request body as JSON');
    }
    requests.push({ headers: req.headers, query: url.searchParams, body });
    if (failNext) {
      const f = failNext;
      failNext = null;
      return fail(f.status, f.code, f.message);
    }
    const email = String(body?.email ?? '').toLowerCase();
    if (!email.includes('@')) return fail(400, 'validation_failed', 'Unable to validate email address: invalid format');
    if (registered.has(email)) return fail(422, 'email_exists', 'A user with this email address has already been registered');
    const id = invited.get(email) ?? randomUUID();
    invited.set(email, id);
    const now = new Date().toISOString();
    send(200, {
      id,
      aud: 'authenticated',
      role: 'authenticated',
      email,
      invited_at: now,
      confirmation_sent_at: now,
      phone: '',
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: body.data ?? {},
      identities: [],
      created_at: now,
      updated_at: now,
      is_anonymous: false,
    });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    registered,
    /** The next invite answers this error (e.g. 500 for an outage, 400 for a refusal). */
    failNext(status: number, code: string, message: string) {
      failNext = { status, code, message };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FakeSupabaseAuth = Awaited<ReturnType<typeof fakeSupabaseAuth>>;
