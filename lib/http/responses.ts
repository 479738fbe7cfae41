// Response schemas: what each route answers, per status, in wire form (what JSON.parse gives a client:
// instants as ISO strings). route({ responses: { 200: threadPageWire, 201: threadWire, 204: null } })
// declares them (null: no body); every 4xx and 5xx answer has the one error shape (errorWire), declared
// once. Nothing here runs while serving: the integration tests' API helper checks every response it
// receives with responseProblems (tests/helpers/api.ts), and an OpenAPI document can be generated from
// the same declarations.
import type * as z from 'zod';
import { ERROR_STATUS, errorWire } from './errors.js';
import type { Action } from './permissions.js';

/** A body that is not JSON (a page, a file, a provider's own format): its media type (`text/html`; the wildcard type for any). */
export interface RawBody {
  readonly mediaType: string;
  readonly description: string;
}
export const rawBody = (mediaType: string, description: string): RawBody => ({ mediaType, description });
export const isRawBody = (value: unknown): value is RawBody => typeof value === 'object' && value !== null && 'mediaType' in value && !('_zod' in value);

/** A status answered in more than one media type (JSON, or CSV when asked): one body per type. */
export interface Alternatives {
  readonly alternatives: readonly (z.ZodType | RawBody)[];
}
export const alternatives = (...bodies: (z.ZodType | RawBody)[]): Alternatives => ({ alternatives: bodies });
export const isAlternatives = (value: unknown): value is Alternatives => typeof value === 'object' && value !== null && 'alternatives' in value;

/** Per status, the body's schema, null for a status without a body (204), a body that is not JSON, or several. */
export type ResponseSchemas = Readonly<Partial<Record<number, z.ZodType | null | RawBody | Alternatives>>>;

/**
 * How a caller proves who it is: a member's access token or an API key (`member`, route()), a signed-in
 * user without an organization (`user`, userRoute()), Vercel Cron's secret (`cron`), a QStash signature
 * (`qstash`), a provider's signature or a secret in the URL (`signature`), or nothing (`public`).
 */
export type Auth = 'member' | 'user' | 'cron' | 'qstash' | 'signature' | 'public';

/**
 * What a handler accepts and answers, for the OpenAPI document (lib/openapi) and the tests: route() and
 * the other wrappers fill it in; handlers written by hand declare it with describe().
 */
export interface HandlerMeta {
  action?: Action;
  customPlans?: boolean;
  auth?: Auth;
  /** Path parameters (Vercel passes them as query parameters), query and JSON body, as validated. */
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType | RawBody;
  /** Honours Idempotency-Key (undefined: for POST only, as route() does). */
  idempotent?: boolean;
  responses?: ResponseSchemas;
  /** For `signature` and `public`: what the caller must present, in a sentence. */
  authNote?: string;
}

/** What a handler declares (route() and the other wrappers put it in its meta), or undefined. */
export function handlerMeta(handler: unknown): HandlerMeta | undefined {
  return (handler as { meta?: HandlerMeta } | undefined)?.meta;
}

/** The response schemas a handler declares, or undefined when it declares none. */
export function declaredResponses(handler: unknown): ResponseSchemas | undefined {
  return handlerMeta(handler)?.responses;
}

/** Declares what a handler written by hand accepts and answers (one that speaks a provider's protocol, a page ...). */
export function describe<H extends (request: Request) => Response | Promise<Response>>(handler: H, meta: HandlerMeta): H {
  const own = (handler as { meta?: HandlerMeta }).meta;
  return Object.assign(handler, { meta: { ...own, ...meta } });
}

/**
 * Declares the response schemas of a handler that is not built with route() (one that speaks a
 * provider's protocol, such as the job deliveries, or answers without authentication, such as health).
 */
export function withResponses<H extends (request: Request) => Promise<Response>>(handler: H, responses: ResponseSchemas, meta: HandlerMeta = {}): H {
  return describe(handler, { ...meta, responses });
}

const isJson = (contentType: string | null) => /^application\/([a-z.+-]*\+)?json\b/i.test(contentType ?? '');

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
}

/**
 * What is wrong with an answer given the handler's declared schemas: [] when it conforms. A status with
 * a declared schema is checked against it; any other 4xx or 5xx JSON answer against the error shape (and
 * its code against the status table); a success status the handler did not declare is a problem in
 * itself, and so is any success answer of a handler that declares nothing.
 */
export function responseProblems(declared: ResponseSchemas | undefined, status: number, contentType: string | null, text: string): string[] {
  const given = declared?.[status];
  const schema = isAlternatives(given)
    ? (given.alternatives.find((b) => (isRawBody(b) ? mediaTypeMatches(b.mediaType, contentType) : isJson(contentType))) ?? given.alternatives[0])
    : given;
  if (schema === undefined && status >= 400) {
    if (!isJson(contentType)) return text.length === 0 ? [] : [`a ${status} answer must be the JSON error shape, not ${contentType ?? 'untyped'}`];
    const body = parseJson(text);
    if (body === NOT_JSON) return [`a ${status} answer is not valid JSON`];
    const parsed = errorWire.safeParse(body);
    if (!parsed.success) return issuesOf(parsed.error);
    const expected = ERROR_STATUS[parsed.data.error.code];
    return expected === status ? [] : [`error.code: ${parsed.data.error.code} is answered with ${expected}, not ${status}`];
  }
  if (!declared) return [`the route declares no response schemas (route({ responses }) or describe())`];
  if (schema === undefined) {
    const known = Object.keys(declared).join(', ') || 'none';
    return [`status ${status} has no declared response schema (declared: ${known})`];
  }
  if (schema === null) return text.length === 0 ? [] : [`status ${status} is declared without a body, but has one`];
  if (isRawBody(schema))
    return mediaTypeMatches(schema.mediaType, contentType) ? [] : [`status ${status} must answer ${schema.mediaType}, not ${contentType ?? 'untyped'}`];
  if (!isJson(contentType)) return [`status ${status} must answer JSON, not ${contentType ?? 'untyped'}`];
  const body = parseJson(text);
  if (body === NOT_JSON) return [`the ${status} answer is not valid JSON`];
  const parsed = schema.safeParse(body);
  return parsed.success ? [] : issuesOf(parsed.error);
}

/** `text/html` matches `text/html; charset=utf-8`; the wildcard type matches anything. */
function mediaTypeMatches(declared: string, contentType: string | null): boolean {
  if (declared === '*/*') return true;
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === declared.toLowerCase();
}

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}
