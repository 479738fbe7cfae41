// Background jobs as the admin routes answer them (wire form).
import * as z from 'zod';
import { pageOf, wireId, wireInstant } from '../wire.js';

export const jobWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    payload: z.unknown(),
    status: z.enum(['pending', 'running', 'done', 'dead']),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    runAt: wireInstant,
    deadlineAt: wireInstant.nullable(),
    lastError: z.string().nullable(),
    firstAttemptAt: wireInstant.nullable(),
    doneAt: wireInstant.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Job' });

export const jobPageWire = pageOf(jobWire);

/** POST /api/admin/jobs/{id}/retry: the job, back in the queue. */
export const jobRetriedWire = z.strictObject({ id: wireId, name: z.string(), status: z.literal('pending') }).meta({ id: 'JobRetried' });
