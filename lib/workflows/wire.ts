// Workflows, their versions, runs and dry runs, and webhook endpoints and deliveries as the API
// answers them (wire form).
import * as z from 'zod';
import { pageOf, wireId, wireInstant } from '../wire.js';
import { condition, triggerSchema, workflowStep } from './definition.js';

export const workflowWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    description: z.string().nullable(),
    enabled: z.boolean(),
    priority: z.number().int(),
    stopLaterWorkflows: z.boolean(),
    /** The current version: every save of trigger, conditions or steps makes the next one. */
    version: z.number().int(),
    trigger: triggerSchema,
    conditions: condition.nullable(),
    steps: z.array(workflowStep),
    /** A schedule's next fire time. */
    nextFireAt: wireInstant.nullable(),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Workflow' });

export const workflowPageWire = pageOf(workflowWire);

export const workflowVersionPageWire = pageOf(
  z.strictObject({
    version: z.number().int(),
    definition: z.looseObject({ trigger: z.looseObject({ type: z.string() }) }),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
  }),
);

const runFields = {
  id: wireId,
  workflowId: wireId,
  workflowName: z.string().nullable(),
  workflowVersion: z.number().int(),
  triggerEvent: z.string(),
  threadId: wireId.nullable(),
  status: z.enum(['running', 'waiting', 'completed', 'failed', 'cancelled', 'skipped']),
  /** The step running or waiting (or the one that failed): "2", or "2.onEvent.0" in a wait's branch. */
  currentStep: z.string().nullable(),
  error: z.string().nullable(),
  /** How many runs led to the event that started it (chains stop at 5). */
  depth: z.number().int(),
  event: z.looseObject({}),
  startedAt: wireInstant,
  finishedAt: wireInstant.nullable(),
  updatedAt: wireInstant,
};

export const workflowRunWire = z.strictObject(runFields).meta({ id: 'WorkflowRun' });
export const workflowRunPageWire = pageOf(workflowRunWire);

export const workflowRunDetailWire = z
  .strictObject({
    ...runFields,
    steps: z.array(
      z.strictObject({
        stepKey: z.string(),
        type: z.string(),
        status: z.enum(['running', 'waiting', 'succeeded', 'failed', 'skipped']),
        input: z.unknown(),
        output: z.unknown(),
        error: z.unknown(),
        attempts: z.number().int(),
        startedAt: wireInstant,
        finishedAt: wireInstant.nullable(),
      }),
    ),
  })
  .meta({ id: 'WorkflowRunDetail' });

export const dryRunWire = z
  .strictObject({
    workflowId: wireId,
    version: z.number().int(),
    threadId: wireId,
    matched: z.boolean(),
    conditionsHold: z.boolean(),
    /** Why it would not run. */
    reasons: z.array(z.string()),
    /** What the conditions saw. */
    facts: z.looseObject({}),
    /** Each step with its input and what it would resolve to (the member round robin picks, the recipients, the wait's end). */
    steps: z.array(z.looseObject({ step: z.string(), type: z.string(), wouldRun: z.boolean() })),
  })
  .meta({ id: 'WorkflowDryRun' });

const endpointFields = {
  id: wireId,
  url: z.string(),
  description: z.string().nullable(),
  enabled: z.boolean(),
  /** Until when the previous secret still signs beside the current one (after a rotation). */
  previousSecretExpiresAt: wireInstant.nullable(),
  createdBy: wireId.nullable(),
  createdAt: wireInstant,
  updatedAt: wireInstant,
};

export const webhookEndpointWire = z.strictObject(endpointFields).meta({ id: 'WebhookEndpoint' });
export const webhookEndpointPageWire = pageOf(webhookEndpointWire);
/** Answered by create and rotate only: the secret is never shown again. */
export const webhookEndpointWithSecretWire = z
  .strictObject({ ...endpointFields, secret: z.string().startsWith('whsec_') })
  .meta({ id: 'WebhookEndpointWithSecret' });

export const webhookDeliveryPageWire = pageOf(
  z
    .strictObject({
      id: wireId,
      endpointId: wireId,
      webhookId: z.string(),
      event: z.string(),
      payload: z.unknown(),
      status: z.enum(['pending', 'delivered', 'failed']),
      attempts: z.number().int(),
      responseStatus: z.number().int().nullable(),
      error: z.string().nullable(),
      createdAt: wireInstant,
      lastAttemptAt: wireInstant.nullable(),
      deliveredAt: wireInstant.nullable(),
    })
    .meta({ id: 'WebhookDelivery' }),
);
