// The offline drafter, per intent: greeting by name, the sentences the intent calls for (from the
// shipment's state, the identifiers, the open actions), the instruction's points, tone and signature.
import { describe, expect, it } from 'vitest';
import { analyzeOffline, saysAttached } from '../../lib/ai/analysis/index.js';
import { formatDate, type ContextMessage, type ContextShipment, type ThreadContext } from '../../lib/ai/context.js';
import {
  addressee,
  documentsIn,
  draftOffline,
  instructionLines,
  replyIntent,
  signOff,
  TONES,
  unanswered,
  type DraftRequest,
} from '../../lib/ai/offline-drafter.js';
import { suggestOffline } from '../../lib/ai/suggest-actions.js';
import { summarizeOffline } from '../../lib/ai/summarize.js';

const NOW = new Date('2026-11-26T06:00:00Z'); // 11:30 in Mumbai
const day = 86_400_000;
const THREAD_ID = '10000001-0000-4000-8000-000000000001';
const SIGNATURE = 'Regards,\nSeahawk Logistics Pvt Ltd\nUnit 402, Nerul Node, Navi Mumbai 400706';

let n = 0;
/** An inbound message analysed by the offline rules, as the context holds it. */
function inbound(text: string, subject = 'Shipment', options: Partial<ContextMessage> = {}): ContextMessage {
  const a = analyzeOffline({ subject, body: text, date: NOW });
  return {
    id: `m${++n}`,
    direction: 'inbound',
    kind: 'message',
    status: 'received',
    channel: 'email',
    fromAddress: 'karthik@tatatextiles.example',
    fromName: null,
    subject,
    text,
    truncated: false,
    intent: a.intent,
    summary: a.summary,
    entities: a.entities,
    attachments: [],
    occurredAt: new Date(NOW.getTime() - 3_600_000),
    ...options,
  };
}

function outbound(text: string, hoursAgo = 2): ContextMessage {
  return {
    ...inbound(text),
    direction: 'outbound',
    status: 'sent',
    intent: null,
    summary: null,
    entities: null,
    occurredAt: new Date(NOW.getTime() - hoursAgo * 3_600_000),
  };
}

function shipment(overrides: Partial<ContextShipment> = {}): ContextShipment {
  return {
    id: '0f000000-0000-4000-8000-000000000001',
    reference: 'SHL/EXP/2026/0412',
    mode: 'sea_fcl',
    direction: 'export',
    status: 'in_transit',
    incoterm: 'FOB',
    originPort: 'INNSA',
    destinationPort: 'DEHAM',
    carrier: 'Maersk',
    vessel: 'MAERSK KENSINGTON',
    voyage: '447W',
    containerNumbers: ['MSKU1234565', 'TGHU8765436'],
    awbNumbers: [],
    blNumbers: ['MAEU123456789'],
    bookingNumbers: ['BKG 2611458'],
    etd: new Date(NOW.getTime() - 6 * day),
    eta: new Date(NOW.getTime() + 18 * day),
    atd: null,
    ata: null,
    cargoDescription: null,
    milestones: [
      { code: 'booking_confirmed', label: null, location: 'Mumbai', plannedAt: null, actualAt: new Date(NOW.getTime() - 10 * day) },
      { code: 'gate_in', label: null, location: 'INNSA', plannedAt: null, actualAt: new Date(NOW.getTime() - 7 * day) },
      { code: 'departed', label: null, location: 'INNSA', plannedAt: null, actualAt: new Date(NOW.getTime() - 6 * day) },
      { code: 'arrived', label: null, location: 'DEHAM', plannedAt: new Date(NOW.getTime() + 18 * day), actualAt: null },
    ],
    ...overrides,
  };
}

function context(overrides: Omit<Partial<ThreadContext>, 'thread'> & { thread?: Partial<ThreadContext['thread']> } = {}): ThreadContext {
  const { thread, ...rest } = overrides;
  return {
    thread: {
      id: THREAD_ID,
      subject: 'Shipment',
      status: 'open',
      priority: 'normal',
      channel: 'email',
      counterpart: 'karthik@tatatextiles.example',
      intent: null,
      sentiment: null,
      urgency: null,
      tags: [],
      firstResponseDueAt: null,
      nextResponseDueAt: null,
      resolutionDueAt: null,
      slaBreachedAt: null,
      lastInboundAt: null,
      lastOutboundAt: null,
      ...thread,
    },
    customer: { id: 'c1', name: 'Tata Textiles Exports Pvt Ltd', kind: 'shipper', tier: 'strategic', city: 'Tiruppur', country: 'IN' },
    contact: { id: 'k1', name: 'Karthik Subramanian', email: 'karthik@tatatextiles.example', phone: null, designation: 'Logistics Manager' },
    messages: [],
    messageCount: 0,
    shipments: [],
    openActions: [],
    org: { name: 'Seahawk Logistics Pvt Ltd', signature: SIGNATURE, timezone: 'Asia/Kolkata' },
    author: { id: 'u1', name: 'Vikram Singh', appendedSignatures: [] },
    now: NOW,
    ...rest,
  };
}

const formal: DraftRequest = { instruction: 'reply', tone: 'formal', language: 'en' };
const draft = (c: ThreadContext, request: Partial<DraftRequest> = {}) => draftOffline(c, { ...formal, ...request });

describe('each intent gets a reply that is useful for it', () => {
  it('quote request: acknowledges, says rates follow, and asks for exactly the missing details', () => {
    const sparse = context({ messages: [inbound('Dear Sir,\nPlease quote your best rates from Nhava Sheva to Jebel Ali.\nRegards', 'Rate request')] });
    const d = draft(sparse);
    expect(d.intent).toBe('quote_request');
    expect(d.text).toContain('We will check rates from Nhava Sheva to Jebel Ali with our carrier partners and share our best offer shortly.');
    expect(d.text).toContain(
      'could you please confirm the gross weight, the volume (CBM) or the container type and quantity, the Incoterm, the cargo readiness date and the commodity (and whether it is hazardous)?',
    );
    expect(d.text).not.toContain('port of loading');

    const full = context({
      messages: [
        inbound(
          'Request your best rates for 850 kg (6 pallets, 120x80x150 cm) pharma Ahmedabad to Amsterdam by air, CIP, cargo ready 2 Dec.',
          'Air freight quote',
        ),
      ],
    });
    const f = draft(full);
    expect(f.text).toContain('from Ahmedabad to Amsterdam with our airline partners');
    expect(f.text).not.toContain('could you please confirm');
  });

  it('quote request we answered already: chases the decision', () => {
    const c = context({
      messages: [
        inbound('Please share rates for 2x40HC Mundra to Hamburg, FOB, 18 tons, garments.', 'Rates'),
        outbound('Please find our offer: USD 1,450 per box.', 30),
      ],
    });
    expect(draft(c).text).toContain('Following up on our offer of 25 Nov 2026: please let us know if we may go ahead with the booking');
  });

  it('booking request: thanks for it, promises the confirmation and asks for the SI and VGM, or confirms the placed booking', () => {
    const fresh = context({ messages: [inbound('Rates are fine. Please go ahead and book 1x40HC on the next sailing.', 'Booking')] });
    const d = draft(fresh);
    expect(d.intent).toBe('booking_request');
    expect(d.text).toContain('Thank you for your booking request; we will place it with the carrier and share the booking confirmation shortly.');
    expect(d.text).toContain('Kindly share the shipping instructions (SI) and the VGM before the carrier’s cut-offs');
    expect(d.text).toContain('SI, VGM and gate-in cut-offs');

    const placed = context({ messages: fresh.messages, shipments: [shipment({ status: 'booked', etd: new Date(NOW.getTime() + 3 * day), milestones: [] })] });
    expect(draft(placed).text).toContain(
      'We are pleased to confirm the booking BKG 2611458 for SHL/EXP/2026/0412 on MAERSK KENSINGTON 447W, ETD Nhava Sheva 29 Nov 2026.',
    );
  });

  it('shipment status: states the status from the shipment, its milestones and ETA', () => {
    const c = context({
      messages: [inbound('Dear Team, kindly advise the current status and ETA of container MSKU1234565.', 'Status')],
      shipments: [shipment()],
    });
    const d = draft(c);
    expect(d.intent).toBe('shipment_status');
    expect(d.text).toContain(
      'SHL/EXP/2026/0412 (MSKU1234565, TGHU8765436) is in transit on MAERSK KENSINGTON 447W: it departed Nhava Sheva on 20 Nov 2026 and is expected at Hamburg on 14 Dec 2026.',
    );
    expect(d.text).toContain('We will keep you posted on any change.');

    const overdue = context({ messages: c.messages, shipments: [shipment({ eta: new Date(NOW.getTime() - day), milestones: [] })] });
    expect(draft(overdue).text).toContain('it was due at Hamburg on 25 Nov 2026 and we will check the revised ETA with the carrier');

    const customs = context({
      messages: c.messages,
      shipments: [
        shipment({
          status: 'customs',
          ata: new Date(NOW.getTime() - day),
          milestones: [{ code: 'discharged', label: null, location: 'INNSA', plannedAt: null, actualAt: new Date(NOW.getTime() - day / 2) }],
        }),
      ],
    });
    const t = draft(customs).text;
    expect(t).toContain('arrived at Hamburg on 25 Nov 2026 and is under customs clearance.');
    expect(t).toContain('Latest update: discharged at Nhava Sheva on 25 Nov 2026.');

    const unknown = context({ messages: [inbound('Where is container MSKU1234565? Please update status.', 'Status')] });
    expect(draft(unknown).text).toContain('We will check the latest status of MSKU1234565 with the carrier and update you shortly.');
  });

  it('document request: says which documents follow, and when the open action says', () => {
    const c = context({
      messages: [inbound('Containers are stuffed. Please share the draft B/L and the VGM copy at the earliest.', 'Docs')],
      shipments: [shipment()],
      openActions: [
        {
          id: 'a1',
          threadId: THREAD_ID,
          title: 'Send draft B/L to Tata Textiles',
          type: 'send_document',
          status: 'open',
          priority: 'high',
          dueAt: new Date(NOW.getTime() + 4 * 3_600_000),
          shipmentId: null,
          assigneeName: 'Vikram Singh',
        },
      ],
    });
    const d = draft(c);
    expect(d.intent).toBe('document_request');
    expect(d.text).toContain('We will send the draft B/L and VGM for SHL/EXP/2026/0412 today.');
  });

  it('document submission: thanks for the documents received', () => {
    const c = context({ messages: [inbound('PFA commercial invoice and packing list for the Hamburg shipment.', 'Documents')], shipments: [shipment()] });
    const d = draft(c);
    expect(d.intent).toBe('document_submission');
    expect(d.text).toContain('Thank you for the commercial invoice and packing list for SHL/EXP/2026/0412; we have received them.');
    expect(d.text).not.toContain('Thank you for your email.');
  });

  it('invoice and payment: acknowledges a payment, or promises the invoice', () => {
    const paid = context({
      thread: { subject: 'Invoice SHL/INV/2026/1187 payment reminder' },
      messages: [inbound('Noted, payment will be released on Monday.', 'Re: Invoice SHL/INV/2026/1187 payment reminder')],
    });
    const d = draft(paid);
    expect(d.intent).toBe('invoice_payment');
    expect(d.text).toContain('Thank you for the update on the payment of invoice SHL/INV/2026/1187; we will confirm as soon as it reaches our account.');
    const ask = context({
      messages: [
        inbound('Dear Sir, please send the invoice for the freight charges of our last shipment so that we can process the payment.', 'Freight invoice'),
      ],
    });
    expect(draft(ask).text).toMatch(/We will share the invoice|Our accounts team is checking/);
  });

  it('complaint: apologises for what went wrong, takes ownership, promises an update, explains the claim', () => {
    const c = context({
      contact: { id: 'k3', name: 'Jonas Becker', email: 'j.becker@hamburghome.example', phone: null, designation: null },
      messages: [
        inbound(
          'This is the second delay this quarter and 14 cartons arrived damaged. We are very disappointed. Please explain and advise on the claim process.',
          'Complaint',
        ),
      ],
      shipments: [shipment()],
    });
    const d = draft(c);
    expect(d.intent).toBe('complaint');
    expect(d.text).toMatch(
      /^Dear Jonas,\n\nWe sincerely apologise for the delay and the damaged cartons\. I will take this up personally with our operations team and the carrier/,
    );
    expect(d.text).toContain('within 24 hours');
    expect(d.text).toContain('the delivery receipt with your remarks');
  });

  it('customs: notes the query and arranges the documents customs wants', () => {
    const c = context({
      thread: { urgency: 'high' },
      messages: [
        inbound(
          'Sir, customs has raised a query on the BE for container HLXU3002457. Need the technical write-up from consignee today, else demurrage starts tomorrow.',
          'BE query',
        ),
      ],
    });
    const d = draft(c);
    expect(d.intent).toBe('customs');
    expect(d.text).toContain('We have noted the customs query for HLXU3002457. We will arrange the technical write-up and send it to you today.');
  });

  it('schedule change: a carrier notice is noted; a customer hears the status and the options', () => {
    const notice = inbound('Please note MAERSK KENSINGTON 447W ETD Nhava Sheva is revised by 48 hours due to berth congestion.', 'Vessel schedule change');
    const carrier = context({
      customer: { id: 'c4', name: 'Maersk Line India', kind: 'carrier', tier: 'standard', city: null, country: 'IN' },
      contact: { id: 'k5', name: 'Maersk Mumbai Export Desk', email: null, phone: null, designation: null },
      messages: [notice],
      shipments: [shipment()],
    });
    const d = draft(carrier);
    expect(d.intent).toBe('schedule_change');
    expect(d.text).toMatch(/^Dear Team,/);
    expect(d.text).toContain('we have noted the revised schedule. We will inform the customers concerned accordingly.');
    const customer = context({ messages: [notice], shipments: [shipment()] });
    expect(draft(customer).text).toContain('We will check the schedule change with the carrier');
  });

  it('general: notes the message without promising anything specific', () => {
    const d = draft(
      context({
        messages: [inbound('Dear Customers,\nOur office will remain closed on 15 August on account of Independence Day.\nRegards', 'Holiday notice')],
      }),
    );
    expect(d.intent).toBe('general');
    expect(d.text).toContain('We have noted this');
    expect(d.hasPlaceholders).toBe(false);
  });

  it('a missed call: sorry, we call back', () => {
    const d = draft(context({ thread: { channel: 'voice' } }));
    expect(d.text).toContain('Sorry we missed your call. We will call you back shortly');
  });
});

describe('the instruction', () => {
  const c = context({
    messages: [inbound('Please confirm the booking for 2x40HC ex Nhava Sheva to Hamburg, cargo ready 14th.', 'Booking')],
    shipments: [shipment({ status: 'booked', milestones: [] })],
  });

  it('turns "confirm the booking, ask for the SI" into those sentences, and the intent adds nothing twice', () => {
    const d = draft(c, { instruction: 'confirm the booking, ask for the SI' });
    expect(d.text).toContain('We are pleased to confirm the booking BKG 2611458 for SHL/EXP/2026/0412 on MAERSK KENSINGTON 447W');
    expect(d.text).toContain('Kindly share the shipping instructions (SI) before the SI cut-off');
    expect(d.text.match(/pleased to confirm/g)).toHaveLength(1);
    expect(d.text.match(/Kindly share/g)).toHaveLength(1);
  });

  it('keeps what it cannot phrase as a [placeholder], and says so in the notice', () => {
    const d = draft(c, { instruction: 'mention the new warehouse address' });
    expect(d.text).toContain('[Mention the new warehouse address]');
    expect(d.hasPlaceholders).toBe(true);
    expect(d.notice).toContain('[brackets]');
  });

  it('reads document requests, promises with a time, declines and generic instructions', () => {
    const lines = (i: string) => instructionLines(i, c).map((l) => l.text);
    expect(lines('ask for the commercial invoice and packing list')).toEqual(['Could you please send us the commercial invoice and packing list?']);
    expect(lines('promise the draft B/L by Friday')).toEqual(['We will send the draft B/L by Friday.']);
    expect(lines('decline politely, we have no space this week')).toEqual([
      'Unfortunately, there is no space available this week; we can offer the next available sailing instead [sailing, ETD].',
    ]);
    expect(lines('reply')).toEqual([]);
    expect(lines('Draft a response to the customer')).toEqual([]);
  });
});

describe('greeting, tone, signature and language', () => {
  const c = context({ messages: [inbound('Please share the draft B/L.', 'Docs')] });

  it('greets by first name, by title and surname, as a team, or Sir/Madam', () => {
    expect(addressee(c)).toBe('Karthik');
    expect(addressee(context({ contact: { id: 'k', name: 'Dr. Kavita Shah', email: null, phone: null, designation: null } }))).toBe('Dr. Shah');
    expect(addressee(context({ contact: { id: 'k', name: 'Maersk Mumbai Export Desk', email: null, phone: null, designation: null } }))).toBe('Team');
    const nobody = context({ contact: null, messages: [inbound('Please share the draft B/L.', 'Docs', { fromName: null })] });
    expect(draft(nobody).text).toMatch(/^Dear Sir\/Madam,/);
    expect(draft(nobody, { tone: 'friendly' }).text).toMatch(/^Hello,/);
  });

  it('formal, friendly and brief differ in greeting, pleasantries and length', () => {
    const f = draft(c).text;
    const fr = draft(c, { tone: 'friendly' }).text;
    const b = draft(c, { tone: 'brief' }).text;
    expect(f).toMatch(/^Dear Karthik,\n\nThank you for your email\./);
    expect(f).toContain('Please do not hesitate to contact us');
    expect(fr).toMatch(/^Hi Karthik,\n\nThanks for your email\./);
    expect(fr).toContain('Let me know if you need anything else.');
    expect(b).toMatch(/^Hi Karthik,\n\nWe will send/);
    expect(b.length).toBeLessThan(f.length);
  });

  it('signs with the member’s name under the organization’s signature', () => {
    expect(signOff(c, 'formal')).toBe('Regards,\nVikram Singh\nSeahawk Logistics Pvt Ltd\nUnit 402, Nerul Node, Navi Mumbai 400706');
    expect(signOff(context({ org: { name: 'Seahawk', signature: 'Seahawk Logistics\n+91 22 4000 1111', timezone: 'Asia/Kolkata' } }), 'formal')).toBe(
      'Best regards,\nVikram Singh\nSeahawk Logistics\n+91 22 4000 1111',
    );
    expect(signOff(context({ org: { name: 'Seahawk Logistics', signature: null, timezone: 'UTC' } }), 'brief')).toBe(
      'Regards,\nVikram Singh\nSeahawk Logistics',
    );
    expect(signOff(context({ thread: { channel: 'whatsapp' } }), 'formal')).toBe('Best regards,\nVikram Singh, Seahawk Logistics Pvt Ltd');
    expect(draft(c).text.endsWith(signOff(c, 'formal'))).toBe(true);
  });

  it('leaves out what the mailbox will append, so a sent draft is signed once', () => {
    const signed = (appendedSignatures: ('member' | 'organization')[]) => context({ author: { id: 'u1', name: 'Vikram Singh', appendedSignatures } });
    expect(signOff(signed(['member', 'organization']), 'formal')).toBe('Best regards,');
    expect(signOff(signed(['member']), 'brief')).toBe('Regards,');
    expect(signOff(signed(['organization']), 'formal')).toBe('Best regards,\nVikram Singh');
    expect(draft(signed(['organization'])).text).not.toContain('Unit 402');
  });

  it('marks the template and says templates are English when another language is asked', () => {
    expect(draft(c).notice).toMatch(/^No AI model is configured, so this draft was written from a template\./);
    expect(draftOffline(c, formal, 'model_failed').notice).toMatch(/^The AI model did not answer/);
    expect(draft(c, { language: 'de' }).notice).toContain('Templates are written in English.');
  });
});

describe('helpers', () => {
  it('names documents without double counting', () => {
    expect(documentsIn('please send draft BL and VGM')).toEqual(['draft B/L', 'VGM']);
    expect(documentsIn('commercial invoice & packing list')).toEqual(['commercial invoice', 'packing list']);
    expect(documentsIn('Kindly issue the DO today')).toEqual(['delivery order']);
    expect(documentsIn('HBL copy please')).toEqual(['B/L copy']);
  });

  it('answers the last inbound message’s intent, else the thread’s', () => {
    expect(replyIntent(context({ thread: { intent: 'customs' } }))).toBe('customs');
    expect(replyIntent(context())).toBe('general');
  });
});

describe('offline summaries and suggestions from the same context', () => {
  const c = context({
    thread: { subject: 'Complaint: damaged cartons', priority: 'high' },
    contact: { id: 'k3', name: 'Jonas Becker', email: null, phone: null, designation: null },
    messages: [inbound('14 cartons arrived damaged in container MSKU1234565. We want to file a claim.', 'Complaint: damaged cartons')],
    messageCount: 1,
    shipments: [shipment({ status: 'delivered', milestones: [] })],
  });

  it('summarises extractively', () => {
    const s = summarizeOffline(c);
    expect(s.summary).toContain('"Complaint: damaged cartons" with Tata Textiles Exports Pvt Ltd (shipper, strategic tier), 1 message.');
    expect(s.summary).toContain('(complaint)');
    expect(s.summary).toContain('Awaiting our reply.');
    expect(s.bullets.join('\n')).toContain('MSKU1234565');
  });

  it('suggests calling the customer, a written answer and the claim', () => {
    const drafts = suggestOffline(c);
    expect(drafts.map((d) => [d.type, d.title])).toEqual([
      ['call_back', 'Call Jonas Becker about the complaint'],
      ['follow_up', 'Investigate and send a written response to Tata Textiles Exports Pvt Ltd'],
      ['other', 'Notify the carrier and the insurers of the cargo claim for SHL/EXP/2026/0412'],
    ]);
    expect(drafts[0]!.priority).toBe('high');
  });
});

// ---------------------------------------------------------------------------------------------------
// No fact the thread does not hold
// ---------------------------------------------------------------------------------------------------

/** Everything the thread (and the member's instruction) says, as text to look claims up in. */
function sources(c: ThreadContext, instruction: string): string {
  return [
    instruction,
    c.thread.subject,
    c.org.name,
    c.org.signature ?? '',
    c.author.name ?? '',
    ...c.messages.flatMap((m) => [m.subject ?? '', m.text, ...m.attachments.map((a) => a.filename)]),
    ...c.shipments.map((sh) => `${JSON.stringify(sh)}\n${sh.vessel} ${sh.voyage}`),
    ...c.openActions.map((a) => a.title),
  ].join('\n');
}

const DATE = /\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b/g;
// A reference with a digit (MSKU1234565, SHL/EXP/2026/0412, 2611458), a run of capitals (a vessel and
// voyage: MAERSK KENSINGTON 447W), an amount.
const REFERENCE = /\b(?=[A-Z0-9/-]*\d)[A-Z0-9][A-Z0-9/-]{4,}\b/g;
const CAPITALS = /\b[A-Z]{3,}(?:\s+(?=[A-Z0-9]*[A-Z])[A-Z0-9]{2,})+\b/g;
const AMOUNT = /\b(?:USD|INR|EUR|Rs\.?)\s?[\d,]+/g;

/**
 * The claims of a draft the thread does not support: dates that are none of the thread's dates,
 * references, vessel names and amounts written nowhere in it, and a receipt of documents no unanswered
 * message carries or says are attached. Placeholders are not claims.
 */
function unsupportedClaims(text: string, c: ThreadContext, instruction: string): string[] {
  const body = text.replace(/\[[^\]]*\]/g, ' ').replace(signOff(c, 'formal'), ' ');
  const source = sources(c, instruction);
  const tz = c.org.timezone;
  const dates = new Set(
    [
      ...c.shipments.flatMap((sh) => [sh.etd, sh.eta, sh.atd, sh.ata, ...sh.milestones.flatMap((m) => [m.plannedAt, m.actualAt])]),
      ...c.openActions.map((a) => a.dueAt),
      ...c.messages.map((m) => m.occurredAt),
    ]
      .filter((d): d is Date => !!d)
      .map((d) => formatDate(d, tz)),
  );
  const out: string[] = [];
  for (const d of body.match(DATE) ?? []) if (!dates.has(d)) out.push(`date ${d}`);
  for (const re of [REFERENCE, CAPITALS, AMOUNT]) for (const r of body.match(re) ?? []) if (!source.includes(r)) out.push(`reference ${r}`);
  const receipt = /Thank you for (?:the|your message with) ([^;]+?)(?: attached)?(?: for [A-Z][^;]*)?; we have received/.exec(body);
  if (receipt || /\bwe have received (?:it|them|the)\b/i.test(body)) {
    const carried = unanswered(c).flatMap((m) => [
      ...m.attachments.map((a) => a.filename),
      ...`${m.subject ?? ''}\n${m.text}`.split(/(?<=[.!?])\s+|\n+/).filter((sentence) => saysAttached(sentence)),
    ]);
    if (!carried.length) out.push('receipt of documents no message carries');
    const supported = new Set(documentsIn(carried.join('\n').replace(/[_-]+/g, ' ')).map((d) => d.replace(/ copy$/, '')));
    for (const d of documentsIn(receipt?.[1] ?? '')) {
      if (!supported.has(d.replace(/ copy$/, '')) && !carried.some((f) => receipt![1]!.includes(f))) out.push(`receipt of the ${d}`);
    }
  }
  return out;
}

const pdf = (filename: string) => ({ filename, contentType: 'application/pdf' });

/** Realistic threads, with and without attachments, identifiers, a linked shipment and an ETA. */
const THREADS: Record<string, ThreadContext> = {
  'documents attached': context({
    messages: [
      inbound(
        'Dear Vikram,\nAttached are the commercial invoice and packing list for our Hamburg shipment. The VGM will follow tomorrow after weighment.\nRegards',
        'Docs for Hamburg shipment',
        { attachments: [pdf('Commercial_Invoice_SAC-041.pdf'), pdf('Packing_List_SAC-041.pdf')] },
      ),
    ],
    shipments: [shipment({ status: 'booked', milestones: [] })],
  }),
  'documents announced, none attached': context({
    messages: [
      inbound(
        'Dear Vikram,\nWe will send the commercial invoice and packing list tomorrow once the buyer approves the values.\nRegards',
        'Invoice and packing list',
      ),
    ],
  }),
  'a file with no document name': context({
    messages: [inbound('Hi, sending the docs as discussed on the call. Pls check.', 'Docs', { attachments: [pdf('scan0001.pdf')] })],
  }),
  'a chat message saying the packing list is attached': context({
    thread: { channel: 'whatsapp' },
    messages: [inbound('packing list attached pls check', '', { channel: 'whatsapp' })],
  }),
  'a status query naming a container, nothing linked': context({
    messages: [inbound('Please advise the status of container TGHU8765436, our consignee is asking.', 'Status TGHU8765436')],
  }),
  'a linked shipment with no ETA, vessel or milestones': context({
    messages: [inbound('Dear Team, kindly advise the current status of our Hamburg shipment.', 'Status')],
    shipments: [shipment({ vessel: null, voyage: null, eta: null, etd: null, bookingNumbers: [], milestones: [] })],
  }),
  'a booking request, nothing booked': context({
    messages: [inbound('Rates are fine. Please book 1x40HC Nhava Sheva to Jebel Ali on the next sailing.', 'Booking')],
  }),
  'a payment announced without an invoice number': context({
    messages: [inbound('Dear Sir, payment will be released on Monday. Regards', 'Payment')],
  }),
  'a complaint about a linked shipment': context({
    messages: [inbound('This is the second delay on this shipment and nobody informed us. Very disappointed.', 'Delay again')],
    shipments: [shipment()],
  }),
  'our offer awaiting an answer': context({
    messages: [inbound('Please share rates for 2x40HC Mundra to Hamburg, FOB, 18 tons, garments.', 'Rates'), outbound('Our offer: USD 1,450 per box.', 30)],
  }),
  'a carrier notice about another vessel': context({
    customer: { id: 'c4', name: 'MSC Agency India', kind: 'carrier', tier: 'standard', city: null, country: 'IN' },
    contact: { id: 'k5', name: 'MSC Export Desk', email: null, phone: null, designation: null },
    messages: [inbound('Please note MSC ADELE FX618 ETD Mundra is revised by 36 hours due to berth congestion.', 'Vessel schedule change')],
    shipments: [shipment()],
  }),
};

const INSTRUCTIONS = [
  'reply',
  'give the status and the ETA',
  'confirm the booking, ask for the SI',
  'chase the payment',
  'apologise and promise an update tomorrow',
];

describe('the offline drafter states only what the thread holds', () => {
  it.each(Object.keys(THREADS))('%s: no unsupported claim, whatever the instruction and tone', (name) => {
    const c = THREADS[name]!;
    for (const instruction of INSTRUCTIONS) {
      for (const tone of TONES) {
        const d = draftOffline(c, { instruction, tone, language: 'en' });
        expect({ instruction, tone, claims: unsupportedClaims(d.text, c, instruction) }).toEqual({ instruction, tone, claims: [] });
        expect(d.hasPlaceholders).toBe(/\[[^\]]+\]/.test(d.text));
      }
    }
  });

  it('the check itself catches an invented receipt, date, reference and vessel', () => {
    const c = THREADS['documents announced, none attached']!;
    expect(unsupportedClaims('Thank you for the commercial invoice; we have received it.', c, 'reply')).toEqual([
      'receipt of documents no message carries',
      'receipt of the commercial invoice',
    ]);
    expect(unsupportedClaims('The ETA is 14 Dec 2026 for MSKU1234565 on MAERSK KENSINGTON 447W, freight USD 1,450.', c, 'reply')).toEqual([
      'date 14 Dec 2026',
      'reference MSKU1234565',
      'reference MAERSK KENSINGTON 447W',
      'reference USD 1,450',
    ]);
  });

  it('acknowledges only the documents a message carries, naming a file when no document name can be read', () => {
    const attached = draft(THREADS['documents attached']!).text;
    expect(attached).toContain('Thank you for the commercial invoice and packing list for SHL/EXP/2026/0412; we have received them.');
    expect(attached).not.toMatch(/VGM[^.]*received/);
    const announced = draft(THREADS['documents announced, none attached']!);
    expect(announced.text).not.toMatch(/received/);
    expect(announced.text).toContain(
      'Thank you for letting us know about the commercial invoice and packing list; we will check them as soon as they reach us.',
    );
    expect(draft(THREADS['a file with no document name']!).text).toContain('Thank you for your message with scan0001.pdf attached; we have received it.');
    expect(draft(THREADS['a chat message saying the packing list is attached']!).text).toContain('Thank you for the packing list; we have received it.');
  });

  it('quotes identifiers, dates and vessels only from the thread, and says nothing of the rest', () => {
    const named = draft(THREADS['a status query naming a container, nothing linked']!, { instruction: 'give the status and the ETA' }).text;
    expect(named).toContain('We will check the latest status of TGHU8765436 with the carrier');
    expect(named).not.toMatch(DATE);
    const bare = draft(THREADS['a linked shipment with no ETA, vessel or milestones']!).text;
    expect(bare).toContain('SHL/EXP/2026/0412 (MSKU1234565, TGHU8765436) is in transit.');
    expect(bare).not.toMatch(DATE);
    const carrier = draft(THREADS['a carrier notice about another vessel']!).text;
    expect(carrier).toContain('Thank you for the update; we have noted the revised schedule.');
    expect(carrier).not.toContain('MAERSK KENSINGTON');
  });

  it('leaves what the member asks for and the thread lacks as placeholders', () => {
    const booking = draft(THREADS['a booking request, nothing booked']!, { instruction: 'confirm the booking, ask for the SI' });
    expect(booking.text).toContain('We are pleased to confirm the booking [booking number] on [vessel/voyage], ETD [date].');
    expect(booking.hasPlaceholders).toBe(true);
    const unbooked = draft(THREADS['a linked shipment with no ETA, vessel or milestones']!, { instruction: 'confirm the booking' });
    expect(unbooked.text).toContain('We are pleased to confirm the booking [booking number] for SHL/EXP/2026/0412 on [vessel/voyage], ETD [date].');
    const payment = draft(THREADS['a payment announced without an invoice number']!, { instruction: 'chase the payment' });
    expect(payment.text).toContain('Kindly arrange the payment of the outstanding invoice [invoice number, amount] at the earliest.');
    expect(draft(THREADS['a payment announced without an invoice number']!).text).toContain(
      'Thank you for the update on the payment; we will confirm as soon as it reaches our account.',
    );
    const withNumber = context({
      thread: { subject: 'Invoice SHL/INV/2026/1187' },
      messages: [inbound('Any update on this?', 'Re: Invoice SHL/INV/2026/1187')],
    });
    expect(draft(withNumber, { instruction: 'chase the payment' }).text).toContain('Kindly arrange the payment of invoice SHL/INV/2026/1187 at the earliest.');
  });
});
