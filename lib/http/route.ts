// The one wrapper every authenticated route uses: request id, CORS, rate limits, bearer token (jose),
// organization and role from the membership table, the role-by-action check, zod validation of path,
// query and body, one transaction under RLS claims, Idempotency-Key, the error shape, and one log line.
import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { config } from '../config.js';
import type { Ctx, QueuedJob } from '../context.js';
import { db, transactionSettings, type Sql, type Tx } from '../db/client.js';
import { publishJobs } from '../jobs/publish.js';
import { log, redactedPath } from '../log.js';
import { readCapped } from './body.js';
import { corsHeaders } from './cors.js';
import { AppError, fromZod, invalid } from '../errors.js';
import { databaseUnavailable, errorResponse, fromDatabase, isDatabaseUnavailable } from './errors.js';
import { can, keyCan, type Action, type Role } from './permissions.js';
import { rateLimitedCaller } from './rate-limit.js';
import type { ApiKeyPrincipal } from '../api-keys/authenticate.js';
import type { HandlerMeta, RawBody, ResponseSchemas } from './responses.js';
import { nulPath } from '../validation.js';

type Schema = z.ZodType;
type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;

export interface RouteOptions<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined> {
  /** The permission this route needs (see lib/http/permissions.ts). */
  action: Action;
  /** Path parameters, which Vercel passes as query parameters (`api/threads/[id].ts` gets `?id=`). */
  params?: P;
  query?: Q;
  body?: B;
  /** A body the handler reads itself (not JSON: a file, a calendar), for the document only. */
  rawBody?: RawBody;
  /** Success status when the handler returns data (default 200; null data answers 204). */
  status?: number;
  /** Honour Idempotency-Key (default: true for POST). */
  idempotent?: boolean;
  /**
   * The best plan of the route's statements depends on the values (how many rows each filter keeps), so
   * PostgreSQL must plan each execution for its values, never switch a prepared statement to a cached
   * generic plan (which cost the inbox 60 times the buffers for some filters). Takes effect with prepared
   * statements (DATABASE_PREPARE); without them (Supavisor's transaction pooler) every plan is custom.
   */
  customPlans?: boolean;
  /**
   * What the route answers, per status, in wire form (lib/wire.ts; null for no body), e.g.
   * `{ 200: threadPageWire, 201: threadWire }`. Error statuses share errorWire and are not declared here.
   * Not checked while serving: the integration tests validate every response against these (see
   * lib/http/responses.ts), and a success status a route does not declare fails them.
   */
  responses?: ResponseSchemas;
}

/** A Web handler that also tells which permission it checks (the security suite iterates these). */
export type RouteHandler = ((request: Request) => Promise<Response>) & {
  meta: HandlerMeta & { action: Action; customPlans: boolean };
};

export interface RouteArgs<P, Q, B> {
  ctx: Ctx;
  params: P;
  query: Q;
  body: B;
  request: Request;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function requestIdOf(request: Request): string {
  const given = request.headers.get('x-request-id');
  return given && /^[A-Za-z0-9._:-]{8,128}$/.test(given) ? given : randomUUID();
}

/** Search params as an object; a repeated key becomes an array. */
export function searchObject(url: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** Reads the body as text, refusing more than maxBytes whatever Content-Length claims. */
export async function readBody(request: Request, maxBytes: number): Promise<string> {
  const tooLarge = () => new AppError('payload_too_large', `The body is larger than ${maxBytes} bytes`);
  return (await readCapped(request, maxBytes, tooLarge)).toString('utf8');
}

/** Parses a body read with readBody as JSON of the given schema: 415, 400 or a 422 naming each field. */
export function parseJson(raw: string, contentType: string | null, schema: Schema): unknown {
  if (raw.length > 0 && !/^application\/([a-z.+-]*\+)?json\b/i.test(contentType ?? '')) {
    throw new AppError('unsupported_media_type', 'The body must be JSON (Content-Type: application/json)');
  }
  let json: unknown = {};
  if (raw.length > 0) {
    try {
      json = JSON.parse(raw);
    } catch (error) {
      throw new AppError('bad_request', `The body is not valid JSON: ${(error as Error).message}`);
    }
  }
  const nul = nulPath(json, 'body');
  if (nul) throw invalid(nul, 'must not contain a NUL character (\\u0000)');
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw fromZod(parsed.error, 'body', json);
  return parsed.data;
}

export async function parseJsonBody(request: Request, schema: Schema): Promise<{ value: unknown; raw: string }> {
  const raw = await readBody(request, config().maxBodyBytes);
  return { value: parseJson(raw, request.headers.get('content-type'), schema), raw };
}

interface Membership {
  orgId: string;
  role: Role;
}

/**
 * The organization and role the request acts as (X-Org-Id picks one when the user has several), and
 * the switch to `authenticated` with that organization's claims and the transaction's settings (transactionSettings), in
 * one statement: from the next statement on, RLS applies. Every error below rolls the transaction back.
 */
export async function actAsMember(sql: Tx, principal: { userId: string; email?: string }, header: string | null, customPlans: boolean): Promise<Membership> {
  if (header !== null && !UUID.test(header)) throw invalid('header.x-org-id', 'must be an organization id (uuid)');
  const rows = await sql<{ orgId: string; role: Role }[]>`
    select m.org_id, m.role,
      set_config('request.jwt.claims', json_build_object('sub', m.user_id, 'role', 'authenticated', 'org_id', m.org_id,
        'org_role', m.role, 'email', ${principal.email ?? null}::text)::text, true) as claims,
      set_config('role', 'authenticated', true) as role_set, ${transactionSettings(sql, customPlans)}
    from app.members m where m.user_id = ${principal.userId} and m.status = 'active'
    ${header ? sql`and m.org_id = ${header.toLowerCase()}` : sql``}`;
  if (header) {
    if (!rows[0]) throw new AppError('not_found', 'Organization not found');
    return rows[0];
  }
  if (rows.length === 0) throw new AppError('forbidden', 'You are not a member of any organization');
  if (rows.length > 1) {
    throw new AppError('validation_failed', 'You belong to several organizations: name one in the X-Org-Id header', {
      issues: [{ path: 'header.x-org-id', message: 'is required when you belong to several organizations' }],
      organizations: rows.map((r) => r.orgId),
    });
  }
  return rows[0]!;
}

/**
 * The same for an API key: its organization (X-Org-Id, when sent, must be it), the claims of the
 * `api_key` actor (no sub; app.acting_role() answers the key's role) and custom plans when asked.
 */
export async function actAsApiKey(sql: Tx, key: ApiKeyPrincipal, header: string | null, customPlans: boolean): Promise<Membership> {
  if (header !== null && !UUID.test(header)) throw invalid('header.x-org-id', 'must be an organization id (uuid)');
  if (header !== null && header.toLowerCase() !== key.orgId) throw new AppError('not_found', 'Organization not found');
  const claims = { role: 'authenticated', org_id: key.orgId, org_role: key.role, actor: 'api_key', api_key_id: key.keyId };
  await sql`
    select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('role', 'authenticated', true),
      ${transactionSettings(sql, customPlans)}`;
  return { orgId: key.orgId, role: key.role };
}

function jsonResponse(data: unknown, status: number, headers: Headers): Response {
  if (data === null || data === undefined) return new Response(null, { status: status === 200 ? 204 : status, headers });
  headers.set('content-type', 'application/json');
  return new Response(JSON.stringify(data), { status, headers });
}

/** The handler's own Response with the wrapper's headers added (its own headers may be immutable). */
function withHeaders(response: Response, headers: Headers): Response {
  const merged = new Headers(response.headers);
  for (const [k, v] of headers) merged.set(k, v);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: merged });
}

/**
 * The answer when the connection was lost while COMMIT was on its way: the database may have saved the
 * change or not, and only a retry with the same Idempotency-Key can safely find out (its key row
 * commits with the change, so the retry replays the saved answer or does the work once).
 */
function commitOutcomeUnknown(idempotencyKey: boolean): AppError {
  const retry = idempotencyKey
    ? 'Retry with the same Idempotency-Key: the change is applied at most once and the retry answers with its outcome'
    : 'Check whether it was saved before retrying, or send an Idempotency-Key so that a retry is safe';
  return databaseUnavailable(`The database connection was lost while saving: the change may or may not have been saved. ${retry}`, {
    outcome: 'unknown',
  });
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

/** Whose Idempotency-Keys these are: the member's, or the API key's (its id in the user_id column). */
const actorOf = (ctx: Ctx) => ctx.userId ?? ctx.apiKey?.id ?? null;

/**
 * Claims an Idempotency-Key in ctx's transaction: the stored answer when the key already has one (a
 * replay), else null, the key now this request's. A different request under the key is a 422; one still
 * at work (its claim committed, no answer yet) a 409.
 */
async function claimIdempotencyKey(ctx: Ctx, routeKey: string, key: string, requestHash: string): Promise<{ status: number; data: unknown } | null> {
  // A concurrent request with the same key blocks on the primary key until this one commits, then
  // finds the stored response: the work happens once.
  const inserted = await ctx.sql`
    insert into app.idempotency_keys (org_id, user_id, route, key, request_hash)
    values (${ctx.orgId}, ${actorOf(ctx)}, ${routeKey}, ${key}, ${requestHash})
    on conflict (org_id, user_id, route, key) do update
      set request_hash = excluded.request_hash, status_code = null, response = null,
          created_at = now(), expires_at = now() + interval '24 hours'
      where app.idempotency_keys.expires_at < now()
    returning key`;
  if (inserted.length > 0) return null;
  const [row] = await ctx.sql<{ requestHash: string; statusCode: number | null; response: unknown }[]>`
    select request_hash, status_code, response from app.idempotency_keys
    where org_id = ${ctx.orgId} and user_id = ${actorOf(ctx)} and route = ${routeKey} and key = ${key}`;
  if (row && row.requestHash !== requestHash) {
    throw new AppError('validation_failed', 'Idempotency-Key was already used with a different request', {
      issues: [{ path: 'header.idempotency-key', message: 'was already used with a different request body' }],
    });
  }
  if (row && row.statusCode !== null) return { status: row.statusCode, data: row.response };
  throw new AppError('conflict', 'A request with this Idempotency-Key is still in progress');
}

/** Stores the answer under the key claimed by claimIdempotencyKey. */
async function storeIdempotentAnswer(ctx: Ctx, routeKey: string, key: string, result: { status: number; data: unknown }) {
  await ctx.sql`
    update app.idempotency_keys set status_code = ${result.status}, response = ${ctx.sql.json((result.data ?? null) as never)}
    where org_id = ${ctx.orgId} and user_id = ${actorOf(ctx)} and route = ${routeKey} and key = ${key}`;
}

/** Replays or records the response for an Idempotency-Key inside the request's transaction. */
async function idempotent(
  ctx: Ctx,
  routeKey: string,
  key: string,
  requestHash: string,
  run: () => Promise<{ status: number; data: unknown }>,
): Promise<{ status: number; data: unknown; replayed: boolean }> {
  const stored = await claimIdempotencyKey(ctx, routeKey, key, requestHash);
  if (stored) return { ...stored, replayed: true };
  const result = await run();
  await storeIdempotentAnswer(ctx, routeKey, key, result);
  return { ...result, replayed: false };
}

/** Wraps errors thrown anywhere in a handler into the JSON error shape. */
export function toErrorResponse(error: unknown, requestId: string, request: Request, headers: Headers): Response {
  const known = error instanceof AppError ? error : fromDatabase(error);
  if (known?.code === 'unavailable' && !(error instanceof AppError)) {
    log.warn('database unavailable', { requestId, path: redactedPath(new URL(request.url)), error });
  }
  if (known) return errorResponse(known, requestId, headers);
  log.error('unhandled error', { requestId, path: redactedPath(new URL(request.url)), error });
  return errorResponse(new AppError('internal', 'Something went wrong; the request id identifies it in our logs'), requestId, headers);
}

/** Publishes the jobs of committed work; never fails (the sweeper publishes whatever is left unpublished). */
async function publishCommitted(jobs: QueuedJob[], requestId: string) {
  if (jobs.length === 0) return;
  await Promise.resolve()
    .then(() => publishJobs(jobs))
    .catch((error: unknown) => log.error('publishing jobs after commit failed; the sweeper will publish them', { requestId, error }));
}

/** Runs fn in a transaction of its own as the caller (claims, role and scope checks again); its jobs publish after the handler. */
export type Transact = <T>(fn: (ctx: Ctx) => Promise<T>) => Promise<T>;

export interface TransactionsRouteArgs<P, Q, B> {
  /** Opens a transaction as the caller: each commits on its own. */
  transact: Transact;
  params: P;
  query: Q;
  body: B;
  request: Request;
}

type Handler =
  | { kind: 'request'; fn: (args: RouteArgs<unknown, unknown, unknown>) => Promise<unknown> }
  | { kind: 'transactions'; fn: (args: TransactionsRouteArgs<unknown, unknown, unknown>) => Promise<unknown> };

export function route<P extends Schema | undefined = undefined, Q extends Schema | undefined = undefined, B extends Schema | undefined = undefined>(
  options: RouteOptions<P, Q, B>,
  handler: (args: RouteArgs<Infer<P>, Infer<Q>, Infer<B>>) => Promise<unknown>,
): RouteHandler {
  return makeRoute(options, { kind: 'request', fn: handler as Handler['fn'] as never });
}

/**
 * route() for work that commits in parts (a macro run, thread by thread): the handler opens its own
 * transactions (args.transact), each as the caller under the same checks, instead of running in one
 * request transaction (which, on embedded PGlite's one connection, would keep them waiting forever).
 * The caller's permission is checked and the input validated in a first transaction, which also claims
 * the Idempotency-Key; the answer is stored under it in a last one (an answer of 500 and up is not: the
 * key then stays "in progress" until it expires, since the parts already committed must not run twice).
 * Jobs the transactions queue are published once the handler is done.
 */
export function routeInTransactions<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(options: RouteOptions<P, Q, B>, handler: (args: TransactionsRouteArgs<Infer<P>, Infer<Q>, Infer<B>>) => Promise<unknown>): RouteHandler {
  return makeRoute(options, { kind: 'transactions', fn: handler as never });
}

function makeRoute<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined>(
  options: RouteOptions<P, Q, B>,
  handler: Handler,
): RouteHandler {
  const fn = async (request: Request) => {
    const started = performance.now();
    const requestId = requestIdOf(request);
    const url = new URL(request.url);
    const headers = new Headers(corsHeaders(request));
    headers.set('x-request-id', requestId);
    let userId: string | undefined;
    let orgId: string | undefined;
    let apiKeyId: string | undefined;
    let response: Response;
    try {
      const cfg = config();
      const caller = await rateLimitedCaller(request);
      const principal = caller.kind === 'user' ? caller.principal : undefined;
      const apiKey = caller.kind === 'api_key' ? caller.key : undefined;
      userId = principal?.userId;
      apiKeyId = apiKey?.keyId;

      // Read before the transaction (no connection waits on a slow client), validated only once the
      // caller's role allows the route: a caller without the permission learns nothing of its schema.
      const rawBody = options.body ? await readBody(request, cfg.maxBodyBytes) : '';
      const validated = () => {
        const search = searchObject(url);
        const nul = nulPath(search, 'query');
        if (nul) throw invalid(nul, 'must not contain a NUL character');
        const check = (schema: Schema | undefined, where: 'path' | 'query') => {
          if (!schema) return undefined;
          const parsed = schema.safeParse(search);
          if (!parsed.success) throw fromZod(parsed.error, where, search);
          return parsed.data;
        };
        return {
          params: check(options.params, 'path'),
          query: check(options.query, 'query'),
          body: options.body ? parseJson(rawBody, request.headers.get('content-type'), options.body) : undefined,
        };
      };

      const idemKey = request.headers.get('idempotency-key');
      const useIdempotency = (options.idempotent ?? request.method === 'POST') && idemKey !== null;
      if (useIdempotency && !/^[\x21-\x7e]{1,255}$/.test(idemKey!)) {
        throw invalid('header.idempotency-key', 'must be 1 to 255 visible ASCII characters');
      }
      const successStatus = options.status ?? 200;
      const sql = await db();
      const jobs: QueuedJob[] = [];
      const orgHeader = request.headers.get('x-org-id');
      // Without prepared statements (Supabase's transaction pooler, PGlite) each statement is planned anyway.
      const customPlans = (options.customPlans ?? false) && sql.options.prepare;
      /** The caller's claims in the transaction, the role and key checks, and the context of the work. */
      const enter = async (tx: Tx, queued = jobs): Promise<Ctx> => {
        const membership = apiKey ? await actAsApiKey(tx, apiKey, orgHeader, customPlans) : await actAsMember(tx, principal!, orgHeader, customPlans);
        orgId = membership.orgId;
        if (!can(membership.role, options.action)) {
          throw new AppError('forbidden', `Your role (${membership.role}) does not allow ${options.action}`);
        }
        if (apiKey && !keyCan(membership.role, apiKey.scopes, options.action)) {
          throw new AppError('forbidden', `This API key may not ${options.action}`);
        }
        return {
          requestId,
          userId: principal?.userId ?? null,
          orgId: membership.orgId,
          role: membership.role,
          sql: tx,
          jobs: queued,
          ...(apiKey ? { apiKey: { id: apiKey.keyId, scopes: apiKey.scopes } } : {}),
        };
      };
      const routeKey = `${request.method} ${url.pathname}`;
      const requestHash = () => hash(`${url.search}\n${rawBody}`);
      const answer = (result: { status: number; data: unknown; replayed: boolean }) => {
        const answerHeaders = new Headers(headers);
        if (result.replayed) answerHeaders.set('idempotent-replayed', 'true');
        return result.data instanceof Response ? withHeaders(result.data, answerHeaders) : jsonResponse(result.data, result.status, answerHeaders);
      };
      if (handler.kind === 'transactions') {
        // Each transaction's jobs join the request's once it commits (one that rolls back queued nothing).
        const transact: Transact = async (work) => {
          const queued: QueuedJob[] = [];
          const result = await (sql as Sql).begin((raw) => enter(raw as unknown as Tx, queued).then(work));
          jobs.push(...queued);
          return result as never;
        };
        const { params, query, body, stored } = await transact(async (ctx) => ({
          ...validated(),
          stored: useIdempotency ? await claimIdempotencyKey(ctx, routeKey, idemKey!, requestHash()) : null,
        }));
        if (stored) {
          response = answer({ ...stored, replayed: true });
        } else {
          let result: { status: number; data: unknown };
          try {
            const data = await handler.fn({ transact, params, query, body, request });
            result = { status: successStatus, data };
          } catch (error) {
            const failed = toErrorResponse(error, requestId, request, headers);
            if (useIdempotency && failed.status < 500) {
              const data: unknown = await failed.clone().json();
              await transact((ctx) => storeIdempotentAnswer(ctx, routeKey, idemKey!, { status: failed.status, data }));
            }
            // What committed before the error keeps its jobs.
            await publishCommitted(jobs, requestId);
            throw error;
          }
          if (useIdempotency) await transact((ctx) => storeIdempotentAnswer(ctx, routeKey, idemKey!, result));
          response = answer({ ...result, replayed: false });
        }
      } else {
        // Set once the handler's work is done and COMMIT is on its way: from then on a lost connection
        // leaves the outcome unknown (before it, the database rolls the transaction back).
        let committing = false;
        const transaction = (sql as Sql).begin(async (raw) => {
          const ctx = await enter(raw as unknown as Tx);
          const { params, query, body } = validated();
          const run = async () => {
            const data = await handler.fn({ ctx, params, query, body, request });
            return { status: data instanceof Response ? data.status : successStatus, data };
          };
          const result = useIdempotency ? await idempotent(ctx, routeKey, idemKey!, requestHash(), run) : { ...(await run()), replayed: false };
          // The answer is built before COMMIT, so whatever can fail in building it (serialising the data,
          // a status that cannot carry a body) rolls the change back instead of failing after it is saved.
          const built = answer(result);
          committing = true;
          return built;
        });
        response = await transaction.catch((error: unknown) => {
          const writes = request.method !== 'GET' && request.method !== 'HEAD';
          throw committing && writes && isDatabaseUnavailable(error) ? commitOutcomeUnknown(useIdempotency) : error;
        });
      }
      // Committed: nothing from here on may turn the saved change into an error answer (a client would
      // retry it). Publishing only speeds jobs up; the sweeper publishes whatever is left unpublished.
      await publishCommitted(jobs, requestId);
    } catch (error) {
      response = toErrorResponse(error, requestId, request, headers);
    }
    logRequest(request, url, { requestId, started, status: response.status, userId, orgId, apiKeyId });
    return response;
  };
  const meta: RouteHandler['meta'] = {
    action: options.action,
    customPlans: options.customPlans ?? false,
    auth: 'member',
    params: options.params,
    query: options.query,
    body: options.body ?? options.rawBody,
    idempotent: options.idempotent,
    responses: options.responses,
  };
  return Object.assign(fn, { meta });
}

/** The one log line per request (route and userRoute): what was asked, the answer's status, how long, for whom. */
export function logRequest(
  request: Request,
  url: URL,
  r: { requestId: string; started: number; status: number; userId?: string | null; orgId?: string | null; apiKeyId?: string },
): void {
  log.info('request', {
    requestId: r.requestId,
    method: request.method,
    path: redactedPath(url),
    status: r.status,
    ms: Math.round((performance.now() - r.started) * 10) / 10,
    userId: r.userId,
    ...(r.apiKeyId ? { apiKeyId: r.apiKeyId } : {}),
    ...(r.orgId !== undefined ? { orgId: r.orgId } : {}),
  });
}
