// Thread summaries: a short paragraph and bullet points an operator reads before opening the thread.
// The model answers with structured output (generateText + Output.object, validated with zod); without
// a model, or when it fails, times out or answers something unusable, an extractive summary is built
// from the subjects, the messages' new text and stored analysis (intents, summaries), the identifiers,
// the linked shipments and the open actions.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { log } from '../log.js';
import type { ModelChoice } from './analysis/index.js';
import { cleanSubject } from './analysis/text.js';
import {
  failureReason,
  formatDate,
  formatDateTime,
  gatherThreadContext,
  jsonAfterCommit,
  askAboutThread,
  resolveModel,
  UNTRUSTED_CONTENT_RULE,
  type ContextMessage,
  type ThreadContext,
} from './context.js';
import { isUrgent, list, shipmentStatusSentences } from './offline-drafter.js';

export const SUMMARY_CHARS = 800;
export const BULLET_CHARS = 240;
export const MAX_BULLETS = 8;

/** What the model answers. */
export const summaryOutput = z.object({
  summary: z.string().describe('Two or three sentences: who wants what, where things stand, what is still open'),
  bullets: z.array(z.string()).describe('Three to six short points: key facts, identifiers, dates, documents, open questions'),
});

export interface ThreadSummary {
  summary: string;
  bullets: string[];
  source: 'model' | 'offline';
}

const INTENT_LABELS: Record<string, string> = {
  quote_request: 'quote request',
  booking_request: 'booking request',
  shipment_status: 'status enquiry',
  document_submission: 'documents sent',
  document_request: 'documents requested',
  invoice_payment: 'invoice / payment',
  complaint: 'complaint',
  customs: 'customs',
  schedule_change: 'schedule change',
  general: 'general',
};

const cap = (s: string, n: number) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1).trimEnd()}…` : flat;
};

/** The message's stored summary without the subject it starts with, or the first sentence of its new text. */
function gist(m: ContextMessage): string {
  const subject = cleanSubject(m.subject);
  const summary = m.summary?.trim();
  if (summary) return subject && summary.startsWith(`${subject}: `) ? summary.slice(subject.length + 2) : summary;
  const lines = m.text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(?:dear|hi|hello|hey|good\s+(?:morning|afternoon|evening))\b[^.!?]{0,40}[,!]?$/i.test(l));
  const body = lines.join(' ');
  const sentence = /^(.{20,}?[.!?])(?:\s|$)/.exec(body)?.[1] ?? body;
  return cap(sentence || '(no text)', 160);
}

function who(m: ContextMessage, c: ThreadContext): string {
  if (m.direction === 'outbound') return 'We';
  return m.fromName?.trim() || c.contact?.name?.trim() || m.fromAddress || 'The customer';
}

/** An extractive summary: no model, only what the thread already holds. */
export function summarizeOffline(c: ThreadContext): Omit<ThreadSummary, 'source'> {
  const tz = c.org.timezone;
  const subject = cleanSubject(c.thread.subject) || '(no subject)';
  const party = c.customer
    ? `${c.customer.name} (${c.customer.kind.replace('_', ' ')}, ${c.customer.tier} tier)`
    : (c.contact?.name ?? c.thread.counterpart ?? 'an unknown party');
  const last = c.messages.at(-1);
  const lastIn = [...c.messages].reverse().find((m) => m.direction === 'inbound');
  const sentences: string[] = [];
  sentences.push(
    `${c.thread.channel === 'email' ? 'Email' : c.thread.channel === 'voice' ? 'Call' : c.thread.channel === 'sms' ? 'SMS' : 'WhatsApp'} thread "${subject}" with ${party}, ${c.messageCount} message${c.messageCount === 1 ? '' : 's'}.`,
  );
  if (lastIn) {
    const intent = lastIn.intent ? ` (${INTENT_LABELS[lastIn.intent] ?? lastIn.intent})` : '';
    sentences.push(`Latest from ${who(lastIn, c)}${intent}: ${gist(lastIn).replace(/[.!?]?$/, '.')}`);
  }
  if (!last) sentences.push('No messages yet.');
  else if (last.direction === 'inbound') {
    const due = c.thread.slaBreachedAt
      ? ' (SLA breached)'
      : (c.thread.nextResponseDueAt ?? c.thread.firstResponseDueAt)
        ? `, due ${formatDate(c.thread.nextResponseDueAt ?? c.thread.firstResponseDueAt, tz)}`
        : '';
    sentences.push(`Awaiting our reply${due}.`);
  } else sentences.push(`We replied last, on ${formatDate(last.occurredAt, tz)}.`);

  const bullets: string[] = [];
  for (const m of c.messages.slice(-4)) {
    bullets.push(`${formatDateTime(m.occurredAt, tz, false)}, ${who(m, c)}: ${gist(m)}`);
  }
  for (const s of c.shipments.slice(0, 2)) {
    const [status] = shipmentStatusSentences(s, c);
    if (status) bullets.push(status);
  }
  const ids = { containers: new Set<string>(), awbs: new Set<string>(), bls: new Set<string>(), bookings: new Set<string>() };
  for (const m of c.messages) {
    for (const k of Object.keys(ids) as (keyof typeof ids)[]) for (const v of m.entities?.[k] ?? []) ids[k].add(v);
  }
  const idText = [
    ids.containers.size && `containers ${[...ids.containers].join(', ')}`,
    ids.awbs.size && `AWB ${[...ids.awbs].join(', ')}`,
    ids.bls.size && `B/L ${[...ids.bls].join(', ')}`,
    ids.bookings.size && `booking ${[...ids.bookings].join(', ')}`,
  ].filter(Boolean);
  if (idText.length) bullets.push(`Identifiers: ${idText.join('; ')}`);
  if (c.openActions.length) {
    bullets.push(`Open actions: ${list(c.openActions.slice(0, 3).map((a) => `${a.title}${a.dueAt ? ` (due ${formatDate(a.dueAt, tz)})` : ''}`))}`);
  }
  if (c.thread.slaBreachedAt) bullets.push(`SLA breached on ${formatDate(c.thread.slaBreachedAt, tz)}`);
  else if (isUrgent(c)) bullets.push(`Priority ${c.thread.priority}${c.thread.urgency ? `, urgency ${c.thread.urgency}` : ''}`);
  return { summary: cap(sentences.join(' '), SUMMARY_CHARS), bullets: bullets.slice(0, MAX_BULLETS).map((b) => cap(b, BULLET_CHARS)) };
}

const SYSTEM = `You summarise conversations in the operations inbox of a freight forwarder for the team member who is about to handle them.
Answer with:
- summary: two or three sentences: who the counterpart is and what they want, where things stand, what is still open or awaited (and from whom).
- bullets: three to six short points: the key facts with their identifiers (containers, B/L, booking, AWB), vessel and dates, documents, amounts, open questions and deadlines.
Use only what the context says; never invent facts. Write in English. ${UNTRUSTED_CONTENT_RULE}`;

/** Summarises with the model; throws on any failure (the caller falls back). */
export async function summarizeWithModel(c: ThreadContext, choice: ModelChoice): Promise<Omit<ThreadSummary, 'source'>> {
  const output = await askAboutThread(c, choice, { system: SYSTEM, schema: summaryOutput, name: 'thread_summary' });
  const summary = cap(output.summary, SUMMARY_CHARS);
  if (!summary) throw new Error('the model answered an empty summary');
  const bullets = output.bullets
    .map((b) => cap(b.replace(/^[-*•]\s*/, ''), BULLET_CHARS))
    .filter(Boolean)
    .slice(0, MAX_BULLETS);
  return { summary, bullets };
}

async function withModel(c: ThreadContext, choice: ModelChoice, offline: ThreadSummary, requestId?: string): Promise<ThreadSummary> {
  try {
    return { ...(await summarizeWithModel(c, choice)), source: 'model' };
  } catch (error) {
    log.warn('AI summary failed; the extractive summary stands', { requestId, model: choice.modelId, error: failureReason(error) });
    return offline;
  }
}

/**
 * POST /api/ai/summarize: reads the thread under RLS and builds the extractive summary in the request;
 * a model, when configured, answers after the transaction has committed, the extractive summary
 * standing in if it fails.
 */
export async function summarizeThread(ctx: Ctx, threadId: string): Promise<ThreadSummary | Response> {
  const context = await gatherThreadContext(ctx, threadId);
  const offline: ThreadSummary = { ...summarizeOffline(context), source: 'offline' };
  const choice = await resolveModel();
  if (!choice) return offline;
  return jsonAfterCommit(() => withModel(context, choice, offline, ctx.requestId));
}
