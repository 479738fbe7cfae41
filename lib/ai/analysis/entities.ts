// Entities an operator acts on besides the freight identifiers (those come from lib/logistics only):
// dates (resolved against the message date), Incoterms in a trade context, and HS codes that are
// labelled or sit next to tariff words. Ports live in ports.ts.
import { INCOTERMS, type Incoterm } from './schema.js';

const MONTHS: Record<string, number> = {
  jan: 1,
  january: 1,
  feb: 2,
  february: 2,
  mar: 3,
  march: 3,
  apr: 4,
  april: 4,
  may: 5,
  jun: 6,
  june: 6,
  jul: 7,
  july: 7,
  aug: 8,
  august: 8,
  sep: 9,
  sept: 9,
  september: 9,
  oct: 10,
  october: 10,
  nov: 11,
  november: 11,
  dec: 12,
  december: 12,
  // German and Dutch months a European agent writes.
  januar: 1,
  februar: 2,
  märz: 3,
  maerz: 3,
  mai: 5,
  juni: 6,
  juli: 7,
  oktober: 10,
  dezember: 12,
  mei: 5,
  okt: 10,
  dez: 12,
};
const MONTH_NAMES = Object.keys(MONTHS)
  .sort((a, b) => b.length - a.length)
  .join('|');

const pad = (n: number) => String(n).padStart(2, '0');

function isoOf(year: number, month: number, day: number): string | null {
  if (month < 1 || month > 12 || day < 1 || day > 31 || year < 1990 || year > 2100) return null;
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCMonth() !== month - 1) return null; // 31 Feb
  return `${year}-${pad(month)}-${pad(day)}`;
}

/** A day and month without a year: the year that puts the date nearest the message date. */
function nearestYear(month: number, day: number, reference: Date): string | null {
  const y = reference.getUTCFullYear();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const year of [y - 1, y, y + 1]) {
    const iso = isoOf(year, month, day);
    if (!iso) continue;
    const distance = Math.abs(Date.parse(iso) - reference.getTime());
    if (distance < bestDistance) {
      best = iso;
      bestDistance = distance;
    }
  }
  return best;
}

function fullYear(y: string): number {
  const n = Number(y);
  return y.length === 2 ? 2000 + n : n;
}

interface DateHit {
  iso: string;
  start: number;
}

// Word boundaries that keep invoice numbers (SAC/EXP/26-27/041), amounts (1,240.00) and codes out.
const L = String.raw`(?<![\p{L}\p{N}.,/-])`;
const R = String.raw`(?![\p{L}\p{N}]|[.,/-]\p{N})`;
// Units after "d.m" mean a quantity: "4.2 cbm", "12.50 kg".
const QUANTITY_AFTER = /^\s*(?:%|cbm|m3|kgs?|kilos?|mt|tons?|tonnes?|ltrs?|litres?|liters?|pcs|cm|mm|m\b|usd|inr|eur|lakhs?|cr|hrs?|hours?|x\b)/i;
const AMOUNT_BEFORE = /(?:usd|inr|eur|rs\.?|₹|\$|€|@|hs|hsn|cth|code|heading)\s*$/i;
const CURRENCY_BEFORE = /(?:usd|inr|eur|rs\.?|₹|\$|€)\s*$/i;

const DATE_PATTERNS: Array<{ re: RegExp; read: (m: RegExpExecArray, ref: Date) => string | null; noYearCheck?: boolean }> = [
  // 2026-05-22
  { re: new RegExp(`${L}(\\d{4})-(\\d{1,2})-(\\d{1,2})${R}`, 'gu'), read: (m, _r) => isoOf(Number(m[1]), Number(m[2]), Number(m[3])) },
  // 12.05.2026, 12/05/2026, 12-05-2026, 12.05.26 (day first: India and Europe)
  {
    re: new RegExp(`${L}(\\d{1,2})([./-])(\\d{1,2})\\2(\\d{4}|\\d{2})${R}`, 'gu'),
    read: (m) => isoOf(fullYear(m[4]!), Number(m[3]), Number(m[1])),
  },
  // 14.11, 21/05 (day first, two-digit month, no year)
  {
    re: new RegExp(`${L}(\\d{1,2})[./](\\d{2})${R}`, 'gu'),
    read: (m, ref) => nearestYear(Number(m[2]), Number(m[1]), ref),
    noYearCheck: true,
  },
  // 28th Nov, 22nd May 2026, 27-May-2026, 19MAY, 1 June 2026, 02-Jun-26
  {
    re: new RegExp(`${L}(\\d{1,2})(?:st|nd|rd|th)?(?:\\s*of)?[\\s-]?(${MONTH_NAMES})\\.?(?:[\\s,-]+'?(\\d{4}|\\d{2}(?![\\p{N}:])))?${R}`, 'giu'),
    read: (m, ref) => {
      const month = MONTHS[m[2]!.toLowerCase()]!;
      if (m[2] === 'may' && !m[3]) return null; // "2 may" in lower case is usually the verb
      return m[3] ? isoOf(fullYear(m[3]), month, Number(m[1])) : nearestYear(month, Number(m[1]), ref);
    },
  },
  // May 22, Nov 28th 2026, June 1, 2026
  {
    re: new RegExp(`${L}(${MONTH_NAMES})\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?(?:,?\\s+(\\d{4}))?${R}`, 'giu'),
    read: (m, ref) => {
      const month = MONTHS[m[1]!.toLowerCase()]!;
      if (/^may$/.test(m[1]!)) return null;
      return m[3] ? isoOf(Number(m[3]), month, Number(m[2])) : nearestYear(month, Number(m[2]), ref);
    },
  },
];

/** ISO dates written in the text ("ETD 14.11", "28th Nov", "27-May-2026"), in order of mention. */
export function findDates(text: string, reference: Date = new Date()): string[] {
  const hits: DateHit[] = [];
  const taken: Array<[number, number]> = [];
  for (const pattern of DATE_PATTERNS) {
    pattern.re.lastIndex = 0;
    for (let m = pattern.re.exec(text); m; m = pattern.re.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      if (taken.some(([s, e]) => start < e && s < end)) continue;
      if (pattern.noYearCheck) {
        if (QUANTITY_AFTER.test(text.slice(end, end + 8)) || AMOUNT_BEFORE.test(text.slice(Math.max(0, start - 8), start))) continue;
        // A time ("14.30 hrs") or a decimal in a table is not a date: require a date cue or a plain context.
        if (/^\s*(?:hrs?|h)\b/i.test(text.slice(end, end + 5))) continue;
      }
      const iso = pattern.read(m, reference);
      if (!iso) continue;
      taken.push([start, end]);
      hits.push({ iso, start });
    }
  }
  hits.sort((a, b) => a.start - b.start);
  return [...new Set(hits.map((h) => h.iso))];
}

const INCOTERM_ALTERNATION = INCOTERMS.join('|');
const INCOTERM_RE = new RegExp(`(?<![A-Za-z0-9/-])(${INCOTERM_ALTERNATION})(?![A-Za-z0-9/-])`, 'g');
// Words that make a capitalised three-letter token a trade term.
const TERMS_BEFORE =
  /\b(?:inco-?terms?|terms?(?:\s+of\s+(?:delivery|sale|shipment))?|basis|delivery|price|prices|rate|rates|value|quote|quotation|offer|contract|on|under|sold|buy|bought|shipment|shipping)\s*[:(-]?\s*(?:(?:EXW|FCA|FAS|FOB|CFR|CIF|CPT|CIP|DAP|DPU|DDP)\s*(?:[/,]|or|and)\s*)*$/i;
const TERMS_AFTER = /^\s*(?:[)]?\s*)?(?:terms?|basis|incoterms?|price|prices|value|rates?|contract|shipment|incl\.?|including|\d{4}\b|20[12]\d)/i;
// What may follow an Incoterm as its named place: a capitalised place, a port code, "door", "ICD", "port".
const NAMED_PLACE_AFTER = /^\s+(?:\p{Lu}[\p{L}'-]+|[A-Z]{5}\b|door\b|ICD\b|port\b|CFS\b|airport\b|warehouse\b|factory\b|destination\b|origin\b)/u;
// "DAP fertiliser", "CIF's": other meanings.
const NOT_INCOTERM_AFTER = /^\s*(?:fertili[sz]er|urea|bags?|granules?|MT\b|content|grade|plant|subsidy|chart|No\.?\b)/i;

/** Incoterms written as whole capitalised words in a trade context ("Terms: FOB", "FCA Tiruppur", "on CIF basis"). */
export function findIncoterms(text: string): Incoterm[] {
  const found: Incoterm[] = [];
  for (const m of text.matchAll(INCOTERM_RE)) {
    const term = m[1] as Incoterm;
    const start = m.index;
    const end = start + term.length;
    const before = text.slice(Math.max(0, start - 40), start);
    const after = text.slice(end, end + 30);
    if (NOT_INCOTERM_AFTER.test(after)) continue;
    const lineBefore = before.slice(before.lastIndexOf('\n') + 1);
    const trade =
      TERMS_BEFORE.test(lineBefore) ||
      TERMS_AFTER.test(after) ||
      NAMED_PLACE_AFTER.test(after) ||
      // A list of alternatives ("FOB / CIF") or a quoted option line ("1) DAP ICD ...").
      /(?:EXW|FCA|FAS|FOB|CFR|CIF|CPT|CIP|DAP|DPU|DDP)\s*[/,]\s*$/.test(lineBefore) ||
      /^\s*[/,]\s*(?:EXW|FCA|FAS|FOB|CFR|CIF|CPT|CIP|DAP|DPU|DDP)\b/.test(after) ||
      // The term closing a route: "Ahmedabad to Amsterdam, CIP." / "Rotterdam to ICD Tughlakabad, DAP"
      (/\p{Lu}[\p{L}.'-]*,\s*$/u.test(lineBefore) && /\bto\b/i.test(lineBefore) && /^\s*(?:[.;:)|]|$|\n)/.test(after));
    if (trade && !found.includes(term)) found.push(term);
  }
  return found;
}

const HS_LABEL_RE =
  /(?<![A-Za-z0-9])(?:HS\s*N?|H\.S\.?|HSN|ITC[- ]?HS|CTH|CTSH|tariff\s+(?:code|heading|item|no\.?))(?:\s*(?:code|codes|no\.?|nos\.?|number|heading|classification))?\s*[:#-]?\s*/gi;
const HS_VALUE_RE = /(\d{4}(?:[. ]?\d{2}){0,3})(?![\d.]\d|\s?(?:kg|kgs|mt|cbm|pcs|usd|inr|%)\b)/iy;
const HS_LIST_SEPARATOR = /\s*(?:,|\/|&|and|or|vs\.?|versus)\s*/iy;
const DOTTED_HS_RE = /(?<![\d.,/-])(\d{4}\.\d{2}(?:\.\d{2}){0,2})(?![\d.]\d|[\p{L}])/gu;
const TARIFF_WORDS = /\b(?:HS|HSN|CTH|CTSH|tariff|classif\w*|heading|sub-?heading|chapter|ITC|BCD|duty|customs)\b/i;

function hsDigits(raw: string): string | null {
  const digits = raw.replace(/[. ]/g, '');
  if (digits.length < 4 || digits.length > 10 || digits.length % 2 !== 0) return null;
  const chapter = Number(digits.slice(0, 2));
  return chapter >= 1 && chapter <= 97 ? digits : null;
}

/** HS codes, as digits: labelled ("HS code 8708.30.00", "HSN 8504") or ####.## next to tariff words. */
export function findHsCodes(text: string): string[] {
  const hits: Array<{ code: string; start: number }> = [];
  for (const m of text.matchAll(HS_LABEL_RE)) {
    let pos = m.index + m[0].length;
    for (;;) {
      HS_VALUE_RE.lastIndex = pos;
      const v = HS_VALUE_RE.exec(text);
      if (!v) break;
      const code = hsDigits(v[1]!);
      if (!code) break;
      hits.push({ code, start: pos });
      pos += v[0].length;
      HS_LIST_SEPARATOR.lastIndex = pos;
      const sep = HS_LIST_SEPARATOR.exec(text);
      if (!sep) break;
      pos += sep[0].length;
    }
  }
  for (const m of text.matchAll(DOTTED_HS_RE)) {
    const window = text.slice(Math.max(0, m.index - 80), m.index + m[0].length + 40);
    if (!TARIFF_WORDS.test(window) || CURRENCY_BEFORE.test(text.slice(Math.max(0, m.index - 6), m.index))) continue;
    const code = hsDigits(m[1]!);
    if (code) hits.push({ code, start: m.index });
  }
  hits.sort((a, b) => a.start - b.start);
  return [...new Set(hits.map((h) => h.code))];
}
