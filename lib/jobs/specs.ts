// What every background job takes and how long it may retry: the part of a job that code enqueuing
// it needs. Handlers live with their domain and bind to these (defineJob({ ...jobSpecs.x, handle }));
// lib/jobs/all.ts loads them for the executor. A route that only enqueues a job therefore never loads
// the job's own dependencies (mail composition, the AI SDK, IMAP), which keeps its bundle small.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { enqueue } from './enqueue.js';

export interface JobSpec<S extends z.ZodType = z.ZodType> {
  name: string;
  schema: S;
  /** Default attempts before the job is dead (a job may override per enqueue). */
  maxAttempts?: number;
  /** Stop retrying this long after the first attempt (ms); also settable per enqueue. */
  deadlineMs?: number;
}

const spec = <S extends z.ZodType>(s: JobSpec<S>): JobSpec<S> => s;
const aMessage = z.object({ messageId: z.uuid() });

/** Resend keeps idempotency keys for 24 hours: an email send is never retried after 23. */
const EMAIL_SEND_DEADLINE_MS = 23 * 3_600_000;
/** WhatsApp and SMS sends stop retrying after 12 hours: later than that the reply is stale. */
const EXOTEL_SEND_DEADLINE_MS = 12 * 3_600_000;

export const jobSpecs = {
  // After a policy or calendar change: the organization's clocks, in batches from `after` (lib/sla/clock.ts).
  slaRecompute: spec({ name: 'sla.recompute', schema: z.object({ after: z.uuid().nullable() }), maxAttempts: 5 }),
  // The hook for an SLA warning or breach (lib/sla/events.ts): notifications and automations subscribe to it.
  slaEvent: spec({ name: 'sla.event', schema: z.object({ eventId: z.uuid() }), maxAttempts: 8 }),
  threadUnsnooze: spec({ name: 'thread.unsnooze', schema: z.object({ threadId: z.uuid(), until: z.iso.datetime({ offset: true }) }) }),
  emailSend: spec({ name: 'email.send', schema: aMessage, maxAttempts: 10, deadlineMs: EMAIL_SEND_DEADLINE_MS }),
  // A new poll is enqueued every minute anyway: a few quick retries, then leave it to the next one.
  emailPoll: spec({
    name: 'email.poll',
    schema: z.object({ channelId: z.uuid(), folder: z.string().min(1).max(500) }),
    maxAttempts: 3,
    deadlineMs: 5 * 60_000,
  }),
  messageAnalyze: spec({ name: 'message.analyze', schema: aMessage, maxAttempts: 5 }),
  callTranscribe: spec({ name: 'call.transcribe', schema: aMessage, maxAttempts: 5, deadlineMs: 24 * 3_600_000 }),
  exotelMediaFetch: spec({
    name: 'exotel.media.fetch',
    schema: z.object({ messageId: z.uuid(), url: z.string().max(4000), purpose: z.enum(['media', 'recording']) }),
    maxAttempts: 6,
    deadlineMs: 24 * 3_600_000,
  }),
  exotelSend: spec({ name: 'exotel.send', schema: aMessage, maxAttempts: 8, deadlineMs: EXOTEL_SEND_DEADLINE_MS }),
  // An invitation lasts 7 days: no point mailing its link after one.
  invitationSend: spec({ name: 'invitation.send', schema: z.object({ invitationId: z.uuid() }), maxAttempts: 8, deadlineMs: 24 * 3_600_000 }),
  // A member's pending notification mail (lib/notifications/email-job.ts): sent, held or cancelled when it runs.
  notificationEmail: spec({ name: 'notification.email', schema: z.object({ userId: z.uuid() }), maxAttempts: 8 }),
  // An action's due time came (or is near): re-checked against the action as it is now (lib/actions/jobs.ts).
  actionDue: spec({
    name: 'action.due',
    schema: z.object({ actionId: z.uuid(), dueAt: z.iso.datetime({ offset: true }), stage: z.enum(['due', 'overdue']) }),
    maxAttempts: 5,
  }),
  // The hook for a shipment's new milestone or ETA change (lib/shipments/events.ts): workflows and notifications subscribe to it.
  shipmentEvent: spec({
    name: 'shipment.event',
    schema: z.object({
      event: z.enum(['shipment.milestone', 'shipment.eta_changed']),
      shipmentId: z.uuid(),
      milestoneId: z.uuid().nullable(),
      /** shipment.milestone: whether the milestone was recorded as planned or its actual time was set (jobs queued before: absent). */
      stage: z.enum(['planned', 'actual']).nullable().optional(),
      /** This occurrence (an ETA can move back and forth: each move is its own event). */
      occurrenceId: z.uuid().optional(),
      previousEta: z.iso.datetime({ offset: true }).nullable(),
      eta: z.iso.datetime({ offset: true }).nullable(),
    }),
    maxAttempts: 8,
  }),
  // Backfills app.messages.identifiers in batches of the organization's messages, from `after` (lib/shipments/backfill.ts).
  identifiersBackfill: spec({ name: 'messages.identifiers.backfill', schema: z.object({ after: z.uuid().nullable() }), maxAttempts: 5 }),
  // Backfills app.message_responses in batches of the organization's threads, from `after` (lib/analytics/backfill.ts).
  responsesBackfill: spec({ name: 'analytics.responses.backfill', schema: z.object({ after: z.uuid().nullable() }), maxAttempts: 5 }),
  // Fills app.messages.search_vector where it is missing, in batches of the organization's messages from `after` (lib/search/backfill.ts).
  searchBackfill: spec({ name: 'messages.search.backfill', schema: z.object({ after: z.uuid().nullable() }), maxAttempts: 5 }),
  // Registers a shipment's new containers, B/Ls and bookings with the tracking provider (lib/tracking/service.ts).
  trackingRegister: spec({ name: 'tracking.register', schema: z.object({ shipmentId: z.uuid() }), maxAttempts: 8, deadlineMs: 24 * 3_600_000 }),
  // The workflow engine (lib/workflows/engine.ts): an event to match against the organization's
  // workflows and waits; one step of a run (or a wait's end); a schedule's fire; a webhook delivery.
  workflowEvent: spec({ name: 'workflow.event', schema: z.looseObject({ id: z.string().min(1).max(300), type: z.string().max(50) }), maxAttempts: 8 }),
  workflowStep: spec({
    name: 'workflow.step',
    schema: z.object({
      runId: z.uuid(),
      stepKey: z.string().min(1).max(200),
      resume: z.enum(['event', 'timeout']).optional(),
      generation: z.number().int().min(0),
    }),
    maxAttempts: 5,
  }),
  // A workflow's AI draft with a model configured: the model is called outside any transaction (lib/workflows/ai-draft.ts).
  workflowAiDraft: spec({
    name: 'workflow.ai-draft',
    schema: z.object({ runId: z.uuid(), stepKey: z.string().min(1).max(200), generation: z.number().int().min(0) }),
    maxAttempts: 5,
  }),
  workflowSchedule: spec({ name: 'workflow.schedule', schema: z.object({ workflowId: z.uuid(), fireAt: z.iso.datetime({ offset: true }) }), maxAttempts: 5 }),
  webhookDeliver: spec({ name: 'webhook.deliver', schema: z.object({ deliveryId: z.uuid() }), maxAttempts: 8, deadlineMs: 24 * 3_600_000 }),
  exotelCallConnect: spec({ name: 'exotel.call.connect', schema: aMessage, maxAttempts: 3, deadlineMs: 10 * 60_000 }),
  // Reads a document (text per page, OCR for scans, type and fields; lib/documents/jobs.ts). Runs in its
  // own function, /api/jobs/documents/{name} (jobUrl), so OCR's weight stays out of every other job.
  documentRead: spec({ name: 'document.read', schema: z.object({ documentId: z.uuid() }), maxAttempts: 4, deadlineMs: 24 * 3_600_000 }),
  // A thread handed to an external agent's MCP tool (lib/agents/job.ts); its deadline is the task's.
  agentTask: spec({ name: 'agent.task', schema: z.object({ taskId: z.uuid() }), maxAttempts: 3 }),
};

/**
 * Queues the analysis of a stored message, in the caller's transaction (the ingest pipelines call it
 * for every new inbound message and call transcript). Enqueuing the same message twice queues it once.
 */
export function enqueueAnalysis(ctx: Ctx, messageId: string): Promise<string> {
  return enqueue(ctx, jobSpecs.messageAnalyze, { messageId }, { dedupeKey: `message.analyze:${messageId}` });
}

/** Queues the transcription of a call whose recording was just stored, in the caller's transaction (once per message). */
export function enqueueTranscription(ctx: Ctx, messageId: string): Promise<string> {
  return enqueue(ctx, jobSpecs.callTranscribe, { messageId }, { dedupeKey: messageId });
}
