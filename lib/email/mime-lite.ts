// A minimal, bounded MIME walker. mailparser does the real parse; this one is used to read the
// machine parts of multipart/report messages (delivery-status, feedback-report, the returned
// headers) exactly as sent, and as the fallback when mailparser rejects a message. It never throws
// and caps depth and part count.

import { decodeBytes, parseHeaderBlock, parseStructuredHeader, splitHeadBody, firstHeader, type RawHeader } from './headers.js';

export interface MimePart {
  headers: RawHeader[];
  contentType: string;
  params: Record<string, string>;
  disposition: string;
  /** Body as sent (still transfer-encoded); empty for multiparts. Use partBody() for the decoded bytes. */
  encodedBody: Buffer;
  transferEncoding: string;
  children: MimePart[];
}

const MAX_DEPTH = 12;
const MAX_PARTS = 500;

export function parseMime(raw: Buffer, defaultType = 'text/plain'): MimePart {
  const counter = { n: 0 };
  return walk(raw, defaultType, 0, counter);
}

function walk(raw: Buffer, defaultType: string, depth: number, counter: { n: number }): MimePart {
  counter.n++;
  const { head, body } = splitHeadBody(raw);
  const headers = parseHeaderBlock(head);
  const ct = parseStructuredHeader(firstHeader(headers, 'content-type'));
  const contentType = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(ct.value) ? ct.value : defaultType;
  const disposition = parseStructuredHeader(firstHeader(headers, 'content-disposition')).value;
  const transferEncoding = (firstHeader(headers, 'content-transfer-encoding') ?? '').trim().toLowerCase();
  const part: MimePart = { headers, contentType, params: ct.params, disposition, encodedBody: body, transferEncoding, children: [] };
  const boundary = ct.params.boundary;
  if (contentType.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    const childDefault = contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    for (const chunk of splitMultipart(body, boundary)) {
      if (counter.n >= MAX_PARTS) break;
      part.children.push(walk(chunk, childDefault, depth + 1, counter));
    }
    // A multipart whose boundary never appears keeps its body (read as text by the caller).
    if (part.children.length) part.encodedBody = Buffer.alloc(0);
  }
  return part;
}

/** The bodies between boundary delimiter lines; the preamble and epilogue are dropped. Tolerates a missing close delimiter. */
export function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const starts: { at: number; after: number; close: boolean }[] = [];
  let pos = 0;
  while (pos <= body.length) {
    const i = body.indexOf(delim, pos);
    if (i === -1) break;
    const atLineStart = i === 0 || body[i - 1] === 0x0a;
    let j = i + delim.length;
    const close = body[j] === 0x2d && body[j + 1] === 0x2d;
    if (atLineStart) {
      // Rest of the delimiter line (transport padding) up to and including LF.
      const lf = body.indexOf(0x0a, j);
      j = lf === -1 ? body.length : lf + 1;
      starts.push({ at: i, after: j, close });
      if (close) break;
    }
    pos = i + delim.length;
  }
  const parts: Buffer[] = [];
  for (let k = 0; k < starts.length; k++) {
    const cur = starts[k];
    if (!cur || cur.close) break;
    const next = starts[k + 1];
    let end = next ? next.at : body.length;
    // The CRLF before a delimiter belongs to the delimiter.
    if (next) {
      if (body[end - 1] === 0x0a) end--;
      if (body[end - 1] === 0x0d) end--;
    }
    parts.push(body.subarray(cur.after, Math.max(cur.after, end)));
  }
  return parts;
}

export function decodeTransfer(body: Buffer, cte: string): Buffer {
  if (cte === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (cte === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

export function decodeQuotedPrintable(body: Buffer): Buffer {
  const s = body
    .toString('latin1')
    .replace(/[ \t]+(\r?\n)/g, '$1')
    .replace(/=\r?\n/g, '');
  const out = Buffer.alloc(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3d && i + 2 < s.length && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out[n++] = parseInt(s.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[n++] = c & 0xff;
  }
  return out.subarray(0, n);
}

const decoded = new WeakMap<MimePart, Buffer>();

/** Body bytes with the Content-Transfer-Encoding removed (decoded once, on demand). */
export function partBody(part: MimePart): Buffer {
  let b = decoded.get(part);
  if (!b) {
    b = decodeTransfer(part.encodedBody, part.transferEncoding);
    decoded.set(part, b);
  }
  return b;
}

/** Text of a leaf part in its declared charset. */
export function partText(part: MimePart): string {
  return decodeBytes(partBody(part), part.params.charset);
}

/** Depth-first list of all parts (the part itself first). */
export function flattenParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const stack: MimePart[] = [root];
  while (stack.length) {
    const p = stack.pop() as MimePart;
    out.push(p);
    for (let i = p.children.length - 1; i >= 0; i--) stack.push(p.children[i] as MimePart);
  }
  return out;
}
