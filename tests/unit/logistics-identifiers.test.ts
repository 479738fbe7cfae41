// Freight identifier extraction: check digits, label rules and the false positives forwarders' mail is full of.
import { describe, expect, it } from 'vitest';
import {
  containerCheckDigit,
  extractIdentifiers,
  extractIdentifiersFromMessage,
  isValidAwb,
  isValidContainerNumber,
  normalizeAwb,
  normalizeContainerNumber,
  searchForms,
} from '../../lib/logistics/identifiers.js';

const none = { containers: [], awbs: [], bls: [], bookings: [] };

describe('container check digits (ISO 6346)', () => {
  it.each(['MSKU1234565', 'TGHU8765436', 'CMAU4567893', 'HLXU3002457', 'MRKU9012346'])('%s is valid', (code) => {
    expect(containerCheckDigit(code.slice(0, 10))).toBe(Number(code.slice(10)));
    expect(isValidContainerNumber(code)).toBe(true);
  });

  it('accepts spaced, dashed and lowercase spellings', () => {
    for (const code of ['MSKU 123456 5', 'MSKU123456-5', 'MSKU 1234565', 'msku1234565', 'MSKU-123456-5']) {
      expect(isValidContainerNumber(code)).toBe(true);
    }
  });

  it('rejects a wrong check digit, a wrong category letter and malformed input', () => {
    expect(isValidContainerNumber('MSKU1234560')).toBe(false);
    expect(isValidContainerNumber('MSKA1234565')).toBe(false);
    expect(isValidContainerNumber('MSK1234565')).toBe(false);
    expect(isValidContainerNumber('MSKU12345655')).toBe(false);
    expect(containerCheckDigit('MSKU12345')).toBeNull();
    expect(containerCheckDigit('1234U123456')).toBeNull();
  });

  it('accepts J and Z category identifiers', () => {
    const body = 'ABCJ123456';
    expect(isValidContainerNumber(`${body}${containerCheckDigit(body)}`)).toBe(true);
    const trailer = 'ABCZ654321';
    expect(isValidContainerNumber(`${trailer}${containerCheckDigit(trailer)}`)).toBe(true);
  });
});

describe('air waybill check digits (mod 7)', () => {
  it('validates and canonicalises', () => {
    expect(isValidAwb('176-12345675')).toBe(true);
    expect(isValidAwb('17612345675')).toBe(true);
    expect(isValidAwb('176 1234 5675')).toBe(true);
    expect(normalizeAwb('098 7654 3213')).toBe('098-76543213');
  });

  it('rejects a wrong check digit or length', () => {
    expect(isValidAwb('176-12345674')).toBe(false);
    expect(isValidAwb('176-1234567')).toBe(false);
    expect(isValidAwb('176-123456755')).toBe(false);
    expect(normalizeAwb('abc-12345675')).toBeNull();
  });
});

describe('containers in text', () => {
  it('finds the container in a draft B/L mail without inventing a B/L', () => {
    expect(extractIdentifiers('Pls find attached draft BL for cntr MSKU1234565')).toEqual({
      ...none,
      containers: ['MSKU1234565'],
    });
  });

  it.each([
    ['Cntr MSKU 123456 5 gated in at JNPT', 'MSKU1234565'],
    ['container MSKU123456-5 loaded', 'MSKU1234565'],
    ['Box no. MSKU 1234565 (40HC)', 'MSKU1234565'],
    ['pls check msku1234565 status', 'MSKU1234565'],
    ['Door shows TGHU 876543 (6)', 'TGHU8765436'],
    ['eqp: CMAU–4567893', 'CMAU4567893'],
  ])('recognises %j', (text, expected) => {
    expect(extractIdentifiers(text).containers).toEqual([expected]);
  });

  it('ignores container-shaped strings whose check digit fails', () => {
    expect(extractIdentifiers('Cntr MSKU1234560 and TGHU 876543 1')).toEqual(none);
  });

  it('lists several containers once each, in order of appearance', () => {
    const text = 'Containers: HLXU3002457/MRKU9012346, MSKU1234565 & HLXU3002457 (repeat)';
    expect(extractIdentifiers(text).containers).toEqual(['HLXU3002457', 'MRKU9012346', 'MSKU1234565']);
  });

  it('does not match inside longer alphanumerics or English look-alikes', () => {
    expect(extractIdentifiers('Ref XMSKU1234565 / MSKU12345651 / ship thru 1234569').containers).toEqual([]);
  });

  it('never reports a container number as a B/L or booking, even when labelled so', () => {
    const result = extractIdentifiers('B/L No: MSKU1234565\nBooking No: TGHU8765436\nBL: MSKU1234560');
    expect(result).toEqual({ ...none, containers: ['MSKU1234565', 'TGHU8765436'] });
  });
});

describe('air waybills in text', () => {
  it('reads a labelled AWB with a date after it', () => {
    expect(extractIdentifiers('AWB no 176-12345675 dtd 14.11').awbs).toEqual(['176-12345675']);
  });

  it.each([
    ['AWB: 17612345675', '176-12345675'],
    ['AWB 176 1234 5675 on AI 131', '176-12345675'],
    ['AWB 098-76543213', '098-76543213'],
    ['MAWB # 176 12345675', '176-12345675'],
    ['HAWB no.17612345675', '176-12345675'],
    ['Air Waybill No. 157-23456786', '157-23456786'],
    ['airway bill: 02077777770', '020-77777770'],
    ['*AWB*: 235-99887760', '235-99887760'],
    ['MAWB 176–12345675 (en dash from Outlook)', '176-12345675'],
  ])('recognises %j', (text, expected) => {
    expect(extractIdentifiers(text).awbs).toEqual([expected]);
  });

  it('accepts the dashed PPP-SSSSSSSS form without a label', () => {
    expect(extractIdentifiers('Flight EK 501 tomorrow, docs under 176-12345675.').awbs).toEqual(['176-12345675']);
  });

  it('requires a label for bare or spaced 11-digit numbers', () => {
    expect(extractIdentifiers('Ref 17612345675 and 176 1234 5675 pls check').awbs).toEqual([]);
  });

  it('rejects labelled numbers whose check digit fails', () => {
    expect(extractIdentifiers('AWB no 176-12345674, MAWB 17612345670')).toEqual(none);
  });

  it('does not take phone numbers for AWBs', () => {
    const signature = 'Regards,\nRahul\nMob: +91 98765 43213 | 098765 43213\nTel: 022-26543215\nT: 020-77777770';
    expect(extractIdentifiers(signature)).toEqual(none);
  });

  it('lets a phone cue earlier on the line veto an unlabelled dashed number', () => {
    expect(extractIdentifiers('Office 022-26543215 / call me on 020-77777770').awbs).toEqual([]);
    expect(extractIdentifiers('Docs: 020-77777770').awbs).toEqual(['020-77777770']);
  });

  it('does not take invoice numbers for AWBs', () => {
    expect(extractIdentifiers('Invoice no 17612345675 dated 12/11/2026, Inv 176-12345675').awbs).toEqual([]);
  });

  it('reads a list of AWBs after one label', () => {
    expect(extractIdentifiers('MAWB nos: 17612345675 / 17612345686, 157-23456786').awbs).toEqual(['176-12345675', '176-12345686', '157-23456786']);
  });
});

describe('bills of lading in text', () => {
  it.each([
    ['B/L No. MAEU123456789', 'MAEU123456789'],
    ['BL: HLCURTM2604511', 'HLCURTM2604511'],
    ['MBL # MEDUAB123456', 'MEDUAB123456'],
    ['Bill of lading no. ONEYRTMB12345600', 'ONEYRTMB12345600'],
    ['BL NO:COSU6123456780', 'COSU6123456780'],
    ['HBL: RTM/26/0921', 'RTM/26/0921'],
    ['bl no: maeu 123456789', 'MAEU123456789'],
    ['B.L. No. BOMRTM261187', 'BOMRTM261187'],
    ['OBL#XYZ2604511 surrendered', 'XYZ2604511'],
  ])('recognises labelled %j', (text, expected) => {
    expect(extractIdentifiers(text).bls).toEqual([expected]);
  });

  it.each(['MAEU123456789', 'HLCURTM2604511', 'MEDUAB123456', 'ONEYRTMB12345600', 'COSU6123456780', 'EGLV142300012345'])(
    'accepts the well-known carrier layout %s without a label',
    (bl) => {
      expect(extractIdentifiers(`Telex release done for ${bl} pls arrange DO`).bls).toEqual([bl]);
    },
  );

  it('rejects unlabelled carrier prefixes with the wrong layout or an unknown prefix', () => {
    expect(extractIdentifiers('MAEU12345 ONEY12345678 ABCD123456789 MEDU12345678').bls).toEqual([]);
  });

  it('does not read the next document reference, a date or a sentence as a B/L', () => {
    const text = 'Pls find draft BL. INV/2026/1187 attached\nBL dtd 14/11/2026\nB/L: 14/11/2026\nPls send BL\n2611458 is ok';
    expect(extractIdentifiers(text)).toEqual(none);
  });

  it('takes short all-digit B/Ls only after "No."/"#"/":", longer ones after the bare label', () => {
    expect(extractIdentifiers('BL no 2611458').bls).toEqual(['2611458']);
    expect(extractIdentifiers('BL 261145800 released').bls).toEqual(['261145800']);
    expect(extractIdentifiers('BL 2611458 / BL no 12/2026 / B/L 2026/11/0921 / BL 1 of 3').bls).toEqual([]);
  });

  it('reads a B/L number on the line after a "B/L No.:" heading', () => {
    expect(extractIdentifiers('B/L No.:\nMAEU123456789').bls).toEqual(['MAEU123456789']);
  });

  it('reads master and house B/Ls listed together', () => {
    expect(extractIdentifiers('MBL/HBL: MAEU123456789 / RTM/26/0921').bls).toEqual(['MAEU123456789', 'RTM/26/0921']);
  });
});

describe('booking numbers in text', () => {
  it('reads an Indian-English booking confirmation', () => {
    expect(extractIdentifiers('Kindly note Booking No: 2611458 for 2x40HC ex Nhava Sheva').bookings).toEqual(['2611458']);
  });

  it.each([
    ['Booking # 2611458', '2611458'],
    ['BKG 261145800 confirmed', '261145800'],
    ['Bkg no. sha1234567', 'SHA1234567'],
    ['booking number ABC1234567', 'ABC1234567'],
    ['Booking ref: 9XYZ12', '9XYZ12'],
    ['Booking confirmation no. 26CN004512', '26CN004512'],
  ])('recognises %j', (text, expected) => {
    expect(extractIdentifiers(text).bookings).toEqual([expected]);
  });

  it('requires No/#/: after the plain word "booking" and rejects equipment, short and letter-only tokens', () => {
    const text = 'Your booking 2611458 is noted. Booking: 2x40HC. Booking No: 12345. Booking No: PENDING. BKG: 40HC';
    expect(extractIdentifiers(text).bookings).toEqual([]);
  });

  it('reads a list of same-shaped bookings but not a PIN code after them', () => {
    expect(extractIdentifiers('Booking nos: 2611458, 2611459 & 2611460').bookings).toEqual(['2611458', '2611459', '2611460']);
    expect(extractIdentifiers('Booking No: 2611458, 400001 Mumbai').bookings).toEqual(['2611458']);
  });

  it('does not take a date or dotted reference after the label', () => {
    expect(extractIdentifiers('Booking: 14.11.2026 / Booking No - 2026-11-14').bookings).toEqual([]);
  });
});

describe('negatives', () => {
  it.each([
    'We are ISO 9001:2015 certified',
    'GSTIN: 27AAACT2727Q1ZV',
    'IEC: 0305012345 / IEC code AAACT2727Q',
    'HS code 9403.60 and 94036000',
    'Call +91 98765 43210 or +91-9876543213',
    'Mob 09876543213',
    'Dated 14.11.2026, ETD 2026-11-20, ETA 28/11/26',
    'Andheri East, Mumbai 400069, Maharashtra',
    'Invoice INV/2026/1187 and PO/26/4471 attached',
    'Vessel MSC AMELIA voy 447W / FE447W',
    'Net weight 18450 kgs, 2 x 40HC, USD 1850 all-in',
  ])('reports nothing in %j', (text) => {
    expect(extractIdentifiers(text)).toEqual(none);
  });

  it('stays silent on a whole Indian signature block', () => {
    const signature = [
      'Thanks & Regards,',
      'Priya Sharma | Export Customer Service',
      'ABC Logistics Pvt Ltd, 4th Floor, Andheri (E), Mumbai - 400069',
      'Tel: 022-26543215 | Mob: +91 98765 43210',
      'GSTIN 27AAACT2727Q1ZV | IEC 0305012345 | ISO 9001:2015',
    ].join('\n');
    expect(extractIdentifiers(signature)).toEqual(none);
  });
});

describe('whole messages', () => {
  it('extracts every kind from a forwarder email, once each and in order', () => {
    const body = [
      'Dear Sir,',
      'Pls find attached draft BL for cntr MSKU1234565 & TGHU 876543 6.',
      'MBL: MAEU123456789, HBL no. RTM/26/0921',
      'Kindly note Booking No: 2611458 (vsl MSC AMELIA voy 447W, ETD 14.11.2026).',
      'Pre-carriage docs under AWB no 176-12345675 dtd 14.11, invoice INV/2026/1187, HS 9403.60.',
      'Again: MSKU1234565 to be stuffed first.',
      'Regards, Rahul | +91 98765 43210',
    ].join('\n');
    expect(extractIdentifiers(body)).toEqual({
      containers: ['MSKU1234565', 'TGHU8765436'],
      awbs: ['176-12345675'],
      bls: ['MAEU123456789', 'RTM/26/0921'],
      bookings: ['2611458'],
    });
  });

  it('handles a European-English WhatsApp update with bold markers', () => {
    const text = '*B/L*: HLCURTM2604511\n*Containers*: HLXU3002457, MRKU9012346\n*BKG*: HAM2604511X\nETA RTM 28/11 voy 012E';
    expect(extractIdentifiers(text)).toEqual({
      containers: ['HLXU3002457', 'MRKU9012346'],
      awbs: [],
      bls: ['HLCURTM2604511'],
      bookings: ['HAM2604511X'],
    });
  });

  it('combines subject and body, subject first, without duplicating', () => {
    const result = extractIdentifiersFromMessage({
      subject: 'RE: Booking No 2611458 / cntr CMAU4567893 / B/L',
      body: 'Hi, 2611458 is confirmed. CMAU4567893 and MSKU1234565 gated in.\nMAWB 098-76543213',
    });
    expect(result).toEqual({
      containers: ['CMAU4567893', 'MSKU1234565'],
      awbs: ['098-76543213'],
      bls: [],
      bookings: ['2611458'],
    });
  });

  it('does not let a label at the end of the subject grab the first line of the body', () => {
    expect(extractIdentifiersFromMessage({ subject: 'Draft BL', body: '2611458 pls confirm' })).toEqual(none);
    expect(extractIdentifiersFromMessage({ subject: null, body: undefined })).toEqual(none);
  });
});

describe('numbers as people type them, against outside test vectors', () => {
  // python-stdnum's ISO 6346 test vectors (tests/test_iso6346.doctest): valid in any case, and the
  // wrong check digit, a short number and a letter in the serial refused.
  const STDNUM_VALID = ['CSQU3054383', 'csqu3054383', 'csQU3054383', 'tcnu7200794', 'tolu4734787', 'GYOU4047990'];
  const STDNUM_INVALID = ['CSQU3054384', 'CSQU305438', 'CSQU3054Z83'];

  it("agrees with python-stdnum's ISO 6346 vectors", () => {
    for (const n of STDNUM_VALID) expect(normalizeContainerNumber(n), n).toBe(n.toUpperCase());
    for (const n of STDNUM_INVALID) expect(normalizeContainerNumber(n), n).toBeNull();
    for (const n of STDNUM_VALID) expect(extractIdentifiers(`Container ${n} gated in`).containers, n).toEqual([n.toUpperCase()]);
  });

  // An independent ISO 6346 check digit: letters take the values of their place in an alphabet that
  // skips the multiples of 11 (written here as a string with gaps), weights are powers of two.
  const ALPHABET = '0123456789A BCDEFGHIJK LMNOPQRSTU VWXYZ';
  const checkDigit = (body: string) => String(([...body].reduce((sum, ch, i) => sum + ALPHABET.indexOf(ch) * 2 ** i, 0) % 11) % 10);
  let seed = 6346;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const generated = Array.from({ length: 400 }, () => {
    const owner = Array.from({ length: 3 }, () => letters[random(26)]).join('') + 'UJZ'[random(3)]!;
    const serial = String(random(1_000_000)).padStart(6, '0');
    return `${owner}${serial}${checkDigit(owner + serial)}`;
  });

  it('finds every generated container number in each spacing people type, case-insensitively', () => {
    const spellings = (n: string) => {
      const [o, s, c] = [n.slice(0, 4), n.slice(4, 10), n.slice(10)];
      return [
        n,
        `${o} ${s} ${c}`,
        `${o} ${s.slice(0, 3)} ${s.slice(3)} ${c}`,
        `${o.toLowerCase()}${s.slice(0, 3)} ${s.slice(3)} ${c}`,
        `${o}-${s}-${c}`,
        `${o} ${s}(${c})`,
        `${o} ${s.slice(0, 2)} ${s.slice(2, 4)} ${s.slice(4)} ${c}`,
      ];
    };
    const missed = generated.flatMap((n) => spellings(n).filter((spelled) => extractIdentifiers(`Pls track ${spelled} asap`).containers[0] !== n));
    expect(missed).toEqual([]);
  });

  it('refuses every generated number with a wrong check digit, in any spacing', () => {
    const wrong = generated.map((n) => `${n.slice(0, 10)}${(Number(n[10]) + 1 + random(9)) % 10}`);
    const found = wrong.filter((n) => extractIdentifiers(`Pls track ${n.slice(0, 4)} ${n.slice(4, 7)} ${n.slice(7, 10)} ${n[10]} asap`).containers.length > 0);
    expect(found).toEqual([]);
  });

  it('finds labelled air waybills written with spaces, and the dashed form without a label', () => {
    expect(extractIdentifiers('MAWB 589 8114074 3 for the Frankfurt consol').awbs).toEqual(['589-81140743']);
    expect(extractIdentifiers('AWB: 176 1234 5675').awbs).toEqual(['176-12345675']);
    expect(extractIdentifiers('HAWB no. 176 1234 567 5, 2 pcs').awbs).toEqual(['176-12345675']);
    expect(extractIdentifiers('awb 17612345675').awbs).toEqual(['176-12345675']);
    expect(extractIdentifiers('Flight booked, 176-12345675 departs tonight').awbs).toEqual(['176-12345675']);
    // Unlabelled spaced digits stay phone numbers; a wrong check digit is never an AWB.
    expect(extractIdentifiers('Call 176 1234 5675 tomorrow').awbs).toEqual([]);
    expect(extractIdentifiers('AWB 176 1234 5674').awbs).toEqual([]);
  });
});

describe('references typed into a search', () => {
  it('reads a container whose check digit is bracketed, and only a single bracketed digit', () => {
    expect(normalizeContainerNumber('MSKU 123456(5)')).toBe('MSKU1234565');
    expect(normalizeContainerNumber('msku-123456 (5)')).toBe('MSKU1234565');
    expect(normalizeContainerNumber('MSKU 123456(6)')).toBeNull();
    expect(normalizeContainerNumber('MSKU(123456)5')).toBeNull();
    expect(searchForms('MSKU 123456(5)')).toContain('MSKU1234565');
  });

  it('gives the text with and without dashes and slashes', () => {
    expect(searchForms('abc-123 456')).toEqual(['ABC-123456', 'ABC123456']);
    expect(searchForms('PO/4711')).toEqual(['PO/4711', 'PO4711']);
    expect(searchForms('176 1234 5675')).toEqual(['176-12345675', '17612345675']);
  });
});
