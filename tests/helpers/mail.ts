// Builds raw RFC 5322 messages for tests, the way common clients write them.
import { randomUUID } from 'node:crypto';

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
