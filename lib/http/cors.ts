// CORS for the configured web-app origins only. Route files re-export OPTIONS for preflight.
import { config } from '../config.js';
import { describe } from './responses.js';

const ALLOWED_HEADERS = 'authorization, content-type, idempotency-key, x-org-id, x-request-id';
const EXPOSED_HEADERS = 'x-request-id, retry-after';

export function corsHeaders(request: Request): Record<string, string> {
  const origin = request.headers.get('origin');
  if (!origin || !config().corsOrigins.includes(origin)) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': EXPOSED_HEADERS,
    vary: 'Origin',
  };
}

/** Preflight answer for every route file: `export { OPTIONS } from '../lib/http/cors.js'`. */
export function OPTIONS(request: Request): Response {
  const headers = corsHeaders(request);
  if (!headers['access-control-allow-origin']) return new Response(null, { status: 204 });
  return new Response(null, {
    status: 204,
    headers: {
      ...headers,
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers': ALLOWED_HEADERS,
      'access-control-max-age': '600',
    },
  });
}

// A preflight carries no body, whatever the origin (not an operation of the OpenAPI document: CORS is the browser's).
describe(OPTIONS, { auth: 'public', responses: { 204: null } });
