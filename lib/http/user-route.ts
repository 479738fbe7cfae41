// The wrapper for routes that act for the signed-in user rather than for an organization (who am I,
// my invitations): rate limits, the bearer token, zod validation of path and body, one transaction as
// `authenticated` with the user's claims and no organization (so RLS shows no organization's rows),
// the error shape and one log line. route() is the wrapper for everything an organization owns.
import * as z from 'zod';
import { withClaims, type Tx } from '../db/client.js';
import type { Principal } from './auth.js';
import { corsHeaders } from './cors.js';
import { fromZod } from '../errors.js';
import { rateLimitedPrincipal } from './rate-limit.js';
import { describe, type ResponseSchemas } from './responses.js';
import { logRequest, parseJsonBody, requestIdOf, searchObject, toErrorResponse } from './route.js';

export interface UserRouteArgs<P, B> {
  principal: Principal;
  sql: Tx;
  params: P;
  body: B;
  requestId: string;
  request: Request;
}

export function userRoute<P extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  options: {
    params?: P;
    body?: B;
    status?: number;
    /** What the route answers, per status, in wire form (as route()'s responses). */
    responses?: ResponseSchemas;
    /** Runs once the token and input are valid, before the user's transaction (e.g. making a local account). */
    before?: (principal: Principal) => Promise<void>;
  },
  handler: (args: UserRouteArgs<P extends z.ZodType ? z.infer<P> : undefined, B extends z.ZodType ? z.infer<B> : undefined>) => Promise<unknown>,
): (request: Request) => Promise<Response> {
  const handle = async (request: Request) => {
    const started = performance.now();
    const requestId = requestIdOf(request);
    const url = new URL(request.url);
    const headers = new Headers({ ...corsHeaders(request), 'x-request-id': requestId });
    let userId: string | undefined;
    let response: Response;
    try {
      const principal = await rateLimitedPrincipal(request);
      userId = principal.userId;
      let params: unknown;
      if (options.params) {
        const search = searchObject(url);
        const parsed = options.params.safeParse(search);
        if (!parsed.success) throw fromZod(parsed.error, 'path', search);
        params = parsed.data;
      }
      const body = options.body ? (await parseJsonBody(request, options.body)).value : undefined;
      await options.before?.(principal);
      // As the user, in no organization: RLS shows them their own invitations and memberships.
      const data = await withClaims({ sub: principal.userId, role: 'authenticated', email: principal.email }, (tx) =>
        handler({ principal, sql: tx, params: params as never, body: body as never, requestId, request }),
      );
      response =
        data === null || data === undefined ? new Response(null, { status: 204, headers }) : Response.json(data, { status: options.status ?? 200, headers });
    } catch (error) {
      response = toErrorResponse(error, requestId, request, headers);
    }
    logRequest(request, url, { requestId, started, status: response.status, userId });
    return response;
  };
  return describe(handle, { auth: 'user', idempotent: false, params: options.params, body: options.body, responses: options.responses });
}
