// The QStash delivery endpoint's logic (api/jobs/[name].ts): verify the signature over the raw body
// and this job's public URL, then run the outbox row. 200 when done or when it can never succeed;
// 5xx when a retry may help (QStash then retries with backoff).
import * as z from 'zod';
import { config } from '../config.js';
import { AppError } from '../errors.js';
import { errorResponse, errorWire } from '../http/errors.js';
import type { ResponseSchemas } from '../http/responses.js';
import { readBody, requestIdOf, toErrorResponse } from '../http/route.js';
import { log } from '../log.js';
import './all.js';
import { jobUrl } from './publish.js';
import { verifyQStash } from './qstash-receiver.js';
import { runJob } from './run.js';

const delivery = z.object({ outboxId: z.uuid() });

const STATUS = { done: 200, already: 200, dead: 200, missing: 200, retry: 500, busy: 503, early: 503 } as const;

/** What a delivery answers QStash: its outcome (a 5xx when a retry may help), or the error shape. */
const outcomeWire = z.union([
  z.strictObject({ outcome: z.enum(Object.keys(STATUS) as [keyof typeof STATUS, ...(keyof typeof STATUS)[]]) }),
  z.strictObject({ outcome: z.literal('ignored'), reason: z.string() }),
]);
export const deliveryResponses: ResponseSchemas = {
  200: outcomeWire,
  500: z.union([outcomeWire, errorWire]),
  503: z.union([outcomeWire, errorWire]),
};

export async function executeDelivery(request: Request): Promise<Response> {
  const requestId = requestIdOf(request);
  const headers = new Headers({ 'x-request-id': requestId });
  try {
    const name = new URL(request.url).searchParams.get('name') ?? '';
    const raw = await readBody(request, config().maxBodyBytes);
    await verifyQStash(request, raw, jobUrl(name));
    let parsed: z.ZodSafeParseResult<z.infer<typeof delivery>>;
    try {
      parsed = delivery.safeParse(JSON.parse(raw));
    } catch {
      parsed = delivery.safeParse(undefined);
    }
    if (!parsed.success) {
      // A well-signed but malformed delivery can never succeed: acknowledge it so it is not retried.
      log.warn('job delivery ignored: malformed body', { requestId, job: name });
      return Response.json({ outcome: 'ignored', reason: 'body must be {"outboxId": "<uuid>"}' }, { headers });
    }
    const outcome = await runJob(parsed.data.outboxId, { expectedName: name });
    const status = STATUS[outcome];
    if (status === 503) headers.set('retry-after', '30');
    log.info('job delivery', { requestId, job: name, outboxId: parsed.data.outboxId, outcome, retried: request.headers.get('upstash-retried') });
    return Response.json({ outcome }, { status, headers });
  } catch (error) {
    if (error instanceof AppError) return errorResponse(error, requestId, headers);
    return toErrorResponse(error, requestId, request, headers);
  }
}
