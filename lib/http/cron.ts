// The guard for Vercel Cron routes: `Authorization: Bearer <CRON_SECRET>`, compared in constant time,
// required everywhere (not only in production). Cron work is bounded and logged like a request.
import { createHash, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { config } from '../config.js';
import { log } from '../log.js';
import { AppError } from '../errors.js';
import { errorResponse } from './errors.js';
import { describe } from './responses.js';
import { requestIdOf, toErrorResponse } from './route.js';

export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** What a cron run answers: `{ ok: true, result }`, the result being what the run did (counts, ids). */
export const cronRunWire = z.strictObject({ ok: z.literal(true), result: z.unknown() }).meta({ id: 'CronRun' });

export function cronRoute(name: string, handler: () => Promise<unknown>): (request: Request) => Promise<Response> {
  const handle = async (request: Request) => {
    const requestId = requestIdOf(request);
    const header = request.headers.get('authorization') ?? '';
    if (!safeEqual(header, `Bearer ${config().cronSecret}`)) {
      return errorResponse(new AppError('unauthorized', 'Cron routes need Authorization: Bearer <CRON_SECRET>'), requestId);
    }
    const started = performance.now();
    try {
      const result = await handler();
      log.info('cron', { requestId, cron: name, ms: Math.round(performance.now() - started), result });
      return Response.json({ ok: true, result }, { headers: { 'x-request-id': requestId } });
    } catch (error) {
      return toErrorResponse(error, requestId, request, new Headers({ 'x-request-id': requestId }));
    }
  };
  return describe(handle, { auth: 'cron', responses: { 200: cronRunWire } });
}
