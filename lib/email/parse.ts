// Turns one raw RFC 822 message into the normalised structure the ingest pipeline stores.
//
// Decisions (see the module docs of the helpers for the details):
// - Message-IDs are stored without angle brackets, whitespace and comments, with the part after the
//   last '@' lower-cased (normalizeMessageId). In-Reply-To and References go through the same
//   function, so they compare equal to stored ids with ===. A message's own id is removed from its
//   In-Reply-To/References (broken clients put it there; it would make a thread loop).
// - Addresses are lower-cased (the whole address: mailbox local parts are case-insensitive at every
//   provider we deal with), groups are flattened, entries without an address ("<Undisclosed
//   Recipients>") dropped, duplicates within a field removed. IDN domains come out in Unicode. name
//   is null when the header gave none.
// - date is the Date header; when it is missing or unparseable, the time of the newest (topmost)
//   Received header; else null. dateSource says which.
// - text is the text/plain content; for HTML-only mail it is generated from the HTML. html is the
//   sanitised HTML (null when the message has none); cid: image links are kept.
// - newText strips quoted history conservatively and is never empty when text is not.
// - dedupeKey is the normalised Message-ID; without one, "sha256:" + the hash of a canonical JSON of
//   from, date, subject, text, to/cc and the attachment hashes, so the same message appended
//   twice, or archived as an LF file and read again over IMAP, gets the same key.
// - Classification flags are independent: a bounce usually is an auto-reply too (Auto-Submitted).
// - Errors: parseEmail never throws for a Buffer that holds anything message-like. When mailparser
//   rejects a message, a built-in minimal MIME reader extracts what it can and parseError says why.
//   Non-fatal problems are listed in warnings. EmailParseError is thrown only when nothing usable
//   can be extracted: the input is not a Buffer, is empty/whitespace, or has no header field at all
//   and is binary (over 5% control bytes) — quarantine those.

import { createHash } from 'node:crypto';
import { parseAddressHeader, simpleParser, type Attachment, type ParsedMail } from 'mailparser';
import { generateFilename, sanitizeFilename } from './attachments.js';
import { detectAutoReply } from './auto-reply.js';
import {
  dateFromReceived,
  decodeEncodedWords,
  decodeRawHeaderBytes,
  firstHeader,
  headerValues,
  parseHeaderBlock,
  parseMailDate,
  parseStructuredHeader,
  splitHeadBody,
} from './headers.js';
import { htmlToText, MAX_HTML_LENGTH, MAX_HTML_TO_TEXT_LENGTH, normaliseText, sanitizeEmailHtml } from './html.js';
import { normalizeMessageId, parseMessageIdList } from './message-id.js';
import { flattenParts, parseMime, partBody, partText } from './mime-lite.js';
import { extractNewText, makeSnippet } from './quoted.js';
import {
  analyseReports,
  buildAbuseReportInfo,
  buildBounceInfo,
  isSuccessOnlyDsn,
  type AbuseReportInfo,
  type BounceInfo,
  type ReportAnalysis,
} from './report.js';

export { normalizeMessageId, parseMessageIdList } from './message-id.js';
export { freeMailDomains, isFreeMailDomain } from './free-mail.js';
export { extractNewText, makeSnippet } from './quoted.js';
export { sanitizeEmailHtml, htmlToText } from './html.js';
export { sanitizeFilename } from './attachments.js';
export type { BounceInfo, AbuseReportInfo } from './report.js';

export interface EmailAddress {
  /** Lower-cased address. */
  address: string;
  /** Display name, or null when none was given. */
  name: string | null;
}

export interface ParsedAttachment {
  /** Sanitised file name; generated from the content type when the part had none ("image-1.png"). */
  filename: string;
  contentType: string;
  size: number;
  /** Hex SHA-256 of content. */
  sha256: string;
  content: Buffer;
  /** Content-ID without angle brackets (matches `cid:` URLs in html). */
  contentId?: string;
  /** Shown inside the body (an image referenced by cid: or a related/inline part with a Content-ID). */
  inline: boolean;
}

export interface CalendarInfo {
  /** iTIP method: REQUEST, REPLY, CANCEL ... (upper-case) */
  method: string | null;
  uid: string | null;
  summary: string | null;
  /** DTSTART as written (e.g. "20240411T110000"), with its TZID when given ("Europe/Tallinn:20240411T110000"). */
  start: string | null;
  /** The iCalendar text. */
  ics: string;
}

export interface ParsedEmail {
  /** Normalised Message-ID (no brackets, domain part lower-case), or null when missing/unusable. */
  messageId: string | null;
  inReplyTo: string[];
  references: string[];
  /** Decoded subject, '' when missing. */
  subject: string;
  date: Date | null;
  dateSource: 'header' | 'received' | null;
  from: EmailAddress | null;
  /** Sender header, when present. */
  sender: EmailAddress | null;
  to: EmailAddress[];
  cc: EmailAddress[];
  bcc: EmailAddress[];
  replyTo: EmailAddress[];
  /** Plain text (LF line endings, trimmed). Generated from the HTML for HTML-only mail. */
  text: string;
  /** Sanitised HTML, or null when the message has no HTML. */
  html: string | null;
  /** text without quoted history and mobile footers; never empty when text is not. */
  newText: string;
  /** First ~200 characters of newText, whitespace collapsed. */
  snippet: string;
  attachments: ParsedAttachment[];
  /** Headers of interest (lower-case names, decoded, unfolded; repeated fields joined with "\n"). */
  headers: Record<string, string>;
  isAutoReply: boolean;
  autoReplyReason: string | null;
  /** List-Id present or Precedence: list (informational, see auto-reply.ts). */
  isMailingList: boolean;
  isBounce: boolean;
  bounce: BounceInfo | null;
  isAbuseReport: boolean;
  abuseReport: AbuseReportInfo | null;
  /** The first text/calendar (or application/ics) part, for invites. */
  calendar: CalendarInfo | null;
  dedupeKey: string;
  /** Size of the raw message in bytes. */
  size: number;
  /** Set when the full parser rejected the message and the fallback reader was used. */
  parseError?: string;
  /** Non-fatal problems (truncated HTML, unreadable parts ...). */
  warnings: string[];
}

export interface ParseEmailOptions {
  /** Give up on the full parser after this long and use the fallback reader. Default 60 s. */
  timeoutMs?: number;
}

/** Thrown only when nothing usable can be extracted from the input (see the module comment). */
export class EmailParseError extends Error {
  override readonly name = 'EmailParseError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const HEADERS_OF_INTEREST = [
  'message-id',
  'in-reply-to',
  'references',
  'date',
  'sender',
  'return-path',
  'delivered-to',
  'x-original-to',
  'envelope-to',
  'auto-submitted',
  'x-autoreply',
  'x-autorespond',
  'x-autogenerated',
  'precedence',
  'x-precedence',
  'x-auto-response-suppress',
  'list-id',
  'list-unsubscribe',
  'list-post',
  'x-failed-recipients',
  'thread-index',
  'x-banxway-notification',
  'thread-topic',
  'x-mailer',
  'user-agent',
  'importance',
  'priority',
  'x-priority',
  'content-type',
  'feedback-id',
  'authentication-results',
  'x-spam-flag',
  'x-spam-status',
];
const MAX_HEADER_VALUE = 4000;
const DEFAULT_TIMEOUT_MS = 60_000;
/** The parser's time limit per message on the ingest paths (the poller, quarantine reprocessing). */
export const INGEST_PARSE_TIMEOUT_MS = 30_000;

/** Strings headed for the database: no NUL (PostgreSQL rejects it), no lone surrogates. */
function clean(s: string): string {
  return s.replace(/\u0000/g, '').replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** A raw (binary-string) header value as Unicode: raw 8-bit bytes read as UTF-8 or Windows-1252, encoded-words decoded. */
function decodeHeader(value: string): string {
  return clean(decodeEncodedWords(decodeRawHeaderBytes(value)).replace(/\s+/g, ' ').trim());
}

function parseAddresses(values: readonly string[]): EmailAddress[] {
  const out: EmailAddress[] = [];
  const seen = new Set<string>();
  for (const v of values) {
    let parsed: { address?: string; name: string }[] = [];
    try {
      parsed = parseAddressHeader(decodeRawHeaderBytes(v), { flatten: true }).value;
    } catch {
      parsed = [];
    }
    for (const a of parsed) {
      const address = clean((a.address ?? '').trim().toLowerCase());
      if (!address || /\s/.test(address) || seen.has(address)) continue;
      seen.add(address);
      const name = clean((a.name ?? '').replace(/\s+/g, ' ').trim());
      out.push({ address, name: name && name.toLowerCase() !== address ? name : null });
    }
  }
  return out;
}

interface RawAttachment {
  filename?: string;
  contentType: string;
  content: Buffer;
  /** Content-Transfer-Encoding, lower-case ('' when the part had none). */
  transferEncoding: string;
  contentId?: string;
  disposition?: string;
  related?: boolean;
  method?: string;
}

interface Extracted {
  text: string;
  html: string | null;
  attachments: RawAttachment[];
  subject?: string;
}

async function runMailparser(buf: Buffer, isReport: boolean, timeoutMs: number): Promise<ParsedMail> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`mailparser timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([
      simpleParser(buf, {
        keepCidLinks: true,
        skipHtmlToText: true,
        skipTextToHtml: true,
        keepDeliveryStatus: true,
        // Reports keep the returned message as an attachment instead of merging it into the text.
        ignoreEmbedded: isReport,
        checksumAlgo: false,
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function fromMailparser(mail: ParsedMail): Extracted {
  const attachments: RawAttachment[] = mail.attachments.map((a: Attachment) => {
    const ct = a.headers.get('content-type');
    const method = ct && typeof ct === 'object' && 'params' in ct ? (ct.params as Record<string, string>).method : undefined;
    const cte = a.headers.get('content-transfer-encoding');
    return {
      filename: a.filename,
      contentType: (a.contentType || 'application/octet-stream').toLowerCase(),
      content: a.content,
      transferEncoding: typeof cte === 'string' ? cte.trim().toLowerCase() : '',
      contentId: a.cid ?? (a.contentId ? a.contentId.replace(/^<|>$/g, '') : undefined),
      disposition: a.contentDisposition?.toLowerCase(),
      related: a.related,
      method,
    };
  });
  return {
    text: typeof mail.text === 'string' ? mail.text : '',
    html: typeof mail.html === 'string' && mail.html.trim() ? mail.html : null,
    attachments,
    subject: mail.subject,
  };
}

/**
 * Fallback: the minimal MIME reader. Unnamed text/plain and text/html leaves become text and html,
 * a multipart whose boundary never appears is read as text, every other leaf is an attachment.
 */
function fromFallback(buf: Buffer): Extracted {
  const texts: string[] = [];
  const htmls: string[] = [];
  const attachments: RawAttachment[] = [];
  for (const p of flattenParts(parseMime(buf))) {
    if (p.children.length) continue;
    if (p.contentType.startsWith('multipart/')) {
      if (p.encodedBody.length) texts.push(partText(p));
      continue;
    }
    const cd = parseStructuredHeader(firstHeader(p.headers, 'content-disposition'));
    const rawName = cd.params.filename ?? p.params.name;
    const filename = rawName ? decodeHeader(rawName) : undefined;
    const isAttachment = cd.value === 'attachment' || Boolean(filename);
    if (!isAttachment && p.contentType === 'text/plain') texts.push(partText(p));
    else if (!isAttachment && p.contentType === 'text/html') htmls.push(partText(p));
    else {
      const cid = firstHeader(p.headers, 'content-id');
      attachments.push({
        filename,
        contentType: p.contentType,
        content: partBody(p),
        transferEncoding: (firstHeader(p.headers, 'content-transfer-encoding') ?? '').trim().toLowerCase(),
        contentId: cid ? cid.trim().replace(/^<|>$/g, '') : undefined,
        disposition: cd.value || undefined,
        method: p.params.method,
      });
    }
  }
  return { text: texts.join('\n\n'), html: htmls.length ? htmls.join('\n') : null, attachments };
}

function parseCalendar(ics: string, method: string | undefined): CalendarInfo {
  const unfolded = ics.replace(/\r?\n[ \t]/g, '');
  // Event properties come from the first VEVENT (a VTIMEZONE has DTSTARTs of its own).
  const begin = unfolded.search(/^BEGIN:VEVENT/im);
  const event = begin === -1 ? unfolded : unfolded.slice(begin);
  const prop = (name: string, where = event): string | null => {
    const m = new RegExp(`^${name}((?:;[^:\\r\\n]*)?):(.*)$`, 'im').exec(where);
    if (!m) return null;
    const tzid = /;TZID=([^;:]+)/i.exec(m[1] ?? '')?.[1];
    const v = (m[2] ?? '').trim();
    return name === 'DTSTART' && tzid ? `${tzid}:${v}` : v.replace(/\\([,;\\])/g, '$1').replace(/\\n/gi, '\n');
  };
  return {
    method: (method || prop('METHOD', unfolded) || '').toUpperCase() || null,
    uid: prop('UID'),
    summary: prop('SUMMARY'),
    start: prop('DTSTART'),
    ics,
  };
}

/** More than 5% control bytes (other than tab, CR, LF, FF, VT and ESC) in the first 8 KiB. */
function isBinary(buf: Buffer): boolean {
  const sample = buf.subarray(0, 8192);
  let control = 0;
  for (const b of sample) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x0b && b !== 0x1b) control++;
  return control > Math.max(4, sample.length * 0.05);
}

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

// Mail without a Message-ID is deduplicated by a hash of what it says, taken over a canonical form, so
// the copies of one message that different stores keep hash alike. An archived .eml or mbox (import)
// has LF line endings, maybe an mbox "From " line before it and ">From " escapes in its body, maybe no
// final newline; the IMAP copy has CRLF (IMAP sends every message so). The text is already canonical
// (normaliseText: LF, no trailing blanks, trimmed; the mbox line never reaches it); here ">From " loses
// its escapes and text-transported attachments (anything but base64) have their line endings as IMAP
// sends them, CRLF. The canonical form is the IMAP copy's, so keys already stored from polls stay valid.

/** The text with mbox ">From " escapes undone (an mboxo writer escapes "From ", a reader may leave it). */
function unescapeMboxFrom(text: string): string {
  return text.replace(/^>+(?=From )/gm, '');
}

/** An attachment's hash with its line endings as CRLF, unless its bytes travelled base64-encoded (and so unchanged). */
function canonicalAttachmentHash(raw: RawAttachment, sha256: string): string {
  if (raw.transferEncoding === 'base64') return sha256;
  const bytes = raw.content.toString('latin1');
  const crlf = bytes.replace(/\r?\n/g, '\r\n');
  return crlf === bytes ? sha256 : sha256Hex(Buffer.from(crlf, 'latin1'));
}

/**
 * Parses one raw RFC 822 message. Never throws for message-like input (see EmailParseError and
 * parseError); deterministic for the same bytes.
 */
export async function parseEmail(raw: Buffer, options: ParseEmailOptions = {}): Promise<ParsedEmail> {
  const input: unknown = raw;
  if (!(input instanceof Uint8Array)) throw new EmailParseError('input is not a Buffer');
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length === 0 || !/\S/.test(buf.subarray(0, 65536).toString('latin1'))) throw new EmailParseError('empty message');

  const warnings: string[] = [];
  const { head } = splitHeadBody(buf);
  const top = parseHeaderBlock(head);
  if (top.length === 0 && isBinary(buf)) throw new EmailParseError('no header fields and binary content: not an email message');
  if (top.length === 0) warnings.push('no header fields');

  const topType = parseStructuredHeader(firstHeader(top, 'content-type'));
  const isReportContainer = topType.value === 'multipart/report';

  let extracted: Extracted;
  let parseError: string | undefined;
  try {
    extracted = fromMailparser(await runMailparser(buf, isReportContainer, options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  } catch (err) {
    parseError = err instanceof Error ? err.message : String(err);
    try {
      extracted = fromFallback(buf);
    } catch (fallbackErr) {
      // Should not happen (the fallback reader does not throw); keep the headers at least.
      warnings.push(`fallback reader failed: ${fallbackErr instanceof Error ? fallbackErr.message : String(fallbackErr)}`);
      extracted = { text: '', html: null, attachments: [] };
    }
    if (top.length === 0 && !extracted.text.trim() && !extracted.html && extracted.attachments.length === 0) {
      throw new EmailParseError(`unparseable message: ${parseError}`, { cause: err });
    }
  }

  // Headers.
  const rawSubject = firstHeader(top, 'subject');
  let subject = extracted.subject !== undefined && !extracted.subject.includes('\uFFFD') ? clean(extracted.subject.replace(/\s+/g, ' ').trim()) : '';
  if (!subject && rawSubject) subject = decodeHeader(rawSubject);

  const messageId = normalizeMessageId(firstHeader(top, 'message-id'));
  const notSelf = (id: string) => id !== messageId;
  const inReplyTo = parseMessageIdList(headerValues(top, 'in-reply-to')).filter(notSelf);
  const references = parseMessageIdList(headerValues(top, 'references')).filter(notSelf);

  let date = parseMailDate(decodeRawHeaderBytes(firstHeader(top, 'date') ?? ''));
  let dateSource: ParsedEmail['dateSource'] = date ? 'header' : null;
  if (!date) {
    const received = firstHeader(top, 'received');
    date = received ? dateFromReceived(received) : null;
    dateSource = date ? 'received' : null;
  }

  const from = parseAddresses(headerValues(top, 'from'))[0] ?? null;
  const sender = parseAddresses(headerValues(top, 'sender'))[0] ?? null;
  const to = parseAddresses(headerValues(top, 'to'));
  const cc = parseAddresses(headerValues(top, 'cc'));
  const bcc = parseAddresses(headerValues(top, 'bcc'));
  const replyTo = parseAddresses(headerValues(top, 'reply-to'));

  const headers: Record<string, string> = {};
  for (const name of HEADERS_OF_INTEREST) {
    const values = headerValues(top, name);
    if (values.length) headers[name] = decodeHeader(values.join(name === 'references' ? ' ' : '\n')).slice(0, MAX_HEADER_VALUE);
  }

  // Bodies.
  let html: string | null = null;
  if (extracted.html) {
    if (extracted.html.length > MAX_HTML_LENGTH) warnings.push(`html truncated to ${MAX_HTML_LENGTH} characters before sanitising`);
    html = clean(sanitizeEmailHtml(extracted.html)) || null;
  }
  let text = clean(normaliseText(extracted.text));
  if (!text && extracted.html) {
    if (extracted.html.length > MAX_HTML_TO_TEXT_LENGTH) warnings.push(`text generated from the first ${MAX_HTML_TO_TEXT_LENGTH} characters of html`);
    text = clean(htmlToText(extracted.html));
  }
  let newText = text;
  try {
    newText = extractNewText(text);
  } catch (err) {
    warnings.push(`quote splitting failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const snippet = makeSnippet(newText);

  // Attachments.
  const attachments: ParsedAttachment[] = extracted.attachments.map((a, i) => {
    const contentType = clean(a.contentType);
    const contentId = a.contentId ? clean(a.contentId.trim()) : undefined;
    const referenced = Boolean(contentId && extracted.html?.includes(`cid:${contentId}`));
    const att: ParsedAttachment = {
      filename: sanitizeFilename(a.filename ? clean(a.filename) : null) ?? generateFilename(contentType, i + 1),
      contentType,
      size: a.content.length,
      sha256: sha256Hex(a.content),
      content: a.content,
      inline: referenced || (Boolean(contentId) && (a.related === true || a.disposition === 'inline')),
    };
    if (contentId) att.contentId = contentId;
    return att;
  });

  let calendar: CalendarInfo | null = null;
  const cal = extracted.attachments.find((a) => a.contentType === 'text/calendar' || a.contentType === 'application/ics');
  if (cal) {
    try {
      calendar = parseCalendar(clean(cal.content.toString('utf8')), cal.method);
    } catch {
      warnings.push('calendar part unreadable');
    }
  }

  // Classification.
  const auto = detectAutoReply(top, subject);
  const fromRaw = decodeRawHeaderBytes(headerValues(top, 'from').join(', '));
  const fromDaemon = /\b(mailer-daemon|mail-daemon|mailerdaemon|postmaster)\b/i.test(fromRaw) || /mail delivery (system|subsystem)/i.test(fromRaw);
  const bounceSubject =
    /undeliver|delivery status notification|returned mail|mail delivery failed|delivery failure|failure notice|non-?delivery|not (be )?delivered|could not be delivered|unzustellbar|nicht zugestellt|non remis|non recapitabile|no se pudo entregar|mail system error/i.test(
      subject,
    );
  const xFailedRecipients = headerValues(top, 'x-failed-recipients');
  let isBounce = false;
  let bounce: BounceInfo | null = null;
  let isAbuseReport = false;
  let abuseReport: AbuseReportInfo | null = null;
  let isAutoReply = auto.isAutoReply;
  let autoReplyReason = auto.reason;
  if (isReportContainer || fromDaemon || xFailedRecipients.length || parseError) {
    let reports: ReportAnalysis | null = null;
    try {
      reports = analyseReports(buf);
    } catch (err) {
      warnings.push(`report parts unreadable: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (reports) {
      const reportType = reports.reportType ?? (isReportContainer ? (topType.params['report-type'] ?? '').toLowerCase() : null);
      const dsnReport = reportType === 'delivery-status' || reportType === 'global-delivery-status';
      if (reportType === 'feedback-report' || (reports.feedback && reportType !== null)) {
        isAbuseReport = true;
        abuseReport = buildAbuseReportInfo(reports);
      } else if ((dsnReport || (fromDaemon && reports.dsnFound)) && isSuccessOnlyDsn(reports)) {
        // A positive DSN (delivered/relayed/expanded) is not a bounce, but it is machine mail.
        if (!isAutoReply) {
          isAutoReply = true;
          autoReplyReason = 'delivery-status notification (success)';
        }
      } else if (dsnReport || (fromDaemon && (reports.dsnFound || bounceSubject)) || xFailedRecipients.length) {
        isBounce = true;
        bounce = buildBounceInfo(reports, { text, xFailedRecipients });
      }
    }
  }

  // Dedupe key (see canonicalAttachmentHash for why the hash is over a canonical form).
  const dedupeKey =
    messageId ??
    `sha256:${sha256Hex(
      JSON.stringify({
        v: 1,
        from: from?.address ?? '',
        date: date ? date.toISOString() : '',
        subject,
        text: unescapeMboxFrom(text),
        to: to.map((a) => a.address).sort(),
        cc: cc.map((a) => a.address).sort(),
        attachments: attachments.map((a, i) => canonicalAttachmentHash(extracted.attachments[i]!, a.sha256)).sort(),
      }),
    )}`;

  const result: ParsedEmail = {
    messageId,
    inReplyTo,
    references,
    subject,
    date,
    dateSource,
    from,
    sender,
    to,
    cc,
    bcc,
    replyTo,
    text,
    html,
    newText,
    snippet,
    attachments,
    headers,
    isAutoReply,
    autoReplyReason,
    isMailingList: auto.isMailingList,
    isBounce,
    bounce,
    isAbuseReport,
    abuseReport,
    calendar,
    dedupeKey,
    size: buf.length,
    warnings,
  };
  if (parseError !== undefined) result.parseError = parseError;
  return result;
}
