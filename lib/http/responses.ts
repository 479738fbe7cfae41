// Response schemas: what each route answers, per status, in wire form (what JSON.parse gives a client:
// instants as ISO strings). route({ responses: { 200: threadPageWire, 201: threadWire, 204: null } })
// declares them (null: no body); every 4xx and 5xx answer has the one error shape (errorWire), declared
// once. Nothing here runs while serving: the integration tests' API helper checks every response it
// receives with responseProblems (tests/helpers/api.ts), and an OpenAPI document can be generated from
// the same declarations.
import type * as z from 'zod';
import { ERROR_STATUS, errorWire } from './errors.js';

/** Per status, the body's schema, or null for a status without a body (204). */
export type ResponseSchemas = Readonly<Partial<Record<number, z.ZodType | null>>>;

/** The response schemas a handler declares (route() puts them in its meta), or undefined when it declares none. */
export function declaredResponses(handler: unknown): ResponseSchemas | undefined {
  return (handler as { meta?: { responses?: ResponseSchemas } } | undefined)?.meta?.responses;
}

/**
 * Declares the response schemas of a handler that is not built with route() (one that speaks a
 * provider's protocol, such as the job deliveries, or answers without authentication, such as health).
 */
export function withResponses<H extends (request: Request) => Promise<Response>>(handler: H, responses: ResponseSchemas): H {
  const meta = (handler as { meta?: object }).meta;
  return Object.assign(handler, { meta: { ...meta, responses } });
}

const isJson = (contentType: string | null) => /^application\/([a-z.+-]*\+)?json\b/i.test(contentType ?? '');

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
}

/**
 * What is wrong with an answer given the handler's declared schemas: [] when it conforms. A status with
 * a declared schema is checked against it; any other 4xx or 5xx JSON answer against the error shape (and
 * its code against the status table); a success status the handler did not declare, when it declares
 * any, is a problem in itself. Handlers that declare nothing have their success answers unchecked.
 */
export function responseProblems(declared: ResponseSchemas | undefined, status: number, contentType: string | null, text: string): string[] {
  const schema = declared?.[status];
  if (schema === undefined && status >= 400) {
    if (!isJson(contentType)) return text.length === 0 ? [] : [`a ${status} answer must be the JSON error shape, not ${contentType ?? 'untyped'}`];
    const body = parseJson(text);
    if (body === NOT_JSON) return [`a ${status} answer is not valid JSON`];
    const parsed = errorWire.safeParse(body);
    if (!parsed.success) return issuesOf(parsed.error);
    const expected = ERROR_STATUS[parsed.data.error.code];
    return expected === status ? [] : [`error.code: ${parsed.data.error.code} is answered with ${expected}, not ${status}`];
  }
  if (!declared) return [];
  if (schema === undefined) {
    const known = Object.keys(declared).join(', ') || 'none';
    return [`status ${status} has no declared response schema (declared: ${known})`];
  }
  if (schema === null) return text.length === 0 ? [] : [`status ${status} is declared without a body, but has one`];
  if (!isJson(contentType)) return [`status ${status} must answer JSON, not ${contentType ?? 'untyped'}`];
  const body = parseJson(text);
  if (body === NOT_JSON) return [`the ${status} answer is not valid JSON`];
  const parsed = schema.safeParse(body);
  return parsed.success ? [] : issuesOf(parsed.error);
}

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}
