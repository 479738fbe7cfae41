import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addConfusions, classMetrics, evaluate, labelledSet, sentimentGateFailures, type Confusion } from '../../lib/ai/analysis/evaluate.js';
import { findDates, findHsCodes, findIncoterms } from '../../lib/ai/analysis/entities.js';
import { analyzeOffline } from '../../lib/ai/analysis/offline.js';
import { findPorts } from '../../lib/ai/analysis/ports.js';
import { analysisResult, type AnalysisInput } from '../../lib/ai/analysis/schema.js';
import { stripClosing } from '../../lib/ai/analysis/text.js';
import { extractIdentifiersFromMessage } from '../../lib/logistics/identifiers.js';

const NOV_10 = new Date('2026-11-10T08:00:00Z');
const analyse = (subject: string, body: string, extra: Partial<AnalysisInput> = {}) => analyzeOffline({ subject, body, date: NOV_10, ...extra });

describe('intent', () => {
  it.each([
    [
      'quote_request',
      'Freight enquiry 1x40HC',
      'Dear Sir,\nPlease share your best rates for 1x40HC Mundra to Port Klang, plastic granules, ready next week.\nRegards\nHemant',
    ],
    ['quote_request', 'rate', 'bhai 2x20 Hazira to Jeddah ka rate bhejo, urgent hai'],
    [
      'quote_request',
      'RE: Offer - Chennai to Valencia',
      'Your rate is higher than what we pay today. Can you check with the line and come back with a better price?',
    ],
    ['booking_request', 'Re: Offer 1x20 Tuticorin - Colombo', 'Rates are fine, please go ahead and book on the Monday vessel.\n\nThanks'],
    ['booking_request', 'Cancel BKG 771203345', 'Hi,\nPlease cancel BKG No. 771203345, the order is on hold. Confirm if any charges apply.\nVinod'],
    ['shipment_status', 'Container status', 'Dear Sir,\nWhere is our container? Kindly advise the current status and ETA Chennai.\nRegards'],
    ['shipment_status', 'Truck update', 'Sir, vehicle left the factory at 15:30 with the container, expected gate in at JNPT by midnight.'],
    ['document_submission', 'Docs for 2x40HC to Antwerp', 'Hi team,\nPFA commercial invoice, packing list and COO for the Antwerp shipment.\nThanks\nRoshni'],
    ['document_request', 'Need DO', 'Dear Sir,\nLocal charges are paid. Kindly issue the delivery order today so that we can move the container.\nRegards'],
    [
      'invoice_payment',
      'Payment advice',
      'Dear Sir,\nWe have remitted INR 1,15,000 through RTGS against your invoice no. 2291, UTR SBIN0001234. Kindly acknowledge.\nAccounts',
    ],
    [
      'complaint',
      'Damaged cartons - claim',
      'Dear Team,\n20 cartons arrived crushed and wet. We are lodging a claim and want a surveyor appointed at once.\nQA',
    ],
    [
      'customs',
      'Examination - BE 7712345',
      'Sir, BE 7712345 is marked for examination by customs tomorrow at the CFS. Please send the product catalogue.\nCHA',
    ],
    [
      'schedule_change',
      'Vessel delay notice',
      'Dear Customer,\nMV ONE HARMONY is delayed by 3 days due to congestion. Revised ETA Nhava Sheva 05-Dec.\nRegards',
    ],
    ['general', 'Automatic reply: shipment docs', 'I am out of the office until Monday with limited access to email. For urgent matters please contact ops.'],
    ['general', 'Holiday notice', 'Dear Customers,\nOur office will remain closed on 15 August on account of Independence Day.\nRegards'],
  ] as const)('%s: %s', (intent, subject, body) => {
    expect(analyse(subject, body).intent).toBe(intent);
  });

  it('reads the new text, not the quoted history', () => {
    const body =
      'Has the vessel sailed? Please confirm.\n\nOn Mon, 9 Nov 2026 at 10:15, Ops <ops@fwd.example> wrote:\n> Please find attached our invoice and statement of account, payment is overdue.\n> Regards';
    expect(analyse('RE: Shipment to Rotterdam', body).intent).toBe('shipment_status');
  });

  it('lets a short reply borrow meaning from what it answers', () => {
    const body =
      'Confirmed, please go ahead.\n\nOn 9 Nov 2026, Sales wrote:\n> Our offer for 1x20GP Chennai to Port Klang: USD 450 all in.\n> Kindly confirm to book.';
    expect(analyse('Re: Rate offer', body).intent).toBe('booking_request');
  });

  it('uses the subject when the body says little', () => {
    expect(analyse('Pre-alert: MBL MEDU1234567', 'See attached.').intent).toBe('document_submission');
  });

  it('keeps an angry chase about clearance as customs, and one about the shipment as status', () => {
    expect(analyse('Still not cleared??', 'Why is our container still not cleared by customs? We are paying demurrage every day.').intent).toBe('customs');
    expect(analyse('Where is the cargo???', 'Second time asking. Nobody has updated me since last week. Where is the container now?').intent).toBe(
      'shipment_status',
    );
  });
});

describe('sentiment', () => {
  it('treats forwarder politeness as neutral', () => {
    const r = analyse('SI for booking', 'Dear Sir,\nKindly do the needful and submit the SI. Thanks in advance.\n\nThanks & Regards,\nPooja');
    expect(r.sentiment).toBe('neutral');
    expect(Math.abs(r.sentimentScore)).toBeLessThan(0.3);
  });

  it('reads negations and escalation as negative', () => {
    expect(analyse('Service', 'We are not happy with the way the last shipment was handled.').sentiment).toBe('negative');
    expect(analyse('Third reminder - DO', 'This is the third reminder and still no response from your side.').sentiment).toBe('negative');
    expect(analyse('Escalation', 'I am escalating this to your management. Completely unacceptable.').sentiment).toBe('negative');
    expect(analyse('Demurrage', 'We are paying demurrage because of you. Very disappointed.').sentimentScore).toBeLessThan(-0.3);
  });

  it('reads explicit thanks as positive but not a bare "thanks"', () => {
    expect(analyse('Delivered', 'The cargo reached in perfect condition. Many thanks for the smooth handling!').sentiment).toBe('positive');
    expect(analyse('Status', 'Any update on the vessel?\n\nThanks').sentiment).toBe('neutral');
  });

  it('keeps a carrier notice that reports bad news politely neutral', () => {
    const r = analyse(
      'Rollover notice',
      'Dear Customer,\nYour booking has been rolled to the next sailing due to capacity constraints. We apologise for the inconvenience caused.\nRegards',
    );
    expect(r.sentiment).toBe('neutral');
  });

  it('does not read "no damage" or "for any dispute" as negative', () => {
    expect(analyse('POD', 'Delivered, no damage, no remarks on the POD.').sentiment).toBe('neutral');
    expect(analyse('Invoice', 'Please find attached the invoice. For any dispute please write within 7 days.').sentiment).toBe('neutral');
  });

  it('reads negated praise as dissatisfaction, never as praise', () => {
    const r = analyse('Feedback', 'To be honest we are not at all happy with the handling of our last import.');
    expect(r.sentiment).toBe('negative');
    expect(r.sentimentScore).toBeLessThan(0);
    expect(analyse('Feedback', 'The coordination was never reliable this season.').sentiment).toBe('negative');
  });

  it('discounts thanks that only precedes a "but" or "however"', () => {
    expect(analyse('RE: ETA', 'Thank you for the reply. However, the new date does not work for us and nobody told us earlier.').sentiment).toBe('negative');
    expect(analyse('RE: ETA', 'Thanks a lot for checking, but the vessel still shows no berthing date.').sentiment).not.toBe('positive');
  });

  it('reads trouble-free feedback with praise as positive, a bare "no issues" as neutral', () => {
    expect(analyse('Feedback', 'No complaints from our consignee this time, good work by your team.').sentiment).toBe('positive');
    expect(analyse('Rates', 'Please quote for 1x20GP Mundra to Jeddah. No issues if it takes till Monday.').sentiment).toBe('neutral');
  });

  it('lets thanks carry a one-line chat message, and counts each distinct cue', () => {
    expect(analyse('', 'BL received, thanks for sending it on a Sunday').sentiment).toBe('positive');
    expect(analyse('', 'Ok noted, will send VGM by 4 pm').sentiment).toBe('neutral');
    expect(analyse('Delivered', 'All 20 pallets arrived intact and the clearance went smoothly.').sentiment).toBe('positive');
  });

  it('reads disputes, broken promises, costs of a failure and Hinglish exasperation as negative', () => {
    expect(analyse('Invoice', 'We dispute nothing else, but we object to the demurrage line; it is not payable by us.').sentiment).toBe('negative');
    expect(analyse('BL', 'You had promised the BL by Tuesday. The delay is costing us the LC discount.').sentiment).toBe('negative');
    expect(analyse('', 'Ye theek nahi hai, teen din se container pending hai').sentiment).toBe('negative');
    expect(analyse('Loading', 'The loading plan is not as agreed and we are not in a position to accept the extra trucking.').sentiment).toBe('negative');
  });
});

describe('urgency', () => {
  it('ranks escalation with money lost above a same-day ask above an ordinary note', () => {
    expect(analyse('Trucks waiting!!', 'Still no booking copy and our trucks are waiting since morning. Unacceptable.').urgency).toBe('critical');
    expect(analyse('DO', 'Please send the DO today, truck at CFS.').urgency).toBe('high');
    expect(analyse('Docs', 'PFA packing list for next week shipment.').urgency).toBe('normal');
    expect(analyse('Out of office', 'I am out of the office until Monday. For urgent matters call Ravi.').urgency).toBe('low');
  });
});

describe('entities', () => {
  it('takes identifiers from lib/logistics only', () => {
    const subject = 'Status BL MAEU241873506';
    const body = 'Containers MSKU 624076 6 and TCNU6846013 (typo?), AWB 176-88531693. Call 022-26543210.';
    const r = analyse(subject, body);
    const ids = extractIdentifiersFromMessage({ subject, body });
    expect({ containers: r.entities.containers, awbs: r.entities.awbs, bls: r.entities.bls, bookings: r.entities.bookings }).toEqual(ids);
    expect(r.entities.containers).toEqual(['MSKU6240766']);
  });

  it('recognises ports by name, spelling and code, and three-letter codes only in a routing context', () => {
    expect(findPorts('2x40HC Nhavasheva to Jebel Ali, then trucking to Dubai')).toEqual(['INNSA', 'AEJEA', 'AEDXB']);
    expect(findPorts('POL: INMUN  POD: NLRTM via Colombo')).toEqual(['INMUN', 'NLRTM', 'LKCMB']);
    expect(findPorts('Routing BOM-DXB-ORD, arriving AMS Friday')).toEqual(['INBOM', 'AEDXB', 'USCHI', 'NLAMS']);
    expect(findPorts('Cochin and Tuticorin, ICD Tughlakabad')).toEqual(['INCOK', 'INTUT', 'INTKD']);
    // "SIN" in a sentence and "IST" (a time zone) are not airports.
    expect(findPorts('SI cut-off 12:00 hrs IST. No SIN number needed.')).toEqual([]);
  });

  it('resolves dates against the message date', () => {
    expect(findDates('ETD 14.11, ETA 28th Nov, cut-off 12-Nov-2026 18:00', NOV_10)).toEqual(['2026-11-14', '2026-11-28', '2026-11-12']);
    // Early January seen from November is next year's.
    expect(findDates('vessel on 5 Jan', NOV_10)).toEqual(['2027-01-05']);
    // Quantities, amounts, invoice numbers and HS codes are not dates.
    expect(findDates('4.2 cbm, USD 1,240.00, INV SAC/EXP/26-27/041, HS 8708.30', NOV_10)).toEqual([]);
  });

  it('finds Incoterms only as trade terms', () => {
    expect(findIncoterms('Terms: FOB Nhava Sheva. Alternative CIF Hamburg.')).toEqual(['FOB', 'CIF']);
    expect(findIncoterms('Incoterm: FCA Tiruppur')).toEqual(['FCA']);
    expect(findIncoterms('50 MT DAP fertiliser bags; the CFS and DO are ready')).toEqual([]);
    expect(findIncoterms('cif value is low')).toEqual([]);
  });

  it('finds HS codes when labelled or next to tariff words', () => {
    expect(findHsCodes('Commodity: brake drums, HS code 8708.30.00, non-haz')).toEqual(['87083000']);
    expect(findHsCodes('HSN: 85044090 / 85049090')).toEqual(['85044090', '85049090']);
    expect(findHsCodes('Officer wants it classified under CTH 8504.40 instead of 8504.90')).toEqual(['850440', '850490']);
    expect(findHsCodes('Gross weight 1234.50 kg, invoice 2026.11')).toEqual([]);
  });

  it('returns a schema-valid result with a one-line summary of at most 160 characters', () => {
    const long = `Dear Sir,\n\n${'Kindly quote your best rates for a long list of very detailed requirements '.repeat(6)}\n\nRegards`;
    const r = analyse('Rate request - 2x40HC Nhava Sheva to Hamburg', long);
    expect(analysisResult.parse(r)).toEqual(r);
    expect(r.summary.length).toBeLessThanOrEqual(160);
    expect(r.summary).not.toMatch(/\n/);
    expect(r.summary.startsWith('Rate request - 2x40HC Nhava Sheva to Hamburg')).toBe(true);
  });

  it('strips the closing formula and signature before reading', () => {
    expect(stripClosing('Please share the DO.\n\nThanks & Regards,\nExcellent Logistics Pvt Ltd')).toBe('Please share the DO.');
    expect(stripClosing('Thank you so much for the quick support!\nRegards')).toBe('Thank you so much for the quick support!');
  });
});

describe('language', () => {
  it.each([
    ['en', 'Please share the status of our container, the buyer is asking.'],
    ['de', 'Sehr geehrte Damen und Herren, bitte senden Sie uns ein Angebot für die Sendung. Vielen Dank.'],
    ['hi', 'Sir hamara container kab niklega? Abhi tak koi update nahi hai, pls bata dijiye.'],
    ['hi', 'कृपया कंटेनर की स्थिति बताएं'],
  ])('%s', (language, body) => {
    expect(analyse('', body).language).toBe(language);
  });
});

describe('evaluation metrics', () => {
  // Rows: labelled, columns: predicted.
  const sentiment: Confusion<'positive' | 'neutral' | 'negative'> = {
    labels: ['positive', 'neutral', 'negative'],
    counts: {
      positive: { positive: 2, neutral: 1, negative: 0 },
      neutral: { positive: 1, neutral: 3, negative: 0 },
      negative: { positive: 0, neutral: 2, negative: 2 },
    },
  };

  it('computes accuracy, per-class recall and precision, and balanced accuracy as the mean recall', () => {
    const m = classMetrics(sentiment);
    expect(m.total).toBe(11);
    expect(m.accuracy).toBeCloseTo(7 / 11, 10);
    expect(m.perClass.positive).toEqual({ support: 3, predicted: 3, recall: 2 / 3, precision: 2 / 3 });
    expect(m.perClass.neutral).toEqual({ support: 4, predicted: 6, recall: 3 / 4, precision: 3 / 6 });
    expect(m.perClass.negative).toEqual({ support: 4, predicted: 2, recall: 2 / 4, precision: 1 });
    expect(m.balancedAccuracy).toBeCloseTo((2 / 3 + 3 / 4 + 2 / 4) / 3, 10);
  });

  it('leaves out of balanced accuracy a class no item is labelled with, and has no precision for a class never predicted', () => {
    const m = classMetrics<'a' | 'b' | 'c'>({
      labels: ['a', 'b', 'c'],
      counts: { a: { a: 3, b: 0, c: 1 }, b: { a: 0, b: 0, c: 2 }, c: { a: 0, b: 0, c: 0 } },
    });
    expect(m.perClass.c).toEqual({ support: 0, predicted: 3, recall: null, precision: 0 });
    expect(m.perClass.b).toEqual({ support: 2, predicted: 0, recall: 0, precision: null });
    expect(m.balancedAccuracy).toBeCloseTo((3 / 4 + 0) / 2, 10);
    expect(m.accuracy).toBeCloseTo(3 / 6, 10);
  });

  it('pools parts cell by cell, and names each sentiment class under the recall floor', () => {
    const pooled = addConfusions(sentiment.labels, [sentiment, sentiment]);
    expect(pooled.counts.negative).toEqual({ positive: 0, neutral: 4, negative: 4 });
    const m = classMetrics(pooled);
    expect(m.perClass.positive.recall).toBeCloseTo(2 / 3, 10);
    expect(sentimentGateFailures(m)).toEqual(['positive sentiment recall 0.667 < 0.75 (4/6)', 'negative sentiment recall 0.500 < 0.75 (4/8)']);
    expect(sentimentGateFailures(m, 0.5)).toEqual([]);
  });
});

// The one place tests read the holdout set: the floors the offline analyser must keep on mail it was not tuned on.
describe('accuracy floor on the holdout set', () => {
  it('keeps intent and sentiment at 85 % or better, and identifiers without false positives or misses', async () => {
    const file = new URL('../fixtures/analysis/holdout.json', import.meta.url);
    const items = labelledSet.parse(JSON.parse(readFileSync(file, 'utf8')));
    const e = await evaluate(items, (item) => analyzeOffline({ subject: item.subject, body: item.body, from: item.from }));
    expect(e.intentAccuracy).toBeGreaterThanOrEqual(0.85);
    expect(e.sentimentAccuracy).toBeGreaterThanOrEqual(0.85);
    expect(e.falsePositives).toEqual([]);
    expect(e.misses).toEqual([]);
  });
});
