// Finds freight identifiers (containers, air waybills, bills of lading, bookings) in email and WhatsApp text
// so threads can be linked to shipments; precision comes first, so numbers are check-digit validated or labelled.
import { isContainerShaped, normalizeAwb, normalizeContainerNumber } from './check-digits.js';

export { containerCheckDigit, isValidAwb, isValidContainerNumber, normalizeAwb, normalizeContainerNumber } from './check-digits.js';

export interface FreightIdentifiers {
  containers: string[];
  awbs: string[];
  bls: string[];
  bookings: string[];
}

type Kind = keyof FreightIdentifiers;

interface Hit {
  kind: Kind;
  value: string;
  start: number;
}

/** Carriers whose B/L numbers are distinctive enough (SCAC + fixed layout) to be trusted without a label. */
const SCAC_BL_SUFFIX: Readonly<Record<string, RegExp>> = {
  MAEU: /^\d{9}$/,
  MEDU: /^[A-Z]{1,2}\d{6,7}$/,
  HLCU: /^[A-Z]{3,4}\d{7,10}$/,
  CMDU: /^[A-Z]{3,4}\d{6,8}$/,
  COSU: /^\d{10}$/,
  ONEY: /^[A-Z]{4}\d{8}$/,
  EGLV: /^\d{12}$/,
  OOLU: /^\d{10}$/,
  YMLU: /^[A-Z]?\d{8,10}$/,
  ZIMU: /^[A-Z]{3}\d{6,9}$/,
  HDMU: /^[A-Z]{4}\d{7,8}$/,
};
const SCAC_ALTERNATION = Object.keys(SCAC_BL_SUFFIX).join('|');

// The spacings people type: owner and category, then the serial whole or in groups of three or two
// (`TASU 117 000 0`, `TASU 11 70 00-0`), then the check digit, each gap at most one space or dash.
// Looser spacing starts swallowing neighbouring numbers; the check digit still has to match.
const CONTAINER_RE = /(?<![A-Za-z0-9])([A-Za-z]{3}[UJZujz])[ -]?(\d{6}|\d{3}[ -]\d{3}|\d{2}[ -]\d{2}[ -]\d{2})[ -]?(?:(\d)|\((\d)\))(?![A-Za-z0-9])/g;
// English words that happen to end in U/J/Z; with a 7-digit number after them one in ten would pass the check digit.
const CONTAINER_LOOKALIKE_WORDS = new Set(['THRU', 'MENU', 'TOFU', 'GURU', 'QUIZ', 'WHIZ', 'JAZZ', 'BUZZ', 'FIZZ', 'FUZZ', 'HAJJ']);

const AWB_LABEL_RE = /(?<![A-Za-z0-9])(?:[MH]\.?\s?AWB|AWB|air\s*-?\s*way\s*-?\s*bill)s?(?![A-Za-z0-9])/gi;
const BL_LABEL_RE = /(?<![A-Za-z0-9])(?:[MHO]?B\.L\.?|[MHO]?B\/L|[MHO]?BL|BOL|bills?\s+of\s+lading)(?![A-Za-z0-9])/gi;
const BOOKING_LABEL_RE = /(?<![A-Za-z0-9])(?:booking|bkg)(?:\s+conf(?:irmation)?\b\.?)?(?![A-Za-z0-9])/gi;

// What may sit between a label and its value: "No.", "#", ":", "-", WhatsApp bold markers. A bare "." is not
// included because it usually ends the sentence ("draft BL. INV/2026/1187 attached").
const FILLER_RE = /(?:\s*(?:[:#*_-]|\b(?:no|nos|nr|num|number|numbers|ref|reference|id)\b\.?))*\s*/iy;
const QUALIFIER_RE = /[:#]|\b(?:no|nos|nr|num|number|numbers|ref|reference|id)\b/i;
const LIST_SEPARATOR_RE = /[ \t]*(?:,|;|&|\/|\+|\band\b)[ \t]*/iy;

// After a label: the airline prefix, then the 8 digits of serial and check digit as people group them
// (`176-12345675`, `176 1234 5675`, `589 8114074 3`), one space or dash at most between digits.
const AWB_VALUE_RE = /(?<![A-Za-z0-9])\d{3}(?:[ -]?\d){8}(?![A-Za-z0-9]|[-.]\d)/y;
const BL_VALUE_RE = new RegExp(`(?:(?:${SCAC_ALTERNATION}) (?=[A-Za-z0-9]*\\d))?[A-Za-z0-9](?:[A-Za-z0-9/-]*[A-Za-z0-9])?(?![A-Za-z0-9])`, 'iy');
// A dash or dot followed by more characters means the token is part of something longer (a date, a reference).
const BOOKING_VALUE_RE = /[A-Za-z0-9]+(?![A-Za-z0-9]|[-.][A-Za-z0-9])/y;

// Unlabelled air waybills only in the unambiguous PPP-SSSSSSSS form; spaced or bare 11-digit numbers are too
// often phone numbers (080 2345 6789) or invoice numbers, and 1 in 7 of them passes mod 7 by chance.
const DASHED_AWB_RE = /(?<![A-Za-z0-9+/.-])\d{3}-\d{8}(?![A-Za-z0-9]|[-.]\d)/g;
// Indian landlines are written exactly like an AWB (022-26543210), so a phone or document cue earlier on the line vetoes it.
const NON_AWB_CUE_RE =
  /\b(?:tel|telephone|ph|phone|mob|mobile|cell|fax|landline|board|office|direct|call|contact|whatsapp|helpline|ext|inv|invoice|po|order|gstin?|iec|pan|ifsc|acct|account|s\/b|shipping\s+bill|b\/e|bill\s+of\s+entry)\b|(?:^|[\s|(])[TPMF]\s*:|\+\s?\d/i;

const SCAC_BL_RE = new RegExp(`(?<![A-Za-z0-9])(${SCAC_ALTERNATION})[ -]?([A-Z0-9]{6,16})(?![A-Za-z0-9])`, 'g');

const DATE_LIKE_RE = /^\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{1,4})?$/;
// 2x40HC, 40HC, 1X20GP: equipment counts that follow "booking" in quotes and requests.
const EQUIPMENT_RE = /^(?:\d{1,3}X)?\d{2}(?:HC|HQ|GP|DV|DC|RF|RH|OT|FR|ST|NOR|STD)(?:X\d{1,3})?$/;
// Other document numbers that can end up next to a B/L or booking label but are never one.
const FOREIGN_REFERENCE_RE = /^(?:INV|INVOICE|PO|GST|GSTIN|IEC|PAN|CIN|HSN?|ISO|SB|BE)(?=[/-]|\d)/;
const GSTIN_RE = /^\d{2}[A-Z]{5}\d{4}[A-Z][A-Z\d]Z[A-Z\d]$/;
const PAN_RE = /^[A-Z]{5}\d{4}[A-Z]$/;

/** Text already attributed to an identifier, so that a later, weaker reading cannot report it again. */
class Claims {
  private readonly spans: Array<[number, number]> = [];

  overlaps(start: number, end: number): boolean {
    return this.spans.some(([s, e]) => start < e && s < end);
  }

  add(start: number, end: number): void {
    this.spans.push([start, end]);
  }
}

function isForeignToken(token: string): boolean {
  return EQUIPMENT_RE.test(token) || FOREIGN_REFERENCE_RE.test(token) || GSTIN_RE.test(token) || PAN_RE.test(token) || isContainerShaped(token);
}

function canonicalBl(raw: string, qualified: boolean): string | null {
  let token = raw.replace(/\s+/g, '').toUpperCase();
  const alnum = token.replace(/[/-]/g, '');
  if (alnum.length < 6 || alnum.length > 20 || !/\d/.test(alnum)) return null;
  if (DATE_LIKE_RE.test(token) || isForeignToken(alnum) || FOREIGN_REFERENCE_RE.test(token)) return null;
  // Without letters a number is only a B/L when it is long or introduced by "No."/"#"/":"; "BL 400001" may be a PIN
  // code, and digit groups with slashes (12/2026, 2026/11/0921) read as dates more often than as house B/Ls.
  if (!/[A-Z]/.test(alnum) && (alnum !== token || alnum.length < (qualified ? 6 : 8))) return null;
  if (Object.hasOwn(SCAC_BL_SUFFIX, alnum.slice(0, 4))) token = alnum;
  return token;
}

function canonicalBooking(raw: string): string | null {
  const token = raw.toUpperCase();
  if (token.length < 6 || token.length > 20 || !/\d/.test(token)) return null;
  return isForeignToken(token) ? null : token;
}

function shape(token: string): string {
  return token.replace(/[A-Z]+/g, 'A').replace(/\d+/g, '9');
}

/** Items after the first in "No: X, Y" must look like the first, or a trailing PIN code or amount would be taken. */
function sameShape(first: string, next: string): boolean {
  if (shape(first) !== shape(next)) return false;
  return /^\d+$/.test(first) ? first.length === next.length : Math.abs(first.length - next.length) <= 2;
}

interface LabelledScan {
  kind: Kind;
  label: RegExp;
  value: RegExp;
  canonical: (raw: string, qualified: boolean) => string | null;
  continues: (first: { raw: string; value: string }, next: { raw: string; value: string }) => boolean;
  /** Labels that are also ordinary words ("booking") need "No", "#" or ":" before the value. */
  needsQualifier?: (label: string) => boolean;
}

function scanLabelled(text: string, scan: LabelledScan, claims: Claims, hits: Hit[]): void {
  for (const label of text.matchAll(scan.label)) {
    let pos = label.index + label[0].length;
    FILLER_RE.lastIndex = pos;
    const filler = FILLER_RE.exec(text)?.[0] ?? '';
    const qualified = QUALIFIER_RE.test(filler);
    if (scan.needsQualifier?.(label[0]) && !qualified) continue;
    // A value on the next line counts only in "B/L No.:" table layouts, not after a sentence ending in "BL".
    const newlines = filler.split('\n').length - 1;
    if (newlines > 1 || (newlines === 1 && !qualified)) continue;
    pos += filler.length;

    let first: { raw: string; value: string } | null = null;
    for (;;) {
      scan.value.lastIndex = pos;
      const match = scan.value.exec(text);
      if (!match) break;
      const value = scan.canonical(match[0], qualified);
      const end = pos + match[0].length;
      if (value === null || claims.overlaps(pos, end)) break;
      const item = { raw: match[0], value };
      if (first && !scan.continues(first, item)) break;
      first ??= item;
      hits.push({ kind: scan.kind, value, start: pos });
      claims.add(pos, end);
      LIST_SEPARATOR_RE.lastIndex = end;
      const separator = LIST_SEPARATOR_RE.exec(text);
      if (!separator) break;
      pos = end + separator[0].length;
    }
  }
}

function scanContainers(text: string, claims: Claims, hits: Hit[]): void {
  for (const m of text.matchAll(CONTAINER_RE)) {
    const [whole, ownerCategory = '', serial = '', check = '', boxedCheck = ''] = m;
    if (CONTAINER_LOOKALIKE_WORDS.has(ownerCategory.toUpperCase())) continue;
    const value = normalizeContainerNumber(ownerCategory + serial.replace(/[ -]/g, '') + (check || boxedCheck));
    if (value === null) continue;
    hits.push({ kind: 'containers', value, start: m.index });
    claims.add(m.index, m.index + whole.length);
  }
}

function scanDashedAwbs(text: string, claims: Claims, hits: Hit[]): void {
  for (const m of text.matchAll(DASHED_AWB_RE)) {
    const start = m.index;
    const end = start + m[0].length;
    const value = normalizeAwb(m[0]);
    if (value === null || claims.overlaps(start, end)) continue;
    const lineStart = text.lastIndexOf('\n', start - 1) + 1;
    if (NON_AWB_CUE_RE.test(text.slice(Math.max(lineStart, start - 40), start))) continue;
    hits.push({ kind: 'awbs', value, start });
    claims.add(start, end);
  }
}

function scanScacBls(text: string, claims: Claims, hits: Hit[]): void {
  for (const m of text.matchAll(SCAC_BL_RE)) {
    const [whole, scac = '', suffix = ''] = m;
    const start = m.index;
    if (!SCAC_BL_SUFFIX[scac]?.test(suffix) || claims.overlaps(start, start + whole.length)) continue;
    hits.push({ kind: 'bls', value: scac + suffix, start });
    claims.add(start, start + whole.length);
  }
}

const AWB_SCAN: LabelledScan = {
  kind: 'awbs',
  label: AWB_LABEL_RE,
  value: AWB_VALUE_RE,
  canonical: normalizeAwb,
  // A second bare number in a list must share the airline prefix; a dashed one stands on its own anyway.
  continues: (first, next) => /^\d{3}-\d{8}$/.test(next.raw) || first.value.slice(0, 3) === next.value.slice(0, 3),
};

const BL_SCAN: LabelledScan = {
  kind: 'bls',
  label: BL_LABEL_RE,
  value: BL_VALUE_RE,
  canonical: canonicalBl,
  // Master and house numbers get listed together, so letters+digits of any shape may follow; bare digits may not.
  continues: (first, next) => sameShape(first.value, next.value) || (/[A-Z]/.test(next.value) && next.value.length >= 8),
};

const BOOKING_SCAN: LabelledScan = {
  kind: 'bookings',
  label: BOOKING_LABEL_RE,
  value: BOOKING_VALUE_RE,
  canonical: canonicalBooking,
  continues: (first, next) => sameShape(first.value, next.value),
  needsQualifier: (label) => /^booking$/i.test(label),
};

/**
 * Extracts validated container numbers, air waybills, B/L and booking numbers from plain text,
 * each list deduplicated and in order of first appearance.
 */
export function extractIdentifiers(text: string): FreightIdentifiers {
  // Same-length substitutions keep offsets intact: Outlook turns "-" into en dashes, WhatsApp pastes NBSPs.
  const normalized = text.replace(/[\u00A0\u2007\u202F]/g, ' ').replace(/[\u2010-\u2015\u2212]/g, '-');
  const claims = new Claims();
  const hits: Hit[] = [];

  // Order matters: a container number must never come back as a B/L or booking, and labelled readings
  // take precedence over unlabelled guesses at the same span.
  scanContainers(normalized, claims, hits);
  scanLabelled(normalized, AWB_SCAN, claims, hits);
  scanLabelled(normalized, BL_SCAN, claims, hits);
  scanLabelled(normalized, BOOKING_SCAN, claims, hits);
  scanDashedAwbs(normalized, claims, hits);
  scanScacBls(normalized, claims, hits);

  const result: FreightIdentifiers = { containers: [], awbs: [], bls: [], bookings: [] };
  hits.sort((a, b) => a.start - b.start);
  for (const hit of hits) {
    const list = result[hit.kind];
    if (!list.includes(hit.value)) list.push(hit.value);
  }
  return result;
}

/** Same as extractIdentifiers over a message's subject and body; the blank line keeps a subject label off the body. */
export function extractIdentifiersFromMessage(message: { subject?: string | null; body?: string | null }): FreightIdentifiers {
  return extractIdentifiers(`${message.subject ?? ''}\n\n${message.body ?? ''}`);
}

/**
 * Every identifier as one canonical list (containers as 11 characters, AWBs as `PPP-SSSSSSSS`, B/L and
 * booking numbers upper-case without spaces), as `app.messages.identifiers` stores it for lookups.
 */
export function canonicalIdentifiers(ids: FreightIdentifiers): string[] {
  const all = [...ids.containers, ...ids.awbs, ...ids.bls, ...ids.bookings].map((v) => v.replace(/\s+/g, '').toUpperCase());
  return [...new Set(all)].sort();
}

/**
 * What `app.messages.identifiers` stores for a message's subject and text (a call's transcript): the one
 * rule every writer of messages uses (ingest, replies and drafts, AI drafts, calls, transcripts, the
 * backfill).
 */
export function messageIdentifiers(message: { subject?: string | null; body?: string | null }): string[] {
  return canonicalIdentifiers(extractIdentifiersFromMessage(message));
}

/**
 * The canonical forms a reference typed into a search may stand for: the container number or air
 * waybill it validates as, and the upper-case text without spaces (B/L, booking, PO, job reference),
 * also without dashes and slashes (shipments store their numbers in both forms).
 */
export function searchForms(input: string): string[] {
  const forms = new Set<string>();
  const container = normalizeContainerNumber(input);
  if (container) forms.add(container);
  const awb = normalizeAwb(input);
  if (awb) forms.add(awb);
  const plain = input.replace(/\s+/g, '').toUpperCase();
  if (plain) forms.add(plain);
  const bare = plain.replace(/[-/\u2010-\u2015]/g, '');
  if (bare) forms.add(bare);
  return [...forms];
}
