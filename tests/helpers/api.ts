// Calls the API in-process through the same router the dev server uses, and checks every answer against
// the response schemas of the route that gave it (lib/http/responses.ts): a body that does not match, or
// a success status the route does not declare, fails the test with the route, the status and each issue;
// then against the OpenAPI document generated from those declarations (tests/helpers/openapi.ts), so the
// document a client is generated from cannot drift from what the routes answer.
import { createRouter, type Router } from '../../lib/dev/router.js';
import { signAccessToken } from '../../lib/http/auth.js';
import { declaredResponses, responseProblems } from '../../lib/http/responses.js';
import { SEED_USERS, type SeedUserKey } from '../../lib/dev/seed.js';
import { documentProblems } from './openapi.js';

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
  const response = await router.fetch(new Request(`http://localhost${path}`, { method, headers, body }));
  await assertDeclaredResponse(router, method, path, response);
  return response;
}

/** Thrown when an answer does not match what its route declares. */
export class ResponseSchemaError extends Error {
  constructor(
    readonly route: string,
    readonly status: number,
    readonly problems: string[],
  ) {
    const shown = problems.length > 12 ? [...problems.slice(0, 12), `... and ${problems.length - 12} more`] : problems;
    super(`${route} answered ${status}, which does not match its declared response schema:\n  ${shown.join('\n  ')}`);
    this.name = 'ResponseSchemaError';
  }
}

/**
 * Checks a response against the declared schemas of the route that answered it (the router's own 404
 * and 405 against the error shape). Reads a clone, so the caller can still read the body.
 */
export async function assertDeclaredResponse(on: Router, method: string, path: string, response: Response): Promise<void> {
  if (method.toUpperCase() === 'HEAD') return;
  const pathname = new URL(path, 'http://localhost').pathname;
  const matched = await on.match(method, pathname);
  const text = await response.clone().text();
  const contentType = response.headers.get('content-type');
  const route = `${method.toUpperCase()} ${matched?.route.pattern ?? pathname}`;
  const problems = responseProblems(declaredResponses(matched?.handler), response.status, contentType, text);
  if (problems.length > 0) throw new ResponseSchemaError(route, response.status, problems);
  // The router's own answers (no route, a method the file does not export) and CORS preflights are not operations of the document.
  if (!matched?.handler || matched.headFromGet || method.toUpperCase() === 'OPTIONS') return;
  const fromDocument = documentProblems(method, matched.route.pattern, response.status, contentType, text);
  if (fromDocument.length > 0) throw new ResponseSchemaError(route, response.status, fromDocument);
}

/** Calls and parses JSON, returning status and body together for terse assertions. */
export async function json<T = any>(method: string, path: string, options: CallOptions = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await call(method, path, options);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

export { router, SEED_USERS };
