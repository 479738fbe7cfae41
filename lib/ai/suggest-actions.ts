// Suggested actions for a thread, each shaped exactly as POST /api/actions accepts it (validated against
// the same schema), so the web app accepts one by posting it as it is. The reason for a suggestion
// travels in `description` (POST /api/actions takes no other free-text field and refuses unknown keys).
// The model proposes them with structured output; without a model, or when it fails, rules read the
// unanswered messages' intents and content: a document request becomes "send the draft B/L", a booking
// request "confirm the booking with the carrier", a complaint "call the customer", and so on. Actions
// the thread already has open are not suggested again.
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { ACTION_TYPES, actionCreate } from '../actions/service.js';
import type { Ctx } from '../context.js';
import { log } from '../log.js';
import { PRIORITIES } from '../threads/service.js';
import type { ModelChoice } from './analysis/index.js';
import {
  failureReason,
  formatDate,
  gatherThreadContext,
  jsonAfterCommit,
  askAboutThread,
  resolveModel,
  UNTRUSTED_CONTENT_RULE,
  type ThreadContext,
} from './context.js';
import { documentsIn, isMissedCall, lastInbound, list, namedIdentifiers, portName, primaryShipment, unanswered } from './offline-drafter.js';

export const MAX_SUGGESTIONS = 5;

type ActionType = (typeof ACTION_TYPES)[number];
type Priority = (typeof PRIORITIES)[number];

/** One suggestion: a valid POST /api/actions body. */
export interface SuggestedAction {
  title: string;
  /** Why the action is suggested. */
  description: string;
  type: ActionType;
  priority: Priority;
  dueAt?: string;
  threadId: string;
  shipmentId?: string;
  source: 'ai';
  /** Which suggestion: its key (stable for the same thread, type and title), and what made it. */
  suggestion: { key: string; source: 'model' | 'offline'; model: string | null };
}

export interface Suggestions {
  suggestions: SuggestedAction[];
  source: 'model' | 'offline';
}

/** A suggestion before it is tied to the thread and a due time. */
interface Draft {
  title: string;
  type: ActionType;
  priority: Priority;
  dueInHours: number | null;
  shipmentId?: string | null;
  reason: string;
}

const RANK: Record<Priority, number> = { low: 0, normal: 1, high: 2, urgent: 3 };
const atLeast = (p: Priority, floor: Priority): Priority => (RANK[p] >= RANK[floor] ? p : floor);

/** The thread's own weight: its urgency (from analysis) or its priority, whichever is higher. */
function basePriority(c: ThreadContext): Priority {
  const fromUrgency: Priority =
    c.thread.urgency === 'critical' ? 'urgent' : c.thread.urgency === 'high' ? 'high' : c.thread.urgency === 'low' ? 'low' : 'normal';
  const fromThread = (PRIORITIES as readonly string[]).includes(c.thread.priority) ? (c.thread.priority as Priority) : 'normal';
  return RANK[fromUrgency] >= RANK[fromThread] ? fromUrgency : fromThread;
}

const hoursFor = (p: Priority, normal: number) => (p === 'urgent' ? Math.min(2, normal) : p === 'high' ? Math.min(4, normal) : normal);

/** Rules over the unanswered messages' intents and text. */
export function suggestOffline(c: ThreadContext): Draft[] {
  const lastMessage = c.messages.at(-1);
  // We wrote last: what the customer asked is answered; only a quote waits on their decision.
  if (lastMessage?.direction === 'outbound' && !isMissedCall(c)) return awaitingThem(c);
  const open = unanswered(c);
  const intents = new Set(open.map((m) => m.intent ?? 'general'));
  const text = open.map((m) => `${m.subject ?? ''}\n${m.text}`).join('\n');
  const base = basePriority(c);
  const s = primaryShipment(c);
  const party = c.customer?.name ?? c.contact?.name ?? 'the customer';
  const person = c.contact?.name || lastInbound(c)?.fromName || party;
  const ref = s ? ` for ${s.reference}` : '';
  const ids = namedIdentifiers(c);
  const out: Draft[] = [];
  const add = (d: Omit<Draft, 'shipmentId'> & { shipmentId?: string | null }) => out.push({ shipmentId: s?.id ?? null, ...d });
  const lastDate = open.at(-1) ? formatDate(open.at(-1)!.occurredAt, c.org.timezone) : '';

  // A missed call is answered by calling back.
  if (isMissedCall(c)) {
    add({
      title: `Call back ${person}`,
      type: 'call_back',
      priority: atLeast(base, 'normal'),
      dueInHours: 1,
      shipmentId: null,
      reason: `${person} called and nobody answered.`,
    });
  }
  if (intents.has('document_request')) {
    const docs = documentsIn(text);
    add({
      title: `Send ${docs.length ? `the ${list(docs)}` : 'the requested documents'} to ${party}`,
      type: 'send_document',
      priority: atLeast(base, 'normal'),
      dueInHours: hoursFor(base, 24),
      reason: `${person} asked for ${docs.length ? `the ${list(docs)}` : 'documents'}${lastDate ? ` on ${lastDate}` : ''}.`,
    });
  }
  if (intents.has('booking_request')) {
    const confirmed = s && s.bookingNumbers.length > 0;
    if (confirmed) {
      add({
        title: `Send the booking confirmation${ref} to ${party}`,
        type: 'send_document',
        priority: base,
        dueInHours: hoursFor(base, 8),
        reason: `Booking ${s.bookingNumbers[0]} is placed; ${person} is waiting for the confirmation.`,
      });
    } else {
      add({
        title: `Confirm the booking with ${s?.carrier ?? 'the carrier'}${ref}`,
        type: 'booking',
        priority: atLeast(base, 'high'),
        dueInHours: hoursFor(base, 8),
        reason: `${person} asked to book${lastDate ? ` on ${lastDate}` : ''}.`,
      });
    }
    if (!s || ['enquiry', 'booked'].includes(s.status)) {
      add({
        title: `Request the SI and VGM from ${party}`,
        type: 'request_document',
        priority: base,
        dueInHours: hoursFor(base, 24),
        reason: 'The carrier needs the shipping instructions and the VGM before the cut-offs.',
      });
    }
  }
  if (intents.has('quote_request')) {
    const ports = [...new Set(open.flatMap((m) => m.entities?.ports ?? []))];
    const route = ports.length >= 2 ? ` ${portName(ports[0])} to ${portName(ports[1])}` : '';
    add({
      title: `Prepare a quote for ${party}${route}`,
      type: 'quote',
      priority: atLeast(base, 'normal'),
      dueInHours: hoursFor(base, 24),
      shipmentId: null,
      reason: `${person} asked for rates${lastDate ? ` on ${lastDate}` : ''}.`,
    });
  }
  if (intents.has('shipment_status')) {
    const what = s ? s.reference : ids.length ? list(ids) : 'the shipment';
    add({
      title: `Send a status update on ${what} to ${party}`,
      type: 'follow_up',
      priority: base,
      dueInHours: hoursFor(base, 8),
      reason: `${person} asked where the shipment is.`,
    });
  }
  if (intents.has('complaint')) {
    add({
      title: `Call ${person} about the complaint`,
      type: 'call_back',
      priority: atLeast(base, 'high'),
      dueInHours: 2,
      reason: `${person} complained${lastDate ? ` on ${lastDate}` : ''}; a call first, before the written answer.`,
    });
    add({
      title: `Investigate and send a written response to ${party}`,
      type: 'follow_up',
      priority: atLeast(base, 'high'),
      dueInHours: 24,
      reason: 'A complaint needs our findings and the next steps in writing.',
    });
    if (/\bclaim\b|\bdamag|\bshort(?:age)?\b/i.test(text)) {
      add({
        title: `Notify the carrier and the insurers of the cargo claim${ref}`,
        type: 'other',
        priority: atLeast(base, 'high'),
        dueInHours: 24,
        reason: 'Damage or shortage was reported; claims have notice deadlines.',
      });
    }
  }
  if (intents.has('customs')) {
    const docs = documentsIn(text).filter((d) => d !== 'bill of entry' && d !== 'shipping bill');
    if (docs.length) {
      add({
        title: `Get the ${list(docs)} for the customs query${ids.length ? ` on ${ids[0]}` : ref}`,
        type: 'request_document',
        priority: atLeast(base, 'high'),
        dueInHours: hoursFor(base, 8),
        reason: `Customs asked for the ${list(docs)}.`,
      });
    } else {
      add({
        title: `Resolve the customs query${ids.length ? ` on ${ids[0]}` : ref}`,
        type: 'customs',
        priority: atLeast(base, 'high'),
        dueInHours: hoursFor(base, 8),
        reason: 'Customs raised a query; clearance waits for the answer.',
      });
    }
  }
  if (intents.has('invoice_payment')) {
    const invoice = /\b(?:invoice|inv)\s*(?:no\.?|number|#)?\s*[:.-]?\s*([A-Z0-9][A-Z0-9/-]{3,})/i.exec(`${c.thread.subject}\n${text}`)?.[1];
    if (/\b(?:paid|remitted|released|transferred|UTR|payment\s+(?:will|has|is|shall))\b/i.test(text)) {
      add({
        title: `Check receipt of the payment${invoice ? ` for invoice ${invoice}` : ''}`,
        type: 'payment',
        priority: base,
        dueInHours: 72,
        shipmentId: null,
        reason: `${person} says the payment is made or on its way.`,
      });
    } else {
      add({
        title: `Check invoice${invoice ? ` ${invoice}` : ''} with accounts and reply to ${party}`,
        type: 'payment',
        priority: base,
        dueInHours: hoursFor(base, 24),
        shipmentId: null,
        reason: `${person} wrote about an invoice or a payment.`,
      });
    }
  }
  if (intents.has('document_submission')) {
    const docs = documentsIn(text);
    add({
      title: `Check the ${docs.length ? list(docs) : 'documents'} from ${party}${ref}`,
      type: 'follow_up',
      priority: base,
      dueInHours: hoursFor(base, 24),
      reason: `${person} sent documents${lastDate ? ` on ${lastDate}` : ''}.`,
    });
    if (docs.includes('shipping instructions (SI)')) {
      add({
        title: `Prepare the draft B/L from the SI${ref}`,
        type: 'send_document',
        priority: base,
        dueInHours: hoursFor(base, 24),
        reason: 'The SI is in; the customer will expect the draft B/L next.',
      });
    }
  }
  if (intents.has('schedule_change')) {
    const vessel = s?.vessel ? ` on ${s.vessel}${s.voyage ? ` ${s.voyage}` : ''}` : '';
    add({
      title: c.customer?.kind === 'carrier' ? `Inform the affected customers of the schedule change${vessel}` : `Check alternative sailings for ${party}${ref}`,
      type: 'follow_up',
      priority: atLeast(base, 'high'),
      dueInHours: hoursFor(base, 8),
      reason: 'The schedule changed; the customers concerned must hear it from us.',
    });
  }
  // A thread with an SLA clock running and our reply still owed.
  const due = c.thread.nextResponseDueAt ?? (c.thread.lastOutboundAt ? null : c.thread.firstResponseDueAt);
  if (due && lastMessage?.direction === 'inbound') {
    const hours = Math.max(0.25, (due.getTime() - c.now.getTime()) / 3_600_000);
    add({
      title: `Reply to ${person}`,
      type: 'follow_up',
      priority: c.thread.slaBreachedAt || hours <= 2 ? 'urgent' : base,
      dueInHours: hours,
      shipmentId: null,
      reason: c.thread.slaBreachedAt ? 'The reply is overdue: the SLA is breached.' : `The SLA asks for a reply by ${formatDate(due, c.org.timezone)}.`,
    });
  }
  return out;
}

/** Suggestions for a thread that waits on the customer: chase a quote we sent. */
function awaitingThem(c: ThreadContext): Draft[] {
  if (['resolved', 'closed'].includes(c.thread.status)) return [];
  const asked = lastInbound(c);
  if (asked?.intent !== 'quote_request') return [];
  const party = c.customer?.name ?? c.contact?.name ?? 'the customer';
  const sent = c.messages.at(-1)!;
  const hours = Math.max(4, 48 - (c.now.getTime() - sent.occurredAt.getTime()) / 3_600_000);
  return [
    {
      title: `Follow up on the quote with ${party}`,
      type: 'follow_up',
      priority: 'normal',
      dueInHours: hours,
      shipmentId: null,
      reason: `We sent the offer on ${formatDate(sent.occurredAt, c.org.timezone)} and have no answer yet.`,
    },
  ];
}

/** True when the thread already has an open action that does the same (same type, and the same documents where named). */
function alreadyOpen(c: ThreadContext, d: Pick<Draft, 'type' | 'title'>): boolean {
  const docs = documentsIn(d.title);
  return c.openActions.some((a) => {
    if (a.type !== d.type) return false;
    const theirs = documentsIn(a.title);
    return !docs.length || !theirs.length || docs.some((x) => theirs.includes(x));
  });
}

/** Ties drafts to the thread, turns hours into due times, drops duplicates and anything POST /api/actions would refuse. */
/** The key of a suggestion: the same for the same thread, type and title, whichever way it was made. */
const suggestionKey = (threadId: string, type: string, title: string) =>
  createHash('sha256').update(`${threadId}\n${type}\n${title.toLowerCase()}`).digest('hex').slice(0, 16);

export function finalize(c: ThreadContext, drafts: Draft[], madeBy: { source: 'model' | 'offline'; model: string | null }): SuggestedAction[] {
  const out: SuggestedAction[] = [];
  const seen = new Set<string>();
  for (const d of drafts) {
    const key = `${d.type}:${d.title.toLowerCase()}`;
    if (seen.has(key) || alreadyOpen(c, d)) continue;
    seen.add(key);
    const suggestion: SuggestedAction = {
      title: d.title.trim().slice(0, 500),
      description: d.reason.trim().slice(0, 2000),
      type: d.type,
      priority: d.priority,
      threadId: c.thread.id,
      ...(d.dueInHours !== null && Number.isFinite(d.dueInHours)
        ? { dueAt: new Date(c.now.getTime() + Math.min(Math.max(d.dueInHours, 0.25), 24 * 60) * 3_600_000).toISOString() }
        : {}),
      ...(d.shipmentId ? { shipmentId: d.shipmentId } : {}),
      source: 'ai',
      suggestion: { key: suggestionKey(c.thread.id, d.type, d.title.trim().slice(0, 500)), ...madeBy },
    };
    if (!actionCreate.safeParse(suggestion).success) continue;
    out.push(suggestion);
    if (out.length >= MAX_SUGGESTIONS) break;
  }
  return out;
}

/** What the model answers (every field required, as strict structured output wants). */
export const suggestionsOutput = z.object({
  suggestions: z
    .array(
      z.object({
        title: z.string().describe('Imperative, specific: what to do and for whom, e.g. "Send the draft B/L to Tata Textiles"'),
        type: z.enum(ACTION_TYPES),
        priority: z.enum(PRIORITIES),
        dueInHours: z.number().nullable().describe('Hours from now until it is due; null when there is no deadline'),
        shipmentReference: z.string().nullable().describe('Reference of the linked shipment it concerns, exactly as given; null for none'),
        reason: z.string().describe('One sentence: why, citing the message or fact'),
      }),
    )
    .describe(`At most ${MAX_SUGGESTIONS} actions, most important first; none when nothing is to be done`),
});

const SYSTEM = `You suggest follow-up actions (tasks) for the team of a freight forwarder handling one conversation.
Suggest only actions the conversation calls for and that the open actions do not already cover; none when nothing is to be done.
Action types: follow_up, call_back, send_document, request_document, quote, booking, customs, payment, other. Priorities: low, normal, high, urgent.
Use only what the context says; never invent references. ${UNTRUSTED_CONTENT_RULE}`;

/** Suggestions from the model; throws on any failure (the caller falls back). */
export async function suggestWithModel(c: ThreadContext, choice: ModelChoice): Promise<Draft[]> {
  const output = await askAboutThread(c, choice, { system: SYSTEM, schema: suggestionsOutput, name: 'suggested_actions' });
  return output.suggestions.map((s) => ({
    title: s.title,
    type: s.type,
    priority: s.priority,
    dueInHours: s.dueInHours,
    // Only a shipment linked to this thread, named by its reference; never an id the model made up.
    shipmentId: c.shipments.find((x) => s.shipmentReference && x.reference.toLowerCase() === s.shipmentReference.trim().toLowerCase())?.id ?? null,
    reason: s.reason,
  }));
}

async function withModel(c: ThreadContext, choice: ModelChoice, offline: Suggestions, requestId?: string): Promise<Suggestions> {
  try {
    return { suggestions: finalize(c, await suggestWithModel(c, choice), { source: 'model', model: choice.modelId }), source: 'model' };
  } catch (error) {
    log.warn('AI action suggestions failed; the rules stand', { requestId, model: choice.modelId, error: failureReason(error) });
    return offline;
  }
}

/**
 * POST /api/ai/suggest-actions: reads the thread under RLS and applies the rules in the request; a model,
 * when configured, answers after the transaction has committed, the rules standing in if it fails.
 */
export async function suggestThreadActions(ctx: Ctx, threadId: string): Promise<Suggestions | Response> {
  const context = await gatherThreadContext(ctx, threadId);
  const offline: Suggestions = { suggestions: finalize(context, suggestOffline(context), { source: 'offline', model: null }), source: 'offline' };
  const choice = await resolveModel();
  if (!choice) return offline;
  return jsonAfterCommit(() => withModel(context, choice, offline, ctx.requestId));
}
