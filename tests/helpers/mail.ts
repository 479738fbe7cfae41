// Builds raw RFC 5322 messages for tests, the way common clients write them.
import { randomBytes, randomUUID } from 'node:crypto';

export interface MailSpec {
  from: string;
  to?: string;
  cc?: string;
  subject: string;
  body?: string;
  html?: string;
  messageId?: string | null;
  inReplyTo?: string;
  references?: string;
  date?: Date;
  headers?: Record<string, string>;
}

export function mail(spec: MailSpec): string {
  const lines = [
    `From: ${spec.from}`,
    `To: ${spec.to ?? 'ops@seahawk-logistics.in'}`,
    ...(spec.cc ? [`Cc: ${spec.cc}`] : []),
    `Subject: ${spec.subject}`,
    `Date: ${(spec.date ?? new Date()).toUTCString().replace('GMT', '+0000')}`,
    ...(spec.messageId === null ? [] : [`Message-ID: <${spec.messageId ?? `${randomUUID()}@mail.example`}>`]),
    ...(spec.inReplyTo ? [`In-Reply-To: <${spec.inReplyTo}>`] : []),
    ...(spec.references ? [`References: ${spec.references}`] : []),
    ...Object.entries(spec.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    'MIME-Version: 1.0',
  ];
  if (spec.html && !spec.body) {
    lines.push('Content-Type: text/html; charset=utf-8', '', spec.html);
  } else {
    lines.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', spec.body ?? 'Hello');
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Random words (letters and digits) of about `chars` characters: text no compression shrinks. */
export function noise(chars: number, separator = ' '): string {
  const out: string[] = [];
  let length = 0;
  while (length < chars) {
    const word = randomBytes(8)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(0, 3 + (out.length % 8));
    out.push(word);
    length += word.length + separator.length;
  }
  return out.join(separator).slice(0, chars);
}

/** Random CJK characters (three bytes each in UTF-8). */
export function cjkNoise(chars: number): string {
  return Array.from(
    randomBytes(chars * 2)
      .toString('hex')
      .match(/.{4}/g)!
      .slice(0, chars),
    (h) => String.fromCodePoint(0x4e00 + (parseInt(h, 16) % 0x5000)),
  ).join('');
}

/** A header as a sender that follows RFC 5322 writes it: folded at spaces so no line passes 78 characters. */
export function folded(name: string, value: string): string {
  const lines: string[] = [];
  let line = `${name}:`;
  for (const word of value.split(' ')) {
    if (line.length + 1 + word.length > 78 && line.trim() !== `${name}:`) {
      lines.push(line);
      line = '';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\r\n');
}

/**
 * A scanned-documents email as forwarders receive them: a short text part and one large base64 PDF
 * (random bytes, so nothing compresses), as raw CRLF source. For the parser's test and its benchmark.
 */
export function scannedDocumentsEmail(pdfBytes = 15 * 1024 * 1024): { raw: Buffer; pdf: Buffer } {
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(pdfBytes)]);
  const head = [
    'From: Docs Desk <docs@shreeji-exports.example>',
    'To: ops@acmefreight.example',
    'Subject: Scanned shipping documents - HBL ACME/NSA/26/0912',
    'Date: Wed, 25 Nov 2026 10:00:00 +0000',
    'Message-ID: <scan-0912@shreeji-exports.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="B"',
    '',
    '--B',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Please find the scanned BL, invoice and packing list attached.',
    '--B',
    'Content-Type: application/pdf; name="HBL-0912-scan.pdf"',
    'Content-Disposition: attachment; filename="HBL-0912-scan.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    '',
  ].join('\r\n');
  const raw = Buffer.concat([Buffer.from(head), Buffer.from(pdf.toString('base64').replace(/.{76}/g, '$&\r\n')), Buffer.from('\r\n--B--\r\n')]);
  return { raw, pdf };
}
