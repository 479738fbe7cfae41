// The HTTP side of errors: the code-to-status table, the one JSON error shape
// { error: { code, message, details?, requestId } }, and what database failures mean for a client.
// HTTP statuses appear only here; domain code throws AppError (lib/errors.ts).
import * as z from 'zod';
import { AppError, type ErrorCode, type FieldIssue } from '../errors.js';

/** The one code-to-status table. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

export const statusOf = (error: AppError): number => ERROR_STATUS[error.code];

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }), requestId } };
}

/**
 * The error shape in wire form, the response schema of every 4xx and 5xx answer of every route (tests
 * validate each one against it, and that its code is the one the status table maps to the status).
 */
export const errorWire = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string().min(1),
      /** What is at fault: `issues` names each field (`body.email`); some errors add their own keys. */
      details: z.looseObject({ issues: z.array(z.strictObject({ path: z.string().min(1), message: z.string().min(1) })).optional() }).optional(),
      requestId: z.string().min(1),
    }),
  })
  .meta({ id: 'Error' });

export function errorResponse(error: AppError, requestId: string, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  for (const [k, v] of Object.entries(error.headers ?? {})) h.set(k, v);
  h.set('x-request-id', requestId);
  return Response.json(errorBody(error.code, error.message, requestId, error.details), { status: statusOf(error), headers: h });
}

/** Seconds a client should wait before retrying when the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** postgres.js's own codes for a connection that could not be made or was lost. */
const DRIVER_CODES = new Set(['CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'QUERY_TIMEOUT', 'QUEUE_TIMEOUT']);
/** Socket errors on the way to the database (refused, reset, unreachable, DNS not answering). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EAI_AGAIN',
]);
/**
 * SQLSTATEs of a server that cannot serve now: class 08 (connection exception), 53 (insufficient
 * resources, 53300 too many connections), 57P01-57P03 and 57P05 (shutting down, crashed, starting up, idle
 * session ended), 25P03 (idle-in-transaction session ended) and 57014 (canceled by statement_timeout).
 */
const UNAVAILABLE_STATE = /^(08...|53...|57P0[1235]|25P03|57014)$/;
/** Supavisor (Supabase's pooler) reports its own failures as XX000 with a code in the message. */
const POOLER_UNAVAILABLE =
  /^\((EMAXCONN|EMAXCONNSESSION|ECHECKOUTTIMEOUT|ECHECKOUTRETRIES|ECHECKOUTFAILED|EDBHANDLEREXITED|ECIRCUITBREAKER|EPOOLCHECKOUT|EPOOLTERMINATING|EPROXYSTARTFAILED|EPROXYSUPERVISORUNAVAILABLE|ESUBSCRIBERETRIES|EWORKERNOTFOUND)\)/;

/**
 * Whether an error means the database cannot be reached or cannot serve right now (a retry later may
 * succeed), as opposed to a request the database refused or a bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string') return false;
  if (DRIVER_CODES.has(e.code) || SOCKET_CODES.has(e.code) || UNAVAILABLE_STATE.test(e.code)) return true;
  return e.code === 'XX000' && typeof e.message === 'string' && POOLER_UNAVAILABLE.test(e.message);
}

/** The 503 every edge (routes, webhooks, cron, job deliveries) answers while the database is unavailable. */
export function databaseUnavailable(message = 'The database is unavailable right now; retry in a few seconds', details?: unknown): AppError {
  return new AppError('unavailable', message, details, { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) });
}

/**
 * The request fields a unique or foreign key violation is about, as body fields in the API's
 * camelCase, never the organization column. From PostgreSQL's detail (`Key (org_id, lower(email))=(...)
 * already exists.`) when it gives one; under row-level security it gives none, and the constraint's
 * name says it (`threads_org_id_customer_id_fkey`, `contacts_email_idx`: table, columns, suffix).
 */
function keyFields(e: { detail?: string; constraint_name?: string; table_name?: string }, message: string): FieldIssue[] {
  const listed = /^Key \(((?:[^()]|\([^()]*\))*)\)=/.exec(e.detail ?? '')?.[1];
  let columns: string[];
  if (listed) {
    columns = listed.split(/,\s*/).map((c) => /^(?:\w+\()?"?([a-z_][a-z0-9_]*)"?\)?$/i.exec(c.trim())?.[1] ?? '');
  } else {
    const named = (e.constraint_name ?? '')
      .replace(new RegExp(`^${e.table_name ?? '[a-z]+'}_`), '')
      .replace(/_(fkey|key|idx|pkey)$/, '')
      .replace(/^org_id_/, '');
    columns = named && e.table_name && e.constraint_name?.startsWith(`${e.table_name}_`) ? [named] : [];
  }
  return columns.filter((c) => c && c !== 'org_id').map((c) => ({ path: `body.${c.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase())}`, message }));
}

/**
 * Maps database errors to what they mean for the client: 4xx for a request the database refused, 503
 * with Retry-After when it cannot be reached or cannot serve now; anything else stays unknown (500).
 */
export function fromDatabase(error: unknown): AppError | undefined {
  if (isDatabaseUnavailable(error)) return databaseUnavailable();
  const e = error as { code?: string; constraint_name?: string; table_name?: string; detail?: string; column_name?: string; message?: string };
  switch (e?.code) {
    case 'BX409':
      // Raised by the schema's own business rules (e.g. the last owner stays): the message is for people.
      return new AppError('conflict', e.message ?? 'The change conflicts with a business rule');
    case '23505': {
      const issues = keyFields(e, 'is already used by another record');
      return new AppError('conflict', `${issues.map((i) => i.path).join(', ') || 'A value'}: a record with the same value already exists`, {
        constraint: e.constraint_name,
        ...(issues.length ? { issues } : {}),
      });
    }
    case '23503': {
      const issues = keyFields(e, 'does not exist in this organization');
      return new AppError(
        'validation_failed',
        `${issues.map((i) => i.path).join(', ') || 'A reference'}: the referenced record does not exist in this organization`,
        {
          constraint: e.constraint_name,
          ...(issues.length ? { issues } : {}),
        },
      );
    }
    case '23514':
      return new AppError('validation_failed', 'A value is outside what is allowed', { constraint: e.constraint_name });
    case '22P02':
    case '22007':
    case '22008':
      return new AppError('validation_failed', 'A value has the wrong format');
    case '42501':
      return new AppError('forbidden', 'Not permitted by the organization policy');
    case '40001':
    case '40P01':
      return new AppError('conflict', 'A concurrent change won; retry the request');
    default:
      return undefined;
  }
}
