// Calls the API in-process through the same router the dev server uses.
import { createRouter } from '../../lib/dev/router.js';
import { signAccessToken } from '../../lib/http/auth.js';
import { SEED_USERS, type SeedUserKey } from '../../lib/dev/seed.js';

const router = createRouter();

export interface CallOptions {
  token?: string | null;
  as?: SeedUserKey;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export async function tokenFor(who: SeedUserKey): Promise<string> {
  return signAccessToken(SEED_USERS[who]);
}

export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? await tokenFor(options.as ?? 'agent') : options.token;
  if (token) headers.set('authorization', `Bearer ${token}`);
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return router.fetch(new Request(`http://localhost${path}`, { method, headers, body }));
}

/** Calls and parses JSON, returning status and body together for terse assertions. */
export async function json<T = any>(method: string, path: string, options: CallOptions = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await call(method, path, options);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

export { router, SEED_USERS };
