// What an outgoing webhook delivery carries (lib/webhooks/service.ts queueDelivery, posted by
// lib/webhooks/deliver.ts): `{ type, timestamp, data }`, signed in the Standard Webhooks format.
import * as z from 'zod';
import { wireId, wireInstant } from '../wire.js';

/** The thread the run is on, as the webhook step sends it (null when it was deleted meanwhile). */
const webhookThreadWire = z.looseObject({
  id: wireId,
  subject: z.string().nullable(),
  status: z.string(),
  priority: z.string(),
  channel: z.string(),
  counterpart: z.string().nullable(),
  customerId: wireId.nullable(),
  assigneeId: wireId.nullable(),
  teamId: wireId.nullable(),
  tags: z.array(z.string()),
  intent: z.string().nullable(),
  sentiment: z.string().nullable(),
  urgency: z.string().nullable(),
});

export const workflowWebhookPayloadWire = z
  .strictObject({
    /** The step's `event` (default `workflow.step`). */
    type: z.string(),
    timestamp: wireInstant,
    data: z.strictObject({ workflowId: wireId, runId: wireId, step: z.string(), threadId: wireId, thread: webhookThreadWire.nullable() }),
  })
  .meta({ id: 'WorkflowWebhookPayload' });
