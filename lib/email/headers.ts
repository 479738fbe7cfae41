// Small, dependency-free helpers for raw RFC 5322 header blocks. mailparser does the full MIME
// parse; these exist for the parts we want under our own control (Message-ID lists, dates, report
// sub-parts, the fallback when mailparser gives up) and must never throw on junk.

export interface RawHeader {
  /** Lower-cased field name. */
  name: string;
  /** Unfolded value (CRLF + WSP replaced by the WSP), leading whitespace trimmed. Binary-string (latin1) decoded. */
  value: string;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');

/** Splits a raw message (or MIME part) into its header block (latin1 string) and body bytes. */
export function splitHeadBody(raw: Buffer): { head: string; body: Buffer } {
  // A part that starts with an empty line has no headers at all.
  if (raw[0] === 0x0a) return { head: '', body: raw.subarray(1) };
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { head: '', body: raw.subarray(2) };
  const a = raw.indexOf(CRLFCRLF);
  const b = raw.indexOf(LFLF);
  let end = -1;
  let sepLen = 0;
  if (a !== -1 && (b === -1 || a <= b)) {
    end = a;
    sepLen = 4;
  } else if (b !== -1) {
    end = b;
    sepLen = 2;
  }
  if (end === -1) {
    // No blank line: treat it all as headers when it looks like headers, else all as body.
    const text = raw.toString('latin1');
    return /^[!-9;-~]+:/.test(text) ? { head: text, body: Buffer.alloc(0) } : { head: '', body: raw };
  }
  return { head: raw.subarray(0, end).toString('latin1'), body: raw.subarray(end + sepLen) };
}

/** Parses a header block into fields in order. Lines that are neither fields nor continuations are skipped. */
export function parseHeaderBlock(head: string, maxFields = 2000): RawHeader[] {
  const out: RawHeader[] = [];
  const lines = head.split(/\r?\n/);
  let current: { name: string; parts: string[] } | null = null;
  const flush = () => {
    if (current) out.push({ name: current.name, value: current.parts.join('').trim() });
    current = null;
  };
  for (const line of lines) {
    if (out.length >= maxFields) break;
    if (/^[ \t]/.test(line)) {
      if (current) current.parts.push(line);
      continue;
    }
    flush();
    const m = /^([!-9;-~]+?)[ \t]*:(.*)$/s.exec(line);
    if (m && m[1]) current = { name: m[1].toLowerCase(), parts: [m[2] ?? ''] };
  }
  flush();
  return out;
}

export function headerValues(headers: readonly RawHeader[], name: string): string[] {
  const n = name.toLowerCase();
  return headers.filter((h) => h.name === n).map((h) => h.value);
}

export function firstHeader(headers: readonly RawHeader[], name: string): string | undefined {
  const n = name.toLowerCase();
  return headers.find((h) => h.name === n)?.value;
}

/** `type/subtype; a=b; c="d"` -> { value: 'type/subtype', params: { a: 'b', c: 'd' } } (lower-cased names and value). */
export function parseStructuredHeader(input: string | undefined): { value: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  if (!input) return { value: '', params };
  const s = input.replace(/\r?\n[ \t]*/g, ' ');
  const semi = s.indexOf(';');
  const value = (semi === -1 ? s : s.slice(0, semi)).trim().toLowerCase();
  if (semi === -1) return { value, params };
  const re = /;\s*([^\s=;]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^;]*)/g;
  const continuations: Record<string, string[]> = {};
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const rawName = (m[1] ?? '').toLowerCase();
    let v = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[2] ?? '').trim();
    // RFC 2231 continuations (name*0, name*1*) are joined; charset'lang' prefixes dropped.
    const cont = /^(.+?)\*(\d+)\*?$/.exec(rawName);
    if (cont && cont[1]) {
      (continuations[cont[1]] ??= [])[Number(cont[2])] = v;
      continue;
    }
    let name = rawName;
    if (name.endsWith('*')) {
      name = name.slice(0, -1);
      v = decodeRfc2231(v);
    }
    if (!(name in params)) params[name] = v;
  }
  for (const [name, parts] of Object.entries(continuations)) {
    if (!(name in params)) params[name] = decodeRfc2231(parts.filter((p) => p !== undefined).join(''));
  }
  return { value, params };
}

function decodeRfc2231(v: string): string {
  const m = /^([^']*)'[^']*'(.*)$/.exec(v);
  const charset = m ? m[1] || 'utf-8' : 'utf-8';
  const data = m ? (m[2] ?? '') : v;
  if (!/%[0-9a-f]{2}/i.test(data)) return data;
  const bytes = Buffer.from(
    data.replace(/%([0-9a-f]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  );
  return decodeBytes(bytes, charset);
}

/** Decodes bytes in a declared charset, falling back to UTF-8 (with U+FFFD) for unknown labels. */
export function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset || 'utf-8').trim().toLowerCase().replace(/^"|"$/g, '');
  // UTF-7 can smuggle markup; treat like mailparser does (as UTF-8).
  if (/^(utf-?7|unicode-1-1-utf-7|csunicode11utf7)$/.test(label)) return new TextDecoder('utf-8').decode(bytes);
  try {
    return new TextDecoder(label === 'us-ascii' || label === 'ascii' ? 'windows-1252' : label).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/**
 * Decodes RFC 2047 encoded-words (B and Q, any charset TextDecoder knows). Whitespace between
 * adjacent words is dropped, and adjacent words in the same charset are decoded together so a
 * multi-byte character split across two words survives.
 */
export function decodeEncodedWords(s: string): string {
  if (!s.includes('=?')) return s;
  const re = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
  let out = '';
  let last = 0;
  let pending: { charset: string; chunks: Buffer[] } | null = null;
  const flush = () => {
    if (pending) out += decodeBytes(Buffer.concat(pending.chunks), pending.charset);
    pending = null;
  };
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const between = s.slice(last, m.index);
    if (!(pending && /^\s*$/.test(between))) {
      flush();
      out += between;
    }
    const charset = ((m[1] ?? '').split('*')[0] ?? '').toLowerCase() || 'utf-8';
    const enc = (m[2] ?? 'q').toLowerCase();
    const data = m[3] ?? '';
    const bytes =
      enc === 'b'
        ? Buffer.from(data, 'base64')
        : Buffer.from(
            data.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          );
    const p = pending as { charset: string; chunks: Buffer[] } | null;
    if (p && p.charset === charset) p.chunks.push(bytes);
    else {
      flush();
      pending = { charset, chunks: [bytes] };
    }
    last = m.index + m[0].length;
  }
  flush();
  return out + s.slice(last);
}

/**
 * Re-decodes a header value that arrived as raw 8-bit bytes (no encoded-words): valid UTF-8 stays
 * UTF-8, anything else is read as Windows-1252 (a superset of ISO-8859-1 in practice).
 */
export function decodeRawHeaderBytes(binary: string): string {
  const bytes = Buffer.from(binary, 'latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

const TZ_FIX: Record<string, string> = { UT: '+0000', UTC: '+0000', GMT: '+0000', Z: '+0000' };

/**
 * Parses an RFC 5322 date (and the usual deviations: no weekday, two-digit years, named zones,
 * comments, dots instead of colons). Returns null when nothing sensible comes out.
 */
export function parseMailDate(input: string | undefined): Date | null {
  if (!input) return null;
  let s = input
    .replace(/\([^)]*\)/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!s) return null;
  // Date.parse is lenient ("a date +0000" is 2000-01-01): insist on a month and a year first.
  const hasMonth =
    /\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b/i.test(s) || /\d{4}-\d{1,2}-\d{1,2}|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b/.test(s);
  const hasYear = /\b\d{4}\b/.test(s) || /\b[a-z]{3,}\.?\s+\d{2}\b/i.test(s) || /\b\d{1,2}[./-]\d{1,2}[./-]\d{2}\b/.test(s);
  if (!hasMonth || !hasYear) return null;
  const attempt = (v: string): Date | null => {
    const t = Date.parse(v);
    if (Number.isNaN(t)) return null;
    const d = new Date(t);
    const y = d.getUTCFullYear();
    return y >= 1970 && y <= 9999 ? d : null;
  };
  let d = attempt(s);
  if (d) return d;
  // Drop a weekday (possibly misspelled), fix "10.12.00" times, two-digit years and bare zone names.
  s = s.replace(/^[A-Za-z]+,?\s*/, '');
  s = s.replace(/(\d{1,2})\.(\d{2})\.(\d{2})(?=\s|$)/, '$1:$2:$3');
  s = s.replace(/^(\d{1,2} [A-Za-z]{3,}) (\d{2}) /, (_m, dm: string, yy: string) => `${dm} ${Number(yy) < 50 ? 2000 + Number(yy) : 1900 + Number(yy)} `);
  s = s.replace(/\b(UT|UTC|GMT|Z)$/i, (z) => TZ_FIX[z.toUpperCase()] ?? z);
  d = attempt(s);
  if (d) return d;
  // Last resort: without any zone at all, read as UTC.
  const noZone = s.replace(/\s+[+-]\d{4}$|\s+[A-Za-z]{1,5}$/, '');
  return attempt(`${noZone} +0000`);
}

/** The date after the last ';' of a Received header. */
export function dateFromReceived(value: string): Date | null {
  const i = value.lastIndexOf(';');
  return i === -1 ? null : parseMailDate(value.slice(i + 1));
}
