// The offline reader: a document's type and fields from its text by rules, no network. Identifiers come
// from lib/logistics (containers check-digit validated), ports, Incoterms, HS codes and dates from the
// analyser's entity finders, so a B/L and an email read the same number the same way. Every field
// keeps the page and line it was read from and a confidence: 0.9 labelled on its line, 0.75 on the line
// after its label, 0.95 for a container number whose check digit holds.
import { findDates, findHsCodes, findIncoterms } from '../ai/analysis/entities.js';
import { findPorts } from '../ai/analysis/ports.js';
import { extractIdentifiers } from '../logistics/identifiers.js';
import type { DocumentField, DocumentFields, DocumentType, FieldName, FieldValue, PageText } from './types.js';

export interface Reading {
  type: DocumentType;
  typeConfidence: number;
  fields: DocumentFields;
}

interface Line {
  page: number;
  text: string;
  /** The next non-empty line on the same page. */
  next: string | null;
}

function linesOf(pages: readonly PageText[]): Line[] {
  const out: Line[] = [];
  for (const p of pages) {
    const lines = p.text
      .split('\n')
      .map((l) => l.replace(/[\u00A0\t]/g, ' ').trimEnd())
      .filter((l) => l.trim());
    lines.forEach((text, i) => out.push({ page: p.page, text, next: lines[i + 1] ?? null }));
  }
  return out;
}

/** The first column of a line: text up to a gap of three spaces or more. */
const firstColumn = (s: string) =>
  s
    .trim()
    .split(/\s{3,}/)[0]!
    .trim();

// ---------------------------------------------------------------------------------------------
// Type
// ---------------------------------------------------------------------------------------------

/** Title phrases by type, most specific first (a house B/L is also a "bill of lading"). */
const TYPE_PHRASES: ReadonlyArray<[DocumentType, RegExp]> = [
  ['house_bill_of_lading', /\bHOUSE\s+BILL\s+OF\s+LADING\b|\bHOUSE\s+B\/L\b|\bHBL\b/],
  ['seaway_bill', /\bSEA\s*-?\s*WAY\s*-?\s*BILL\b/],
  ['booking_confirmation', /\bBOOKING\s+CONFIRMATION\b|\bBOOKING\s+ACKNOWLEDGE?MENT\b/],
  ['arrival_notice', /\bARRIVAL\s+NOTICE\b|\bNOTICE\s+OF\s+ARRIVAL\b|\bCARGO\s+ARRIVAL\b/],
  ['delivery_order', /\bDELIVERY\s+ORDER\b/],
  ['certificate_of_origin', /\bCERTIFICATE\s+OF\s+ORIGIN\b/],
  ['air_waybill', /\bAIR\s*WAY\s*BILL\b/],
  ['shipping_bill', /\bSHIPPING\s+BILL\b/],
  ['bill_of_entry', /\bBILL\s+OF\s+ENTRY\b/],
  ['packing_list', /\bPACKING\s+LIST\b/],
  ['commercial_invoice', /\b(?:COMMERCIAL|TAX|PROFORMA|EXPORT)\s+INVOICE\b|^\s*INVOICE\s*$/m],
  ['bill_of_lading', /\bBILL\s+OF\s+LADING\b|\bB\/L\s+(?:NO|NUMBER)\b/],
  ['quote', /\bQUOTATION\b|\bRATE\s+QUOTE\b|\bFREIGHT\s+QUOTE\b/],
];

export function classify(pages: readonly PageText[]): { type: DocumentType; confidence: number } {
  const first = pages[0]?.text.toUpperCase() ?? '';
  // The title: the first lines of the first page, where a document says what it is.
  const title = first
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, 8)
    .join('\n');
  for (const [type, re] of TYPE_PHRASES) if (re.test(title)) return { type, confidence: 0.9 };
  const all = pages.map((p) => p.text.toUpperCase()).join('\n');
  // Elsewhere in the text: the phrase named most often wins, with less confidence.
  let best: { type: DocumentType; n: number } | null = null;
  for (const [type, re] of TYPE_PHRASES) {
    const n = all.match(new RegExp(re.source, 'gm'))?.length ?? 0;
    if (n > 0 && (!best || n > best.n)) best = { type, n };
  }
  return best ? { type: best.type, confidence: 0.6 } : { type: 'other', confidence: 0.3 };
}

// ---------------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------------

interface Found {
  value: string;
  page: number;
  source: string;
  confidence: number;
}

/**
 * The value written after a label: on the label's line (up to the next column), or on the line below
 * when the label stands alone (a box heading). `accept` checks and trims the candidate.
 */
function afterLabel(lines: readonly Line[], label: RegExp, accept: (v: string) => string | null = (v) => v || null): Found | null {
  for (const line of lines) {
    const m = label.exec(line.text);
    if (!m) continue;
    const after = line.text.slice(m.index + m[0].length);
    // A wide gap right after the label: its own box is empty here, the text beyond is another column.
    const rest = /^\s{3,}/.test(after) ? '' : after.replace(/^[\s.:#)\-–]*/, '').trim();
    const inline = rest ? accept(firstColumn(rest)) : null;
    if (inline) return { value: inline, page: line.page, source: line.text.trim(), confidence: 0.9 };
    // Nothing usable after the label on its line: the box's content below it (same column position).
    if (line.next) {
      const col = columnAt(line.next, m.index);
      const below = accept(col);
      if (below) return { value: below, page: line.page, source: `${line.text.trim()} / ${line.next.trim()}`, confidence: 0.75 };
    }
  }
  return null;
}

/** The column of `line` that starts nearest to `position` (text layers keep columns as 3+ spaces). */
function columnAt(line: string, position: number): string {
  const parts: { start: number; text: string }[] = [];
  const re = /\S(?:.*?\S)?(?=\s{3,}|\s*$)/g;
  for (const m of line.matchAll(re)) parts.push({ start: m.index, text: m[0] });
  if (parts.length <= 1) return line.trim();
  let best = parts[0]!;
  for (const p of parts) if (Math.abs(p.start - position) < Math.abs(best.start - position)) best = p;
  return best.text.trim();
}

const TOKEN = (v: string) => /^[A-Z0-9][A-Z0-9/-]{3,30}/i.exec(v)?.[0]?.toUpperCase() ?? null;
const PHRASE = (v: string) => {
  const s = v.replace(/\s+/g, ' ').trim();
  return s.length >= 2 && /[A-Za-z]/.test(s) ? s.slice(0, 200) : null;
};

/** 1,23,456.50 / 12,345.50 / 12345 -> number (commas as thousands separators). */
export function parseNumber(s: string): number | null {
  const m = /\d[\d,]*(?:\.\d+)?/.exec(s);
  if (!m) return null;
  const n = Number(m[0].replace(/,/g, ''));
  return Number.isFinite(n) ? n : null;
}

/** Where a value sits: the first line whose text (without spaces) contains it. */
function locate(lines: readonly Line[], value: string): { page: number; source: string } | null {
  const flat = value.replace(/[\s-]/g, '').toUpperCase();
  for (const l of lines) if (l.text.replace(/[\s-]/g, '').toUpperCase().includes(flat)) return { page: l.page, source: l.text.trim() };
  return null;
}

const field = (f: Found, value: FieldValue = f.value, extra: Partial<DocumentField> = {}): DocumentField => ({
  value,
  page: f.page,
  source: f.source.slice(0, 300),
  confidence: f.confidence,
  origin: 'rules',
  ...extra,
});

const CURRENCIES = ['USD', 'EUR', 'INR', 'GBP', 'AED', 'CNY', 'JPY', 'SGD', 'HKD', 'AUD', 'CAD', 'CHF', 'SAR'] as const;
const CURRENCY_SYMBOLS: Record<string, string> = { $: 'USD', '€': 'EUR', '₹': 'INR', '£': 'GBP' };
const CURRENCY_RE = new RegExp(`\\b(${CURRENCIES.join('|')})\\b|([$€₹£])`);

const UNITS_TO_KG: Record<string, number> = { KG: 1, KGS: 1, KGM: 1, KILOS: 1, MT: 1000, TONNES: 1000, TONS: 1000, LB: 0.45359237, LBS: 0.45359237 };
const WEIGHT_RE = /(\d[\d,]*(?:\.\d+)?)\s*(KGS?|KGM|KILOS|MT|TONNES|TONS|LBS?)\b/i;

/** The fields of a document by rules, each with where it was read. */
export function extractFields(pages: readonly PageText[], reference: Date): DocumentFields {
  const lines = linesOf(pages);
  const fields: DocumentFields = {};
  const set = (name: FieldName, value: DocumentField | null | undefined) => {
    if (value) fields[name] = value;
  };

  // Freight identifiers: lib/logistics only (containers by check digit, B/Ls and bookings by label).
  const containers: string[] = [];
  const bls: string[] = [];
  const bookings: string[] = [];
  for (const p of pages) {
    const ids = extractIdentifiers(p.text);
    for (const c of ids.containers) if (!containers.includes(c)) containers.push(c);
    for (const b of ids.bls) if (!bls.includes(b)) bls.push(b);
    for (const b of ids.bookings) if (!bookings.includes(b)) bookings.push(b);
  }
  if (containers.length) {
    const at = locate(lines, containers[0]!);
    set('containerNumbers', at && { value: containers, page: at.page, source: at.source, confidence: 0.95, origin: 'rules' });
  }
  if (bls[0]) {
    const at = locate(lines, bls[0]);
    set('blNumber', at && { value: bls[0], page: at.page, source: at.source, confidence: 0.9, origin: 'rules' });
  }
  if (bookings[0]) {
    const at = locate(lines, bookings[0]);
    set('bookingNumber', at && { value: bookings[0], page: at.page, source: at.source, confidence: 0.9, origin: 'rules' });
  }

  const seals = new Set<string>();
  let sealAt: Found | null = null;
  for (const l of lines) {
    for (const m of l.text.matchAll(/\bSEAL\s*(?:NO\.?|NOS\.?|NUMBERS?|#)?\s*[:#-]?\s*([A-Z0-9]{5,15}(?:\s*[,/]\s*[A-Z0-9]{5,15})*)/gi)) {
      for (const s of m[1]!.split(/\s*[,/]\s*/)) if (/\d/.test(s)) seals.add(s.toUpperCase());
      sealAt ??= { value: '', page: l.page, source: l.text.trim(), confidence: 0.85 };
    }
  }
  if (sealAt && seals.size) set('sealNumbers', field(sealAt, [...seals]));

  // Vessel and voyage: "Vessel / Voyage: MSC ANNA / 412W", or each on its own label.
  const vesselVoyage = afterLabel(lines, /\b(?:OCEAN\s+)?VESSEL\s*(?:NAME\s*)?\/\s*VOY(?:AGE)?\.?(?:\s*NO\.?)?/i, PHRASE);
  if (vesselVoyage) {
    const [vessel, voyage] = vesselVoyage.value.split(/\s*\/\s*|\s+V\.?\s*(?=\d)|\s+VOY\.?\s*/i);
    if (vessel) set('vessel', field(vesselVoyage, vessel.trim()));
    if (voyage) set('voyage', field(vesselVoyage, voyage.trim().toUpperCase()));
  }
  if (!fields.vessel) set('vessel', ((f) => f && field(f))(afterLabel(lines, /\b(?:OCEAN\s+|MOTHER\s+|FEEDER\s+)?VESSEL(?:\s+NAME)?\b(?!\s*\/)/i, PHRASE)));
  if (!fields.voyage) set('voyage', ((f) => f && field(f))(afterLabel(lines, /\bVOY(?:AGE)?\.?(?:\s*(?:NO\.?|NUMBER))?(?=[\s:.#]|$)/i, TOKEN)));

  // Ports: the text as written, and its UN/LOCODE when recognisable.
  const port = (label: RegExp) => {
    const f = afterLabel(lines, label, PHRASE);
    if (!f) return null;
    const code = /\b([A-Z]{2}[A-Z2-9]{3})\b/.exec(f.value.replace(/[()]/g, ' '))?.[1];
    return field(f, f.value, { code: findPorts(f.value)[0] ?? (code && findPorts(code)[0]) ?? null });
  };
  set('portOfLoading', port(/\bPORT\s+OF\s+LOADING\b|\bPOL\b/i));
  set('portOfDischarge', port(/\bPORT\s+OF\s+DISCHARGE\b|\bPOD\b/i));

  // Parties: the first line of the shipper's and consignee's box.
  set('shipper', ((f) => f && field(f))(afterLabel(lines, /^\s*(?:SHIPPER|EXPORTER|CONSIGNOR)\b(?:\s*\/\s*EXPORTER)?(?:\s*\([^)]*\))?/i, PHRASE)));
  set('consignee', ((f) => f && field(f))(afterLabel(lines, /^\s*CONSIGNEE\b(?:\s*\([^)]*\))?/i, PHRASE)));

  // Invoice number and date.
  set('invoiceNumber', ((f) => f && field(f))(afterLabel(lines, /\bINVOICE\s*(?:NO\.?|NUMBER|#)/i, TOKEN)));
  const dated = afterLabel(lines, /\b(?:INVOICE\s+DATE|DATE\s+OF\s+INVOICE|DATED)\b/i, (v) => findDates(v, reference)[0] ?? null);
  set('invoiceDate', dated && field(dated));

  // Total and currency: the amount on the last "total" line (not a total of packages or weight).
  let total: { found: Found; amount: number; currency: string | null } | null = null;
  for (const l of lines) {
    if (!/\b(?:GRAND\s+)?TOTAL\b/i.test(l.text) || /\bTOTAL\s+(?:PACKAGES|PKGS|CARTONS|GROSS|NET|WEIGHT|QTY|QUANTITY|CBM|VOLUME)\b/i.test(l.text)) continue;
    const amounts = [...l.text.matchAll(/\d{1,3}(?:,\d{2,3})+(?:\.\d{1,2})?|\d+\.\d{2}\b|\b\d{2,}\b/g)];
    const last = amounts[amounts.length - 1];
    if (!last) continue;
    const amount = parseNumber(last[0]);
    if (amount === null) continue;
    const c = CURRENCY_RE.exec(l.text);
    total = {
      found: { value: last[0], page: l.page, source: l.text.trim(), confidence: 0.85 },
      amount,
      currency: c ? (c[1] ?? CURRENCY_SYMBOLS[c[2]!]!) : null,
    };
  }
  if (total) set('totalAmount', field(total.found, total.amount));
  const currencyLabel = afterLabel(lines, /\bCURRENCY\b/i, (v) => CURRENCY_RE.exec(v)?.[1] ?? null);
  if (total?.currency) set('currency', field(total.found, total.currency));
  else if (currencyLabel) set('currency', field(currencyLabel));

  // Incoterm: labelled, else one written in a trade context anywhere.
  const termLabel = afterLabel(
    lines,
    /\b(?:INCO\s*-?TERMS?(?:\s*2020)?|TERMS\s+OF\s+(?:DELIVERY|SALE)|DELIVERY\s+TERMS)\b/i,
    (v) => findIncoterms(`Terms: ${v}`)[0] ?? null,
  );
  if (termLabel) set('incoterm', field(termLabel));
  else {
    for (const p of pages) {
      const term = findIncoterms(p.text)[0];
      const at =
        term &&
        locate(
          lines.filter((l) => l.page === p.page),
          term,
        );
      if (term && at) {
        set('incoterm', { value: term, page: at.page, source: at.source, confidence: 0.7, origin: 'rules' });
        break;
      }
    }
  }

  const hs: string[] = [];
  for (const p of pages) for (const c of findHsCodes(p.text)) if (!hs.includes(c)) hs.push(c);
  // A table with an HS column: the codes in the rows under its header.
  for (let i = 0; i < lines.length; i++) {
    const header = /\bHS\s*(?:CODE|N)?\b/i.exec(lines[i]!.text);
    if (!header || !/\s{3,}/.test(lines[i]!.text)) continue;
    for (let j = i + 1; j < lines.length && lines[j]!.page === lines[i]!.page; j++) {
      const cell = columnAt(lines[j]!.text, header.index);
      if (!/^\d{4}(?:[. ]?\d{2}){1,3}$/.test(cell)) continue;
      const code = cell.replace(/[. ]/g, '');
      if (!hs.includes(code)) hs.push(code);
    }
  }
  if (hs.length) {
    const at = locate(lines, hs[0]!) ?? locate(lines, `${hs[0]!.slice(0, 4)}.${hs[0]!.slice(4, 6)}`);
    set('hsCodes', { value: hs, page: at?.page ?? null, source: at?.source ?? null, confidence: 0.8, origin: 'rules' });
  }

  // Package count: labelled, else "120 CARTONS".
  const pkgLabel = afterLabel(lines, /\b(?:NO\.?\s*OF\s*(?:PACKAGES|PKGS|CARTONS)|TOTAL\s+(?:PACKAGES|PKGS|CARTONS)|PACKAGES)\b/i, (v) => {
    const n = /^\d[\d,]*/.exec(v)?.[0];
    return n ? n.replace(/,/g, '') : null;
  });
  if (pkgLabel) set('packageCount', field(pkgLabel, Number(pkgLabel.value)));
  else {
    for (const l of lines) {
      const m = /\b(\d[\d,]{0,8})\s*(?:PACKAGES|PKGS|CARTONS|CTNS|PALLETS|BALES|BAGS|DRUMS|CASES|CRATES)\b/i.exec(l.text);
      if (m) {
        set('packageCount', { value: Number(m[1]!.replace(/,/g, '')), page: l.page, source: l.text.trim(), confidence: 0.7, origin: 'rules' });
        break;
      }
    }
  }

  // Gross weight in kilograms.
  const gross = afterLabel(lines, /\bGROSS\s*(?:WEIGHT|WT\.?)|\bG\.\s?W\.?(?=\s|:)/i, (v) => (WEIGHT_RE.test(v) || /^\d/.test(v) ? v : null));
  if (gross) {
    const m = WEIGHT_RE.exec(gross.value);
    const n = parseNumber(m?.[1] ?? gross.value);
    const factor = m ? UNITS_TO_KG[m[2]!.toUpperCase()]! : 1;
    if (n !== null) set('grossWeightKg', field(gross, Math.round(n * factor * 1000) / 1000));
  }

  const eta = afterLabel(lines, /\bETA\b|\bESTIMATED\s+(?:TIME\s+OF\s+)?ARRIVAL\b|\bEXPECTED\s+ARRIVAL\b/i, (v) => findDates(v, reference)[0] ?? null);
  set('eta', eta && field(eta));
  return fields;
}

/** Type and fields by rules. */
export function readByRules(pages: readonly PageText[], reference: Date): Reading {
  const { type, confidence } = classify(pages);
  return { type, typeConfidence: confidence, fields: extractFields(pages, reference) };
}
