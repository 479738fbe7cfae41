// The offline drafter: a reply built by rules when no model is configured (or the model fails before it
// writes anything). It reads what the thread context already holds — the intent of the last inbound
// message (stored, or the offline analyser's), the identifiers, the linked shipment's state and
// milestones, the open actions, the files the messages carry — and the member's instruction and tone,
// and writes a greeting by name, the sentences that intent calls for, the instruction's points, a
// closing and the organization's signature. It never states a fact the thread does not hold: each
// template sentence declares the thread facts it needs (ThreadFacts) and is used only when they are all
// there; otherwise a neutral sentence stands in, or a [bracketed placeholder] for the member to fill in
// (which POST /api/messages/{id}/send refuses until filled).
import { saysAttached } from './analysis/offline.js';
import { PORTS } from './analysis/ports.js';
import { INTENTS, type Intent } from './analysis/schema.js';
import { formatDate, MILESTONE_LABELS, type ContextMessage, type ContextShipment, type ThreadContext } from './context.js';

export const TONES = ['formal', 'friendly', 'brief'] as const;
export type Tone = (typeof TONES)[number];

export interface DraftRequest {
  instruction: string;
  tone: Tone;
  /** ISO 639-1; templates are written in English whatever is asked. */
  language: string;
}

/** Why a template stands in: no model configured, or the model failed before writing anything. */
export type TemplateReason = 'no_model' | 'model_failed';

export interface OfflineDraft {
  text: string;
  /** The intent the draft answers. */
  intent: Intent;
  /** What the web app shows next to a template draft. */
  notice: string;
  /** The draft holds [placeholders] to fill in. */
  hasPlaceholders: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Reading the context
// ---------------------------------------------------------------------------------------------------

const portNames = new Map(PORTS.map((p) => [p.code, p.names[0]!]));
export const portName = (code: string | null | undefined) => (code ? (portNames.get(code) ?? code) : null);

const isIntent = (v: unknown): v is Intent => typeof v === 'string' && (INTENTS as readonly string[]).includes(v);

export function lastInbound(c: ThreadContext): ContextMessage | undefined {
  return [...c.messages].reverse().find((m) => m.direction === 'inbound');
}

/** Inbound messages not answered yet (after our last outbound one); the last inbound one when all are answered. */
export function unanswered(c: ThreadContext): ContextMessage[] {
  const lastOut = c.messages.map((m) => m.direction).lastIndexOf('outbound');
  const open = c.messages.slice(lastOut + 1).filter((m) => m.direction === 'inbound');
  if (open.length) return open;
  const last = lastInbound(c);
  return last ? [last] : [];
}

/** A call thread whose last call nobody took (or with no message at all: a missed-call notification). */
export function isMissedCall(c: ThreadContext): boolean {
  if (c.thread.channel !== 'voice') return false;
  const last = c.messages.at(-1);
  return !last || (last.kind === 'call' && ['no_answer', 'busy', 'failed', 'ringing'].includes(last.status));
}

/** The intent a reply answers: the last inbound message's, else the thread's, else general. */
export function replyIntent(c: ThreadContext): Intent {
  const m = lastInbound(c);
  if (m?.intent) return m.intent;
  return isIntent(c.thread.intent) ? c.thread.intent : 'general';
}

const TITLE = /^(?:dr|mr|mrs|ms|miss|prof|capt|shri|smt)\.?$/i;
const NOT_A_PERSON =
  /\b(?:desk|team|service|services|support|operations|ops|department|dept|exports?|imports?|accounts|customer|logistics|ltd|limited|pvt|gmbh|bv|inc|llc|line|lines|cargo|shipping|freight|info|sales|admin)\b/i;

/** How to address the contact: "Karthik", "Dr. Shah", "Team", or null when no name is known. */
export function addressee(c: ThreadContext): string | null {
  const raw = c.contact?.name?.trim() || lastInbound(c)?.fromName?.trim() || '';
  const name = raw
    .replace(/\s+/g, ' ')
    .replace(/[<("].*$/, '')
    .trim();
  if (!name || name.includes('@') || /\d/.test(name)) return null;
  if (NOT_A_PERSON.test(name)) return 'Team';
  const parts = name.split(' ');
  if (parts.length >= 2 && TITLE.test(parts[0]!)) {
    const title = parts[0]!.replace(/\.?$/, '.');
    return `${title[0]!.toUpperCase()}${title.slice(1).toLowerCase()} ${parts.at(-1)}`;
  }
  return parts[0]!;
}

function greeting(c: ThreadContext, tone: Tone): string {
  const who = addressee(c);
  if (tone === 'formal') return who === 'Team' ? 'Dear Team,' : who ? `Dear ${who},` : 'Dear Sir/Madam,';
  return who === 'Team' ? 'Hello team,' : who ? `Hi ${who},` : 'Hello,';
}

const inboundText = (c: ThreadContext) =>
  c.messages
    .filter((m) => m.direction === 'inbound')
    .map((m) => `${m.subject ?? ''}\n${m.text}`)
    .join('\n');

/** The shipment the conversation is about: one whose identifiers the last inbound message names, else the first linked one. */
export function primaryShipment(c: ThreadContext): ContextShipment | undefined {
  const e = lastInbound(c)?.entities;
  if (e) {
    const named = new Set([...e.containers, ...e.awbs, ...e.bls, ...e.bookings]);
    const hit = c.shipments.find((s) => [...s.containerNumbers, ...s.awbNumbers, ...s.blNumbers, ...s.bookingNumbers].some((x) => named.has(x)));
    if (hit) return hit;
  }
  return c.shipments[0];
}

/** Identifiers the customer wrote, for a reply that has no linked shipment to speak of. */
export function namedIdentifiers(c: ThreadContext): string[] {
  const e = lastInbound(c)?.entities;
  if (!e) return [];
  return [...e.containers, ...e.awbs.map((a) => `AWB ${a}`), ...e.bls.map((b) => `B/L ${b}`), ...e.bookings.map((b) => `booking ${b}`)].slice(0, 4);
}

export const list = (items: string[]) => (items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

const DOCUMENTS: Array<{ re: RegExp; name: string; unless?: string[] }> = [
  { re: /\bdraft\s+(?:[hm]\s*)?b\s*\/?\s*l\b|\bdraft\s+bills?\s+of\s+lading\b|\bb\s*\/\s*l\s+draft\b/i, name: 'draft B/L' },
  { re: /\b(?:original|final)\s+(?:[hm]\s*)?b\s*\/?\s*l\b|\bOBL\b/i, name: 'original B/L' },
  { re: /\b[hm]?b\s*\/\s*l\b|\bbills?\s+of\s+lading\b|\b[HM]BL\b/i, name: 'B/L copy', unless: ['draft B/L', 'original B/L'] },
  { re: /\b[hm]?awb\b|\bair\s*way\s*bill\b/i, name: 'AWB copy' },
  { re: /\bdelivery\s+order\b|\bD\/O\b|\bDO\b/, name: 'delivery order' },
  { re: /\bcommercial\s+invoice\b/i, name: 'commercial invoice' },
  { re: /\bpacking\s+list\b/i, name: 'packing list' },
  { re: /\bshipping\s+instructions?\b|\bSI\b/, name: 'shipping instructions (SI)' },
  { re: /\bVGM\b/, name: 'VGM' },
  { re: /\bcertificates?\s+of\s+origin\b|\bCOO\b/, name: 'certificate of origin' },
  { re: /\bshipping\s+bill\b/i, name: 'shipping bill' },
  { re: /\bbill\s+of\s+entry\b/i, name: 'bill of entry' },
  { re: /\barrival\s+notice\b/i, name: 'arrival notice' },
  { re: /\binsurance\s+(?:certificate|policy)\b/i, name: 'insurance certificate' },
  { re: /\bproof\s+of\s+delivery\b/i, name: 'proof of delivery' },
  { re: /\btechnical\s+write-?\s?up\b/i, name: 'technical write-up' },
  { re: /\bpre-?\s?alert\b/i, name: 'pre-alert' },
  { re: /\bsurvey\s+report\b/i, name: 'survey report' },
  { re: /\binvoice\b/i, name: 'invoice', unless: ['commercial invoice'] },
];

/** Shipment documents named in a text, in table order, e.g. ['draft B/L', 'VGM']. */
export function documentsIn(text: string): string[] {
  const found: string[] = [];
  for (const d of DOCUMENTS) {
    if (d.re.test(text) && !d.unless?.some((u) => found.includes(u))) found.push(d.name);
  }
  return found;
}

/** "today", "tomorrow" or "by 14 Dec 2026" in the organization's time zone. */
function byWhen(date: Date, c: ThreadContext): string {
  const day = (d: Date) => formatDate(d, c.org.timezone);
  if (day(date) === day(c.now)) return 'today';
  if (day(date) === day(new Date(c.now.getTime() + 86_400_000))) return 'tomorrow';
  return `by ${day(date)}`;
}

export const isUrgent = (c: ThreadContext) => ['high', 'critical'].includes(c.thread.urgency ?? '') || ['high', 'urgent'].includes(c.thread.priority);
const soon = (c: ThreadContext) => (isUrgent(c) ? 'today' : 'shortly');

// ---------------------------------------------------------------------------------------------------
// The shipment in words
// ---------------------------------------------------------------------------------------------------

const carriage = (s: ContextShipment) =>
  s.vessel ? ` on ${s.vessel}${s.voyage ? ` ${s.voyage}` : ''}` : s.mode === 'air' && s.carrier ? ` with ${s.carrier}` : '';

function shipmentLabel(s: ContextShipment): string {
  const units = s.containerNumbers.length ? s.containerNumbers : s.awbNumbers.map((a) => `AWB ${a}`);
  return `${s.reference}${units.length ? ` (${units.slice(0, 3).join(', ')})` : ''}`;
}

function lastDone(s: ContextShipment, code?: string) {
  return [...s.milestones].reverse().find((m) => m.actualAt && (!code || m.code === code));
}

/** Sentences stating where the shipment is: status, vessel, departure and arrival, the latest and the next milestone. */
export function shipmentStatusSentences(s: ContextShipment, c: ThreadContext): string[] {
  const tz = c.org.timezone;
  const from = portName(s.originPort);
  const to = portName(s.destinationPort);
  const out: string[] = [];
  const departed = s.atd ?? lastDone(s, 'departed')?.actualAt ?? null;
  const arrived = s.ata ?? lastDone(s, 'arrived')?.actualAt ?? null;
  const mentioned = new Set<string>();
  switch (s.status) {
    case 'enquiry':
      out.push(`${shipmentLabel(s)} is not booked yet.`);
      break;
    case 'booked':
      out.push(
        `${shipmentLabel(s)} is booked${carriage(s)}${s.etd ? `, scheduled to depart${from ? ` ${from}` : ''} on ${formatDate(s.etd, tz)}` : ''}${s.eta ? ` with arrival${to ? ` at ${to}` : ''} expected on ${formatDate(s.eta, tz)}` : ''}.`,
      );
      break;
    case 'in_transit': {
      let line = `${shipmentLabel(s)} is in transit${carriage(s)}`;
      if (departed) {
        line += `: it departed${from ? ` ${from}` : ''} on ${formatDate(departed, tz)}`;
        mentioned.add('departed');
      }
      if (s.eta && s.eta.getTime() >= c.now.getTime()) line += `${departed ? ' and' : ','} is expected${to ? ` at ${to}` : ''} on ${formatDate(s.eta, tz)}.`;
      else if (s.eta)
        line += `${departed ? ';' : ','} it was due${to ? ` at ${to}` : ''} on ${formatDate(s.eta, tz)} and we will check the revised ETA with the carrier.`;
      else line += '.';
      out.push(line);
      break;
    }
    case 'arrived':
      out.push(`${shipmentLabel(s)} has arrived${to ? ` at ${to}` : ''}${arrived ? ` on ${formatDate(arrived, tz)}` : ''}.`);
      mentioned.add('arrived');
      break;
    case 'customs':
      out.push(`${shipmentLabel(s)}${arrived ? ` arrived${to ? ` at ${to}` : ''} on ${formatDate(arrived, tz)} and` : ''} is under customs clearance.`);
      mentioned.add('arrived');
      break;
    case 'delivered': {
      const delivered = lastDone(s, 'delivered')?.actualAt;
      out.push(`${shipmentLabel(s)} has been delivered${delivered ? ` on ${formatDate(delivered, tz)}` : ''}.`);
      mentioned.add('delivered');
      break;
    }
    case 'closed':
      out.push(`${shipmentLabel(s)} is completed.`);
      break;
    case 'cancelled':
      out.push(`${shipmentLabel(s)} has been cancelled.`);
      break;
    default:
      out.push(`${shipmentLabel(s)} is ${s.status.replace('_', ' ')}.`);
  }
  const latest = lastDone(s);
  if (latest && !mentioned.has(latest.code)) {
    out.push(
      `Latest update: ${latest.label || MILESTONE_LABELS[latest.code] || latest.code}${latest.location ? ` at ${portName(latest.location)}` : ''} on ${formatDate(latest.actualAt, tz)}.`,
    );
  }
  const next = s.milestones.find((m) => !m.actualAt && m.plannedAt && m.plannedAt.getTime() > c.now.getTime());
  if (next && !(next.code === 'arrived' && s.status === 'in_transit' && s.eta)) {
    out.push(
      `Next: ${next.label || MILESTONE_LABELS[next.code] || next.code}${next.location ? ` at ${portName(next.location)}` : ''}, planned for ${formatDate(next.plannedAt, tz)}.`,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// What the thread establishes
// ---------------------------------------------------------------------------------------------------

/**
 * The facts a template may state, each read from the thread itself: its messages (with the files they
 * carry), its linked shipments and its open actions. Every template sentence declares the facts it
 * needs (`sentence`), and `firstSupported` uses the first one whose facts the thread holds; the last
 * candidate of each list needs nothing and says nothing the thread does not, or leaves a [placeholder]
 * for the member. The member's instruction is the only other source: what it tells the reply to say.
 */
export interface ThreadFacts {
  /** The subject and text of the inbound messages not answered yet. */
  request: string;
  shipment?: ContextShipment;
  /** The linked shipment's booking number, as the shipment records it. */
  bookingNumber?: string;
  /** The linked shipment is booked: it has a booking number or a done booking_confirmed milestone. */
  bookingConfirmed?: true;
  /** Identifiers the customer wrote (containers, AWBs, B/Ls, bookings). */
  identifiers?: string[];
  /** Ports the customer named (else the shipment's), as loading and discharge. */
  route?: { from: string; to: string };
  /** Documents the unanswered messages carry: named in a sentence saying they are attached, or in a file name. */
  documentsReceived?: string[];
  /** Files the unanswered messages carry that name no document (e.g. scan0001.pdf). */
  filesReceived?: string[];
  /** Documents the unanswered messages name (asked for, announced or attached). */
  documentsNamed?: string[];
  /** Documents the unanswered messages name outside a sentence that attaches them or announces them ("we will send…"). */
  documentsAsked?: string[];
  /** Documents the sender says they will send ("we will send the PL tomorrow", "VGM to follow"). */
  documentsAnnounced?: string[];
  /** An invoice number written in the thread's subject or the unanswered messages. */
  invoiceNumber?: string;
  /** The unanswered messages report a payment (paid, remitted, UTR, "payment will be released"). */
  paymentReported?: true;
  /** Our own message, when it ends the thread and carries an offer (rates or an amount). */
  offerSent?: ContextMessage;
  /** When this thread's open send_document action is due. */
  documentsDue?: Date;
  /** What the customer complains about ("the delay", "the damaged cartons"). */
  issues?: string[];
  /** The vessel (and voyage) of the linked shipment, when the unanswered messages name it. */
  vesselNamed?: string;
}

type Fact = Exclude<keyof ThreadFacts, 'request'>;
/** The facts with the ones a sentence needs known to be there. */
type Holding<K extends Fact> = ThreadFacts & { [P in K]-?: NonNullable<ThreadFacts[P]> };

/** A sentence of a template and the thread facts it needs. */
export interface Sentence {
  topic: string;
  needs: readonly Fact[];
  text: (facts: ThreadFacts) => string;
}

/** Declares a template sentence: it is used only when the thread holds every fact in `needs`. */
export function sentence<K extends Fact>(topic: string, needs: readonly K[], text: (facts: Holding<K>) => string): Sentence {
  return { topic, needs, text: text as (facts: ThreadFacts) => string };
}

const holds = (facts: ThreadFacts, fact: Fact) => {
  const value = facts[fact];
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== null;
};

/** The first candidate whose facts the thread holds, as a line (null when none does). */
export function firstSupported(facts: ThreadFacts, candidates: readonly Sentence[]): Line | null {
  const chosen = candidates.find((s) => s.needs.every((fact) => holds(facts, fact)));
  return chosen ? { topic: chosen.topic, text: chosen.text(facts) } : null;
}

const requestText = (c: ThreadContext) =>
  unanswered(c)
    .map((m) => `${m.subject ?? ''}\n${m.text}`)
    .join('\n');

const sentencesOf = (text: string) => text.split(/(?<=[.!?])\s+|\n+/).filter((s) => s.trim());

// The sender announces documents of their own: "we will send the PL tomorrow", "VGM to follow".
const ANNOUNCES =
  /\b(?:we|i)\s*(?:will|shall|'ll|are\s+going\s+to)\s+(?:\w+\s+)?(?:send|share|forward|mail|submit|provide)\b|\bto\s+follow\b|\bwill\s+follow\b/i;

/** Documents the unanswered messages name, by what each sentence does with them. */
function documentsBySentence(c: ThreadContext): { asked: string[]; announced: string[] } {
  const asked = new Set<string>();
  const announced = new Set<string>();
  const attached = new Set<string>();
  for (const m of unanswered(c)) {
    for (const s of sentencesOf(m.text)) {
      for (const d of documentsIn(s)) (saysAttached(s) ? attached : ANNOUNCES.test(s) ? announced : asked).add(d);
    }
  }
  // A subject names the topic: its documents count as asked for unless the text attaches or announces them.
  // ("invoice" in the subject is the "commercial invoice" of the text).
  const base = (d: string) => d.replace(/ copy$/, '');
  const covered = (d: string) => [...attached, ...announced].some((o) => base(o).includes(base(d)) || base(d).includes(base(o)));
  for (const m of unanswered(c)) for (const d of documentsIn(m.subject ?? '')) if (!covered(d)) asked.add(d);
  return { asked: [...asked], announced: [...announced] };
}

/** The documents and files the unanswered messages carry: named where they say so, or by file name. */
function received(c: ThreadContext): { documents: string[]; files: string[] } {
  const documents = new Set<string>();
  const files: string[] = [];
  for (const m of unanswered(c)) {
    const attachedSentences = sentencesOf(`${m.subject ?? ''}\n${m.text}`).filter((s) => saysAttached(s));
    for (const d of documentsIn(attachedSentences.join('\n'))) documents.add(d);
    for (const a of m.attachments) {
      // File names write words with _ and -: "Commercial_Invoice-041.pdf".
      const named = documentsIn(a.filename.replace(/\.[a-z0-9]{2,5}$/i, '').replace(/[_.-]+/g, ' '));
      if (named.length) named.forEach((d) => documents.add(d));
      else files.push(a.filename);
    }
  }
  return { documents: [...documents], files };
}

// A document reference with a digit in it: "INV/2026/1187", "SHL-INV-0042" (not "invoice copy").
const INVOICE_NUMBER = /\b(?:invoice|inv)\s*(?:no\.?|number|#)?\s*[:.-]?\s*((?=[A-Z0-9/-]*\d)[A-Z0-9][A-Z0-9/-]{3,})/i;
const PAYMENT_REPORTED = /\b(?:paid|remitted|released|transferred|UTR|payment\s+(?:will|has|is|shall))\b/i;
const OFFER = /\b(?:USD|EUR|INR|Rs\.?|AED|US\$)\s?\d|\$\s?\d|\b(?:rates?|offer|quotation|quote)\b/i;

/** What the customer complains about, in the words of an apology. */
function issuesIn(text: string): string[] {
  const issues: string[] = [];
  if (/\bdelay|\blate\b|\broll(?:ed)?\s*over|\bmissed\b/i.test(text)) issues.push('the delay');
  if (/\bdamag|\bbroken\b|\bcrushed\b|\bwet\b/i.test(text)) issues.push(/\bcartons?\b/i.test(text) ? 'the damaged cartons' : 'the damage to your cargo');
  if (/\bshort(?:age|-?shipped|\s+landed)?\b|\bmissing\b/i.test(text)) issues.push('the shortage');
  if (/\bwrong\b|\bincorrect\b|\bmistake\b/i.test(text)) issues.push('the error');
  if (/\bno\s+(?:reply|response|communication|update)\b|\bnot\s+(?:replying|responding)\b/i.test(text)) issues.push('the lack of updates');
  return issues;
}

const orNone = <T>(items: T[]) => (items.length ? items : undefined);

/** Reads the facts a draft may state from the thread. */
export function threadFacts(c: ThreadContext): ThreadFacts {
  const request = requestText(c);
  const s = primaryShipment(c);
  const files = received(c);
  const named = documentsBySentence(c);
  const ports = [...new Set(c.messages.flatMap((m) => (m.direction === 'inbound' ? (m.entities?.ports ?? []) : [])))];
  const from = portName(ports[0] ?? s?.originPort);
  const to = portName(ports[1] ?? s?.destinationPort);
  const last = c.messages.at(-1);
  const action = c.openActions.find((a) => a.type === 'send_document' && a.threadId === c.thread.id && a.dueAt);
  const vessel = s?.vessel ? `${s.vessel}${s.voyage ? ` ${s.voyage}` : ''}` : undefined;
  const invoice = INVOICE_NUMBER.exec(`${c.thread.subject}\n${request}`)?.[1];
  return {
    request,
    shipment: s,
    bookingNumber: s?.bookingNumbers[0],
    bookingConfirmed: s && (s.bookingNumbers.length > 0 || lastDone(s, 'booking_confirmed')) ? true : undefined,
    identifiers: orNone(namedIdentifiers(c)),
    route: from && to ? { from, to } : undefined,
    documentsReceived: orNone(files.documents),
    filesReceived: orNone(files.files),
    documentsNamed: orNone(documentsIn(request)),
    documentsAsked: orNone(named.asked),
    documentsAnnounced: orNone(named.announced),
    invoiceNumber: invoice,
    paymentReported: PAYMENT_REPORTED.test(request) ? true : undefined,
    offerSent: last?.direction === 'outbound' && OFFER.test(last.text) ? last : undefined,
    documentsDue: action?.dueAt ?? undefined,
    issues: orNone(
      issuesIn(
        unanswered(c)
          .map((m) => m.text)
          .join('\n'),
      ),
    ),
    vesselNamed: vessel && s?.vessel && request.toUpperCase().includes(s.vessel.toUpperCase()) ? vessel : undefined,
  };
}

// ---------------------------------------------------------------------------------------------------
// Sentences by intent and by instruction
// ---------------------------------------------------------------------------------------------------

/** A sentence with the topic it covers, so the instruction's points and the intent's do not repeat each other. */
interface Line {
  topic?: string;
  text: string;
}

/** Every candidate list ends with a sentence that needs nothing: a line always comes out. */
const pick = (facts: ThreadFacts, candidates: readonly Sentence[]): Line => firstSupported(facts, candidates)!;

const bookingNo = (b: string) => (/^(?:bkg|booking)\b/i.test(b) ? b : `no. ${b}`);
const them = (docs: string[]) => (docs.length === 1 && docs[0] !== 'shipping instructions (SI)' ? 'it' : 'them');

/**
 * The booking confirmed, in the shipment's words; what the member confirms without the thread knowing
 * it (no booking number, vessel or ETD recorded) is left as a placeholder.
 */
function bookingConfirmation(c: ThreadContext, facts: ThreadFacts): Line {
  const etd = (s: ContextShipment) =>
    s.etd ? `, ETD${s.originPort ? ` ${portName(s.originPort)}` : ''} ${formatDate(s.etd, c.org.timezone)}` : ', ETD [date]';
  return pick(facts, [
    sentence('booking', ['shipment', 'bookingNumber'], (f) => {
      const s = f.shipment;
      return `We are pleased to confirm the booking ${bookingNo(f.bookingNumber)} for ${s.reference}${carriage(s) || ' on [vessel/voyage]'}${etd(s)}.`;
    }),
    sentence(
      'booking',
      ['shipment'],
      (f) =>
        `We are pleased to confirm the booking [booking number] for ${f.shipment.reference}${carriage(f.shipment) || ' on [vessel/voyage]'}${etd(f.shipment)}.`,
    ),
    sentence('booking', [], () => 'We are pleased to confirm the booking [booking number] on [vessel/voyage], ETD [date].'),
  ]);
}

const askSiVgm = (si: boolean, vgm: boolean): Line => ({
  topic: 'si',
  text:
    si && vgm
      ? 'Kindly share the shipping instructions (SI) and the VGM before the carrier’s cut-offs so that we can prepare the draft B/L.'
      : si
        ? 'Kindly share the shipping instructions (SI) before the SI cut-off so that we can prepare the draft B/L.'
        : 'Kindly share the VGM declaration before the VGM cut-off.',
});

function quoteLines(c: ThreadContext, facts: ThreadFacts): Line[] {
  const chase = firstSupported(facts, [
    sentence(
      'rates',
      ['offerSent'],
      (f) =>
        `Following up on our offer of ${formatDate(f.offerSent.occurredAt, c.org.timezone)}: please let us know if we may go ahead with the booking, or if you need anything else.`,
    ),
  ]);
  if (chase) return [chase];
  const text = inboundText(c);
  const air = /\bair\b|\bAWB\b|\bflight\b/i.test(text) || facts.shipment?.mode === 'air';
  const partners = air ? 'airline' : 'carrier';
  const lines: Line[] = [
    pick(facts, [
      sentence(
        'rates',
        ['route'],
        (f) => `We will check rates from ${f.route.from} to ${f.route.to} with our ${partners} partners and share our best offer ${soon(c)}.`,
      ),
      sentence('rates', [], () => `We will check rates with our ${partners} partners and share our best offer ${soon(c)}.`),
    ]),
  ];
  // What a quote needs and the customer did not say is asked for, never assumed.
  const missing: string[] = [];
  if (!/\b\d[\d,.]*\s*(?:kg|kgs|kilos?|tons?|tonnes?|mt|lbs?)\b/i.test(text)) missing.push('the gross weight');
  const containers =
    /\b\d+\s*[x×*]\s*(?:20|40|45)\s*'?\s*(?:gp|hc|hq|dv|rf|reefer|ot|fr|ft)?\b|\b(?:20|40|45)\s*'?\s*(?:gp|hc|hq|dv|ft|feet|footer)\b|\bFCL\b/i.test(text);
  if (!containers && !/\b\d+(?:\.\d+)?\s*(?:cm|mm|m|in)?\s*[x×*]\s*\d+|\bcbm\b|\bm3\b|\bvolume\b/i.test(text)) {
    missing.push(air ? 'the number of pieces and their dimensions' : 'the volume (CBM) or the container type and quantity');
  }
  const incoterms =
    c.messages.some((m) => m.direction === 'inbound' && (m.entities?.incoterms.length ?? 0) > 0) ||
    /\b(?:EXW|FCA|FOB|CFR|CIF|CPT|CIP|DAP|DPU|DDP)\b/.test(text);
  if (!incoterms) missing.push('the Incoterm');
  if (!facts.route) {
    const ports = [...new Set(c.messages.flatMap((m) => (m.direction === 'inbound' ? (m.entities?.ports ?? []) : [])))];
    const from = portName(ports[0] ?? facts.shipment?.originPort);
    const to = portName(ports[1] ?? facts.shipment?.destinationPort);
    missing.push(!from && !to ? 'the port of loading and the port of discharge' : !from ? 'the port of loading' : 'the port of discharge');
  }
  if (!/\bready\b|\breadiness\b/i.test(text) && !c.messages.some((m) => m.direction === 'inbound' && (m.entities?.dates.length ?? 0) > 0))
    missing.push('the cargo readiness date');
  if (
    !/\bcommodity\b|\bHS\b|\bcargo\b|\bgoods\b|\bpharma\w*|\bgarments?\b|\btextiles?\b|\bmachine\w*|\bfurniture\b|\bchemicals?\b|\bgranules\b|\bparts\b/i.test(
      text,
    )
  ) {
    missing.push('the commodity (and whether it is hazardous)');
  }
  if (missing.length) lines.push({ topic: 'quote-details', text: `To quote accurately, could you please confirm ${list(missing)}?` });
  return lines;
}

function bookingLines(c: ThreadContext, facts: ThreadFacts): Line[] {
  const lines: Line[] = [
    facts.bookingConfirmed
      ? bookingConfirmation(c, facts)
      : pick(facts, [
          sentence(
            'booking',
            ['shipment'],
            (f) =>
              `Thank you for your booking request for ${f.shipment.reference}; we will place it with the carrier and share the booking confirmation ${soon(c)}.`,
          ),
          sentence('booking', [], () => `Thank you for your booking request; we will place it with the carrier and share the booking confirmation ${soon(c)}.`),
        ]),
  ];
  const s = facts.shipment;
  if (!s || !['in_transit', 'arrived', 'customs', 'delivered', 'closed'].includes(s.status)) {
    lines.push(askSiVgm(true, true));
    lines.push({ topic: 'cut-offs', text: 'We will advise the SI, VGM and gate-in cut-offs with the booking confirmation.' });
  }
  return lines;
}

function statusLines(c: ThreadContext, facts: ThreadFacts): Line[] {
  if (facts.shipment) {
    return [
      ...shipmentStatusSentences(facts.shipment, c).map((text) => ({ topic: 'status', text })),
      { topic: 'keep-posted', text: 'We will keep you posted on any change.' },
    ];
  }
  return [
    pick(facts, [
      sentence('status', ['identifiers'], (f) => `We will check the latest status of ${list(f.identifiers)} with the carrier and update you ${soon(c)}.`),
      sentence('status', [], () => `We will check the latest status with the carrier and update you ${soon(c)} [shipment reference or container number].`),
    ]),
  ];
}

/** "today", "by 14 Dec 2026" from the open action, else "shortly". */
const docsWhen = (c: ThreadContext, f: ThreadFacts) => (f.documentsDue ? byWhen(f.documentsDue, c) : soon(c));
const forShipment = (f: ThreadFacts) => (f.shipment ? ` for ${f.shipment.reference}` : '');

const named = (docs: string[]) => docs.map((d) => d.replace(/ copy$/, ''));

/** Documents the sender will send us: nothing to acknowledge yet. */
const awaited = sentence(
  'docs-received',
  ['documentsAnnounced'],
  (f) =>
    `Thank you for letting us know about the ${list(named(f.documentsAnnounced))}${forShipment(f)}; we will check ${them(f.documentsAnnounced)} as soon as ${them(f.documentsAnnounced) === 'it' ? 'it reaches' : 'they reach'} us.`,
);

function documentRequestLines(c: ThreadContext, facts: ThreadFacts): Line[] {
  return [
    pick(facts, [
      sentence('docs', ['documentsAsked'], (f) => `We will send the ${list(f.documentsAsked)}${forShipment(f)} ${docsWhen(c, f)}.`),
      awaited,
      sentence('docs', [], (f) => `We will send the requested documents [which documents]${forShipment(f)} ${docsWhen(c, f)}.`),
    ]),
  ];
}

function documentSubmissionLines(c: ThreadContext, facts: ThreadFacts): Line[] {
  const check = (docs: string[]): Line => ({
    topic: 'docs-check',
    text: `We will check ${them(docs)} and come back to you if anything needs to be corrected.`,
  });
  return [
    pick(facts, [
      // Receipt is acknowledged only for what the messages carry.
      sentence(
        'docs-received',
        ['documentsReceived'],
        (f) => `Thank you for the ${list(named(f.documentsReceived))}${forShipment(f)}; we have received ${them(f.documentsReceived)}.`,
      ),
      sentence(
        'docs-received',
        ['filesReceived'],
        (f) =>
          `Thank you for your message with ${list(f.filesReceived)} attached${forShipment(f)}; we have received ${f.filesReceived.length === 1 ? 'it' : 'them'}.`,
      ),
      // Named but not attached (announced, or forgotten): nothing to acknowledge yet.
      awaited,
      sentence(
        'docs-received',
        ['documentsNamed'],
        (f) =>
          `Thank you for your message about the ${list(named(f.documentsNamed))}${forShipment(f)}; we will check ${them(f.documentsNamed)} as soon as ${them(f.documentsNamed) === 'it' ? 'it reaches' : 'they reach'} us.`,
      ),
      sentence('docs-received', [], (f) => `Thank you for your message${forShipment(f)}; we will check the documents as soon as they reach us.`),
    ]),
    ...(facts.documentsReceived ? [check(facts.documentsReceived)] : facts.filesReceived ? [check(facts.filesReceived)] : []),
  ];
}

/** The apology for what the customer complains about (or the instruction names). */
function apologyLine(facts: ThreadFacts, instruction = ''): Line {
  const issues = [...new Set([...issuesIn(instruction), ...(facts.issues ?? [])])];
  return { topic: 'apology', text: `We sincerely apologise for ${issues.length ? list(issues) : 'the inconvenience caused'}.` };
}

function ownershipLine(facts: ThreadFacts, when = 'within 24 hours'): Line {
  return {
    topic: 'ownership',
    text: `I will take this up personally with our operations team${facts.shipment ? ' and the carrier' : ''} and come back to you with our findings and the next steps ${when}.`,
  };
}

function complaintLines(_c: ThreadContext, facts: ThreadFacts): Line[] {
  const lines: Line[] = [apologyLine(facts), ownershipLine(facts)];
  if (/\bclaim\b|\bdamag|\bshort/i.test(facts.request)) {
    lines.push({
      topic: 'claim',
      text: 'For the claim, please send us photographs of the affected cargo, the delivery receipt with your remarks and, if available, the survey report; we will notify the carrier and the insurers in the meantime.',
    });
  }
  return lines;
}

function customsLines(c: ThreadContext, facts: ThreadFacts): Line[] {
  const docs = (facts.documentsNamed ?? []).filter((d) => d !== 'bill of entry' && d !== 'shipping bill');
  return [
    pick(facts, [
      sentence('customs', ['identifiers'], (f) => `We have noted the customs query for ${list(f.identifiers)}.`),
      sentence('customs', [], () => 'We have noted the customs query.'),
    ]),
    docs.length
      ? { topic: 'docs', text: `We will arrange the ${list(docs)} and send ${docs.length > 1 ? 'them' : 'it'} to you ${soon(c)}.` }
      : { topic: 'customs-next', text: `We will look into it and revert ${soon(c)} with what is needed for the clearance.` },
  ];
}

function invoiceLines(c: ThreadContext, facts: ThreadFacts): Line[] {
  if (facts.paymentReported) {
    return [
      pick(facts, [
        sentence(
          'payment',
          ['invoiceNumber'],
          (f) => `Thank you for the update on the payment of invoice ${f.invoiceNumber}; we will confirm as soon as it reaches our account.`,
        ),
        sentence('payment', [], () => 'Thank you for the update on the payment; we will confirm as soon as it reaches our account.'),
      ]),
    ];
  }
  if (/\b(?:send|share|need|require|provide)\b[^.\n]{0,30}\binvoice\b/i.test(facts.request)) {
    return [
      pick(facts, [
        sentence('invoice', ['invoiceNumber'], (f) => `We will share invoice ${f.invoiceNumber} ${soon(c)}.`),
        sentence('invoice', [], () => `We will share the invoice ${soon(c)}.`),
      ]),
    ];
  }
  return [
    pick(facts, [
      sentence('payment', ['invoiceNumber'], (f) => `Our accounts team will check invoice ${f.invoiceNumber} and revert ${soon(c)}.`),
      sentence('payment', [], () => `Our accounts team will check this and revert ${soon(c)}.`),
    ]),
  ];
}

function scheduleLines(c: ThreadContext, facts: ThreadFacts): Line[] {
  if (c.customer?.kind === 'carrier') {
    return [
      pick(facts, [
        sentence('schedule', ['vesselNamed'], (f) => `Thank you for the update on ${f.vesselNamed}; we have noted the revised schedule.`),
        sentence('schedule', [], () => 'Thank you for the update; we have noted the revised schedule.'),
      ]),
      { topic: 'inform', text: 'We will inform the customers concerned accordingly.' },
    ];
  }
  return [
    ...(facts.shipment ? shipmentStatusSentences(facts.shipment, c).map((text) => ({ topic: 'status', text })) : []),
    { topic: 'schedule', text: `We will check the schedule change with the carrier and advise ${soon(c)} if an earlier option is available.` },
  ];
}

function generalLines(): Line[] {
  return [{ topic: 'general', text: 'We have noted this and will get back to you if anything further is needed from our side.' }];
}

const BY_INTENT: Record<Intent, (c: ThreadContext, facts: ThreadFacts) => Line[]> = {
  quote_request: quoteLines,
  booking_request: bookingLines,
  shipment_status: statusLines,
  document_submission: documentSubmissionLines,
  document_request: documentRequestLines,
  invoice_payment: invoiceLines,
  complaint: complaintLines,
  customs: customsLines,
  schedule_change: scheduleLines,
  general: generalLines,
};

const GENERIC_INSTRUCTION =
  /^(?:please\s+|pls\s+|just\s+)?(?:(?:draft|write|send|prepare|give)\s+(?:a\s+|the\s+|an\s+)?(?:reply|response|answer|acknowledg(?:e)?ment)|reply|respond|answer|acknowledge|ack|noted|reply\s+to\s+(?:this|the\s+\w+|him|her|them|customer|client))(?:\s+(?:to\s+)?(?:this|it|the\s+(?:customer|client|email|message|thread)|him|her|them))?(?:\s+(?:politely|formally|nicely|professionally|briefly))?[.!]?$/i;

/** When the instruction promises something: "today", "tomorrow", "by Friday", "within 2 hours". */
function promisedWhen(clause: string): string | null {
  const m =
    /\b(today|tonight|tomorrow(?:\s+(?:morning|afternoon|evening))?|this\s+(?:morning|afternoon|evening|week)|(?:by|before|on)\s+(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|tomorrow|today|(?:end\s+of\s+(?:the\s+)?)?(?:day|week)|eod|\d{1,2}(?::\d{2})?\s*(?:am|pm|hrs)?)|within\s+(?:\d+|an?|one|two|three|24|48)\s+(?:hours?|days?|working\s+days?))\b/i.exec(
      clause,
    );
  return m
    ? m[1]!
        .replace(/\s+/g, ' ')
        .toLowerCase()
        .replace(/\beod\b/, 'end of day')
        .replace(/\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b/, (d) => `${d[0]!.toUpperCase()}${d.slice(1)}`)
    : null;
}

/** The instruction's points ("confirm the booking, ask for the SI") as sentences; an unknown point becomes a placeholder. */
export function instructionLines(instruction: string, c: ThreadContext, facts: ThreadFacts = threadFacts(c)): Line[] {
  const intent = replyIntent(c);
  const clauses = instruction
    .split(
      /[,;\n]+|\.\s+|\s+(?:and\s+)?then\s+|\s+and\s+(?=(?:also\s+)?(?:ask|request|confirm|send|share|tell|say|apologi[sz]e|give|mention|let|inform|remind|chase|promise|call|offer|check|thank|update|explain|advise)\b)/i,
    )
    .map((s) => s.trim().replace(/\.$/, ''))
    .filter(Boolean)
    // "Reply", "draft a response", "acknowledge": no point of their own, the intent's lines answer.
    .filter((s) => !GENERIC_INSTRUCTION.test(s));
  const lines: Line[] = [];
  for (const clause of clauses) {
    const docs = documentsIn(clause);
    const si = docs.includes('shipping instructions (SI)');
    const vgm = docs.includes('VGM');
    if (/\bconfirm\w*\b.*\bbooking\b|\bbooking\b.*\bconfirm/i.test(clause)) lines.push(bookingConfirmation(c, facts));
    else if (
      (si || vgm) &&
      !/\b(?:send|share|attach|forward)\b/i.test(clause.replace(/\b(?:ask|request)\w*\s+(?:them\s+|him\s+|her\s+)?to\s+(?:send|share)/i, ''))
    ) {
      lines.push(askSiVgm(si, vgm));
    } else if (docs.length && /\b(?:ask|request|need|chase|remind|get)\w*\b/i.test(clause)) {
      lines.push({ topic: 'ask-docs', text: `Could you please send us the ${list(docs)}?` });
    } else if (docs.length && /\b(?:send|share|attach|forward|provide|issue|promise|release)\w*\b/i.test(clause)) {
      lines.push({ topic: 'docs', text: `We will send the ${list(docs)} ${promisedWhen(clause) ?? docsWhen(c, facts)}.` });
    } else if (/\bapologi|\bsorry\b/i.test(clause)) {
      lines.push(apologyLine(facts, clause));
    } else if (/\bno\s+space\b|\bspace\b.*\bnot\s+available\b|\bfully\s+booked\b|\bno\s+(?:equipment|containers?)\b/i.test(clause)) {
      const when = /\bthis\s+week\b/i.test(clause) ? ' this week' : /\btoday\b/i.test(clause) ? ' today' : '';
      const i = lines.findIndex((l) => l.topic === 'decline');
      const line = {
        topic: 'decline',
        text: `Unfortunately, there is no space available${when}${/\bequipment|containers?\b/i.test(clause) ? ' (equipment shortage)' : ''}; we can offer the next available sailing instead [sailing, ETD].`,
      };
      if (i >= 0) lines[i] = line;
      else lines.push(line);
    } else if (/\b(?:decline|regret|unable|cannot|can't|not\s+possible|reject|refuse)\b/i.test(clause)) {
      if (!lines.some((l) => l.topic === 'decline'))
        lines.push({ topic: 'decline', text: 'Unfortunately, we are unable to take this up at the moment [reason].' });
    } else if (/\b(?:promise|commit|assure|revert)\w*\b|\bupdate\b(?!.*\b(?:status|eta|etd)\b)/i.test(clause)) {
      const when = promisedWhen(clause) ?? soon(c);
      lines.push(intent === 'complaint' ? ownershipLine(facts, when) : { topic: 'update', text: `We will update you ${when}.` });
    } else if (/\b(?:rates?|quote|quotation|offer|pricing)\b/i.test(clause)) {
      lines.push({ topic: 'rates', text: `We will revert with our best rates ${soon(c)}.` });
    } else if (/\b(?:status|eta|etd|where|tracking|position)\b/i.test(clause)) {
      lines.push(...statusLines(c, facts).filter((l) => l.topic === 'status'));
    } else if (/\bcall\b/i.test(clause)) {
      lines.push({ topic: 'call', text: `We will call you ${soon(c)} to discuss this.` });
    } else if (/\b(?:payment|pay|overdue|outstanding)\b/i.test(clause)) {
      lines.push(
        pick(facts, [
          sentence('payment', ['invoiceNumber'], (f) => `Kindly arrange the payment of invoice ${f.invoiceNumber} at the earliest.`),
          sentence('payment', [], () => 'Kindly arrange the payment of the outstanding invoice [invoice number, amount] at the earliest.'),
        ]),
      );
    } else if (/^(?:say\s+)?thanks?\b|^thank\b/i.test(clause)) {
      lines.push({ topic: 'thanks', text: 'Thank you for your support.' });
    } else {
      lines.push({ text: `[${clause[0]!.toUpperCase()}${clause.slice(1)}]` });
    }
  }
  return lines;
}

/** Documents the team has promised (open send_document actions), as a sentence. */
function promisedDocuments(c: ThreadContext): Line[] {
  const out: Line[] = [];
  for (const a of c.openActions) {
    // Only this thread's own promises: an action on a linked shipment may be for another party.
    if (a.type !== 'send_document' || a.threadId !== c.thread.id) continue;
    const docs = documentsIn(a.title);
    if (docs.length) out.push({ topic: 'docs', text: `We will send the ${list(docs)} ${a.dueAt ? byWhen(a.dueAt, c) : soon(c)}.` });
  }
  return out.slice(0, 1);
}

const VALEDICTION =
  /^(?:(?:with\s+)?(?:best|kind|warm|warmest|many)?\s*regards|(?:many\s+)?thanks(?:\s*(?:&|and)\s*regards)?|sincerely|yours\s+\w+|cheers|best)\s*,?$/i;

/**
 * The member's name under the organization's signature (after its "Regards," line when it starts with
 * one). On email whose mailbox appends signatures when sending, the draft ends before them: with the
 * valediction alone under the member's own signature, with the name when only the organization's is
 * appended.
 */
export function signOff(c: ThreadContext, tone: Tone): string {
  const name = c.author.name;
  const valediction = tone === 'friendly' ? 'Best regards,' : tone === 'brief' ? 'Regards,' : 'Best regards,';
  const signature = c.org.signature?.replace(/\r\n?/g, '\n').trim();
  // A chat message signs with the name alone; an address block belongs in email.
  if (c.thread.channel === 'whatsapp' || c.thread.channel === 'sms') return [valediction, [name, c.org.name].filter(Boolean).join(', ')].join('\n');
  if (c.author.appendedSignatures.includes('member')) return valediction;
  if (c.author.appendedSignatures.includes('organization')) return [valediction, name ?? c.org.name].filter(Boolean).join('\n');
  if (signature) {
    const [first, ...rest] = signature.split('\n');
    if (VALEDICTION.test(first!.trim())) return [first!.trim(), ...(name ? [name] : []), ...rest].join('\n');
    return [valediction, ...(name ? [name] : []), signature].join('\n');
  }
  return [valediction, name, c.org.name].filter(Boolean).join('\n');
}

function opening(c: ThreadContext, tone: Tone, intent: Intent): string | null {
  if (tone === 'brief' || intent === 'complaint' || intent === 'document_submission') return null;
  const channel = lastInbound(c)?.kind === 'call' ? 'call' : c.thread.channel === 'email' ? 'email' : 'message';
  if (!lastInbound(c)) return null;
  return tone === 'formal' ? `Thank you for your ${channel}.` : `Thanks for your ${channel}.`;
}

function closing(tone: Tone): string | null {
  if (tone === 'formal') return 'Please do not hesitate to contact us if you need anything further.';
  if (tone === 'friendly') return 'Let me know if you need anything else.';
  return null;
}

/** A reply built by rules from the thread context, the instruction and the tone. */
export function draftOffline(c: ThreadContext, request: DraftRequest, reason: TemplateReason = 'no_model'): OfflineDraft {
  const intent = replyIntent(c);
  const facts = threadFacts(c);
  const fromInstruction = instructionLines(request.instruction, c, facts);
  const covered = new Set(fromInstruction.map((l) => l.topic).filter(Boolean));
  const intentLines: Line[] = isMissedCall(c)
    ? [
        {
          topic: 'call',
          text: `Sorry we missed your call. We will call you back ${soon(c)}; if there is anything we can prepare in the meantime, just reply to this message.`,
        },
      ]
    : BY_INTENT[intent](c, facts);
  let fromIntent = intentLines.filter((l) => !l.topic || !covered.has(l.topic));
  fromIntent.forEach((l) => l.topic && covered.add(l.topic));
  if (intent !== 'document_request') fromIntent.push(...promisedDocuments(c).filter((l) => !covered.has(l.topic!)));
  if (request.tone === 'brief') fromIntent = fromIntent.slice(0, 2);
  // The instruction's points first, then what the intent calls for; an apology always opens.
  const body = [...fromInstruction, ...fromIntent].sort((a, b) => Number(b.topic === 'apology') - Number(a.topic === 'apology'));

  const paragraphs: string[] = [greeting(c, request.tone)];
  // No "Thank you for your email." before a sentence that thanks, notes or apologises already.
  const open = /^(?:thank|noted|we have noted|sorry|following up)/i.test(body[0]?.text ?? '') ? null : opening(c, request.tone, intent);
  const sentences = body.map((l) => l.text);
  paragraphs.push([open, ...sentences].filter(Boolean).join(' '));
  const close = closing(request.tone);
  if (close) paragraphs.push(close);
  paragraphs.push(signOff(c, request.tone));
  const text = paragraphs.join('\n\n');

  const hasPlaceholders = /\[[^\]]+\]/.test(text);
  const notice = [
    reason === 'no_model'
      ? 'No AI model is configured, so this draft was written from a template.'
      : 'The AI model did not answer, so this draft was written from a template.',
    hasPlaceholders ? 'Fill in the parts in [brackets] and check the details before sending.' : 'Check the details before sending.',
    request.language !== 'en' ? 'Templates are written in English.' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return { text, intent, notice, hasPlaceholders };
}
