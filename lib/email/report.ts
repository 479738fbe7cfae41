// Machine-readable reports: delivery status notifications (RFC 3464 / 6533) and abuse feedback
// reports (ARF, RFC 5965), read from the multipart/report sub-parts as sent.

import { firstHeader, headerValues, parseHeaderBlock, splitHeadBody, type RawHeader } from './headers.js';
import { normalizeMessageId } from './message-id.js';
import { flattenParts, parseMime, partBody, partText, type MimePart } from './mime-lite.js';

export interface BounceInfo {
  /** Message-ID (normalised) of the message that bounced, from the returned headers. */
  originalMessageId?: string;
  /** Lower-cased recipients that failed (or were delayed): Original-Recipient when given, else Final-Recipient. */
  recipients: string[];
  /** Enhanced status code of the first failed recipient, e.g. "5.1.1". */
  status?: string;
  /** Diagnostic-Code of the first failed recipient, without the "smtp;" type. */
  diagnostic?: string;
  /** Action of the first failed recipient: "failed" or "delayed" (absent for non-DSN bounces). */
  action?: string;
  /** True for a permanent failure (5.x.x or action failed); false for a delay (4.x.x or action delayed). */
  permanent?: boolean;
  reportingMta?: string;
}

export interface AbuseReportInfo {
  feedbackType?: string;
  sourceIp?: string;
  originalMailFrom?: string;
  originalRcptTo: string[];
  reportedDomain?: string;
  userAgent?: string;
  /** Message-ID (normalised) of the reported message. */
  originalMessageId?: string;
}

interface DsnRecipient {
  original?: string;
  final?: string;
  action?: string;
  status?: string;
  diagnostic?: string;
}

export interface ReportAnalysis {
  /** report-type of the multipart/report found, lower-cased (null when there is none). */
  reportType: string | null;
  /** Per-recipient blocks of every delivery-status part found. */
  dsnRecipients: DsnRecipient[];
  dsnFound: boolean;
  reportingMta?: string;
  /** Header fields of the returned original (text/rfc822-headers or message/rfc822), if any. */
  originalHeaders: RawHeader[] | null;
  /** The first 64 KiB of that part as text, for originals with broken header blocks. */
  originalText: string | null;
  /** Fields of the message/feedback-report part, if any. */
  feedback: RawHeader[] | null;
}

const DSN_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const HEADER_TYPES = new Set(['text/rfc822-headers', 'message/rfc822-headers', 'message/global-headers']);
const MESSAGE_TYPES = new Set(['message/rfc822', 'message/global']);

function addressOf(field: string | undefined): string | undefined {
  if (!field) return undefined;
  const semi = field.indexOf(';');
  const v = (semi === -1 ? field : field.slice(semi + 1)).trim().replace(/^<|>$/g, '').trim().toLowerCase();
  return v && !/\s/.test(v) ? v : undefined;
}

function splitBlocks(text: string): RawHeader[][] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((b) => parseHeaderBlock(b))
    .filter((b) => b.length > 0);
}

/** Reads the report parts of a raw message. Never throws. */
export function analyseReports(raw: Buffer): ReportAnalysis {
  const result: ReportAnalysis = { reportType: null, dsnRecipients: [], dsnFound: false, originalHeaders: null, originalText: null, feedback: null };
  let parts: MimePart[];
  try {
    parts = flattenParts(parseMime(raw));
  } catch {
    return result;
  }
  const report = parts.find((p) => p.contentType === 'multipart/report');
  if (report) result.reportType = (report.params['report-type'] ?? '').trim().toLowerCase() || null;
  for (const p of parts) {
    if (DSN_TYPES.has(p.contentType)) {
      result.dsnFound = true;
      const blocks = splitBlocks(partText(p));
      const [perMessage, ...perRecipient] = blocks;
      if (perMessage && !firstHeader(perMessage, 'final-recipient') && !firstHeader(perMessage, 'original-recipient')) {
        result.reportingMta ??= addressOf(firstHeader(perMessage, 'reporting-mta'));
      } else if (perMessage) perRecipient.unshift(perMessage);
      for (const b of perRecipient) {
        const original = addressOf(firstHeader(b, 'original-recipient'));
        const final = addressOf(firstHeader(b, 'final-recipient'));
        if (!original && !final) continue;
        const statusRaw = firstHeader(b, 'status');
        const diag = firstHeader(b, 'diagnostic-code');
        result.dsnRecipients.push({
          original,
          final,
          action: firstHeader(b, 'action')?.trim().toLowerCase(),
          status: statusRaw ? (/\d\.\d{1,3}\.\d{1,3}/.exec(statusRaw)?.[0] ?? statusRaw.trim()) : undefined,
          diagnostic: diag
            ? diag
                .replace(/^\s*[a-z0-9-]+\s*;\s*/i, '')
                .replace(/\s+/g, ' ')
                .trim()
            : undefined,
        });
      }
    } else if (!result.originalHeaders && HEADER_TYPES.has(p.contentType)) {
      result.originalText = partText(p).slice(0, 65536);
      result.originalHeaders = parseHeaderBlock(result.originalText);
    } else if (!result.originalHeaders && MESSAGE_TYPES.has(p.contentType)) {
      const body = partBody(p);
      result.originalText = body.subarray(0, 65536).toString('latin1');
      result.originalHeaders = parseHeaderBlock(splitHeadBody(body).head);
    } else if (!result.feedback && p.contentType === 'message/feedback-report') {
      result.feedback = parseHeaderBlock(partText(p).replace(/\r?\n[ \t]*\r?\n/g, '\n'));
    }
  }
  return result;
}

/** Message-ID of the returned original: its header block, else a Message-ID line anywhere in the given texts. */
function originalMessageIdOf(a: ReportAnalysis, ...texts: string[]): string | undefined {
  const fromHeaders = a.originalHeaders ? normalizeMessageId(firstHeader(a.originalHeaders, 'message-id')) : null;
  if (fromHeaders) return fromHeaders;
  for (const t of [a.originalText ?? '', ...texts]) {
    const m = /^[ \t]*Message-ID:[ \t]*(\S[^\r\n]*)/im.exec(t);
    const id = normalizeMessageId(m?.[1]);
    if (id) return id;
  }
  return undefined;
}

export function isSuccessOnlyDsn(a: ReportAnalysis): boolean {
  return a.dsnRecipients.length > 0 && a.dsnRecipients.every((r) => r.action && /^(delivered|relayed|expanded)\b/.test(r.action));
}

/** Builds the bounce details from the report parts, with fallbacks for non-DSN bounces. */
export function buildBounceInfo(a: ReportAnalysis, ctx: { text: string; xFailedRecipients: string[] }): BounceInfo {
  const failing = a.dsnRecipients.filter((r) => !r.action || /^(failed|delayed)\b/.test(r.action));
  const chosen = failing.length ? failing : a.dsnRecipients;
  let recipients = [...new Set(chosen.map((r) => r.original ?? r.final).filter((x): x is string => Boolean(x)))];
  if (!recipients.length) {
    recipients = ctx.xFailedRecipients
      .flatMap((v) => v.split(','))
      .map((v) => v.trim().replace(/^<|>$/g, '').toLowerCase())
      .filter((v) => v.includes('@'));
  }
  if (!recipients.length) {
    // qmail / Postfix prose: "<user@example.com>: host ... said: 550 ..."
    const re = /^\s*<([^<>\s]+@[^<>\s]+)>\s*:/gm;
    for (let m = re.exec(ctx.text); m && recipients.length < 50; m = re.exec(ctx.text)) recipients.push((m[1] ?? '').toLowerCase());
    recipients = [...new Set(recipients)];
  }
  const first = chosen[0];
  const info: BounceInfo = { recipients };
  // Exim and others paste the original headers into the text instead of attaching them.
  const originalMessageId = originalMessageIdOf(a, ctx.text);
  if (originalMessageId) info.originalMessageId = originalMessageId;
  if (first?.status) info.status = first.status;
  if (first?.diagnostic) info.diagnostic = first.diagnostic;
  if (first?.action) info.action = first.action;
  if (first?.status || first?.action) info.permanent = first.status ? first.status.startsWith('5') : first.action === 'failed';
  if (a.reportingMta) info.reportingMta = a.reportingMta;
  return info;
}

export function buildAbuseReportInfo(a: ReportAnalysis): AbuseReportInfo {
  const f = a.feedback ?? [];
  const clean = (v: string | undefined) => v?.trim().replace(/^<|>$/g, '') || undefined;
  const info: AbuseReportInfo = {
    originalRcptTo: headerValues(f, 'original-rcpt-to')
      .map((v) => clean(v)?.toLowerCase())
      .filter((v): v is string => Boolean(v)),
  };
  const set = <K extends keyof AbuseReportInfo>(k: K, v: AbuseReportInfo[K] | undefined) => {
    if (v !== undefined) info[k] = v;
  };
  set('feedbackType', clean(firstHeader(f, 'feedback-type'))?.toLowerCase());
  set('sourceIp', clean(firstHeader(f, 'source-ip')));
  set('originalMailFrom', clean(firstHeader(f, 'original-mail-from'))?.toLowerCase());
  set('reportedDomain', clean(firstHeader(f, 'reported-domain'))?.toLowerCase());
  set('userAgent', clean(firstHeader(f, 'user-agent')));
  set('originalMessageId', originalMessageIdOf(a));
  return info;
}
