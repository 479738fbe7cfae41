// Builds an outbound email from a message row: addresses, the reply subject, our own Message-ID, the
// threading headers (In-Reply-To, References) and the thread token; and renders it as RFC 5322 bytes
// (nodemailer's MailComposer) for the local .eml sink. Pure functions: no database, no network.
import { createHash } from 'node:crypto';
import { encodeWord, quoteString } from 'nodemailer/lib/mime-funcs';
import { normalizeMessageId } from './message-id.js';
import { parseThreadToken, subjectTag, threadTokenFor, tokenAddress } from './threading.js';

// The token helpers live with inbound threading (lib/email/threading.ts), so both directions agree.
export { parseThreadToken, subjectTag, threadTokenFor, tokenAddress };

export interface Address {
  address: string;
  name?: string | null;
}

/** Where a mailbox puts the thread token: `settings.threadToken` of an email channel. */
export const THREAD_TOKEN_MODES = ['reply_to', 'subject', 'both', 'none'] as const;
export type ThreadTokenMode = (typeof THREAD_TOKEN_MODES)[number];

export function threadTokenMode(settings: unknown): ThreadTokenMode {
  const value = (settings as { threadToken?: unknown } | null)?.threadToken;
  return THREAD_TOKEN_MODES.includes(value as ThreadTokenMode) ? (value as ThreadTokenMode) : 'reply_to';
}

/** References grow with every reply; keep the thread's root and the most recent ones (as mail clients do). */
export const MAX_REFERENCES = 20;

export interface ComposedAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  /** Content-ID without brackets, for an inline image referenced as cid: in the HTML. */
  contentId?: string | null;
}

export interface ComposedEmail {
  from: Address;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  replyTo: string | null;
  subject: string;
  text: string | null;
  html: string | null;
  /** Our Message-ID, normalised (no brackets): what we store and what replies will quote. */
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  attachments: ComposedAttachment[];
  /** Provider tags (Resend: ASCII letters, digits, _ and - only). */
  tags: { name: string; value: string }[];
  date?: Date;
  /** Further headers (the app's own mail: List-Unsubscribe, Auto-Submitted, X-Banxway-Notification). */
  headers?: Record<string, string>;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/**
 * Our Message-ID for a message row: a UUID derived from the row id (version 8, RFC 9562) at the
 * sending domain. Derived, not random, so that a retry after a rolled-back attempt sends the very same
 * bytes, which the provider's idempotency key then recognises as the same request.
 */
export function messageIdFor(messageRowId: string, sendingAddress: string): string {
  const h = createHash('sha256').update(`banxway:message-id:${messageRowId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  return `${uuid}@${domainOf(sendingAddress)}`;
}

/** `<id>` for a header from a stored (normalised) id. */
export const bracketed = (id: string) => `<${id}>`;

const REPLY_PREFIX = /^\s*(?:re|aw|sv|antw|odp|ynt|r)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]/i;

/** "Re: <subject>" for a reply, without stacking: "Re: Booking" stays "Re: Booking", "RE: x" stays. */
export function replySubject(subject: string): string {
  const s = subject.trim() || '(no subject)';
  return REPLY_PREFIX.test(s) ? s : `Re: ${s}`;
}

/** The subject with our thread tag appended once: "Booking [#BX-1A2B3C4D5E6F]". */
export function withSubjectTag(subject: string, threadId: string): string {
  const token = threadId.replace(/-/g, '').slice(0, 12).toLowerCase();
  if (parseThreadToken(subject) === token) return subject;
  return `${subject} ${subjectTag(threadId)}`;
}

/**
 * References for a reply to `parent`: the parent's own References (or its In-Reply-To when it had
 * none), then the parent; the thread's root first when the chain lost it. Normalised, without
 * duplicates or our own id, capped at MAX_REFERENCES keeping the root and the most recent.
 */
export function referencesFor(
  parent: { id: string; references?: readonly string[] | null; inReplyTo?: string | null } | null,
  rootId: string | null,
  ownId: string | null = null,
): string[] {
  if (!parent) return [];
  const chain = parent.references?.length ? [...parent.references] : parent.inReplyTo ? [parent.inReplyTo] : [];
  const ids = [rootId, ...chain, parent.id].map((id) => normalizeMessageId(id)).filter((id): id is string => id !== null && id !== ownId);
  const unique = [...new Set(ids)];
  if (unique.length <= MAX_REFERENCES) return unique;
  return [unique[0]!, ...unique.slice(unique.length - (MAX_REFERENCES - 1))];
}

/**
 * `"Name" <address>` or the bare address, as a header carries it (Resend takes the header form): an
 * ASCII name as an RFC 5322 quoted string, any other in RFC 2047 encoded words, both made by
 * nodemailer's own MIME functions (the ones its MailComposer uses for the .eml sink).
 */
export function formatAddress(a: Address): string {
  const name = a.name?.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  if (!name) return a.address;
  return `${/^[\x20-\x7e]*$/.test(name) ? quoteString(name) : encodeWord(name, 'Q', 52)} <${a.address}>`;
}

export interface ComposeInput {
  /** The message row id (idempotency, tags, the derived Message-ID). */
  messageRowId: string;
  orgId: string;
  threadId: string;
  /** The mailbox's sending address (From and the Message-ID's domain). */
  mailbox: string;
  fromName?: string | null;
  to: Address[];
  cc?: Address[];
  bcc?: Address[];
  /** An explicit Reply-To; the mailbox address when null. */
  replyTo?: string | null;
  subject: string;
  text?: string | null;
  html?: string | null;
  /** A Message-ID already stored on the row (kept as is); derived from the row id otherwise. */
  messageId?: string | null;
  /** The message this one answers, and the thread's first message. Null for a new conversation. */
  parent?: { id: string; references?: readonly string[] | null; inReplyTo?: string | null } | null;
  rootId?: string | null;
  tokenMode?: ThreadTokenMode;
  attachments?: ComposedAttachment[];
  /** Further headers (an automated reply's Auto-Submitted: auto-replied, RFC 3834). */
  headers?: Record<string, string>;
}

/** Everything the provider needs, decided once here so the Resend adapter and the .eml sink agree. */
export function composeEmail(input: ComposeInput): ComposedEmail {
  const mode = input.tokenMode ?? 'reply_to';
  const messageId = normalizeMessageId(input.messageId) ?? messageIdFor(input.messageRowId, input.mailbox);
  const parentId = normalizeMessageId(input.parent?.id);
  let subject = input.subject.replace(/[\r\n]+/g, ' ').trim();
  if (parentId) subject = replySubject(subject);
  else if (!subject) subject = '(no subject)';
  if (mode === 'subject' || mode === 'both') subject = withSubjectTag(subject, input.threadId);

  let replyTo = input.replyTo?.trim() || null;
  if (mode === 'reply_to' || mode === 'both') {
    // The token goes on our own mailbox only: an explicit Reply-To elsewhere is left alone.
    const base = replyTo ?? input.mailbox;
    if (domainOf(base) === domainOf(input.mailbox) && parseThreadToken(base) === null) replyTo = tokenAddress(base, input.threadId);
  }

  return {
    from: { address: input.mailbox, name: input.fromName ?? null },
    to: input.to,
    cc: input.cc ?? [],
    bcc: input.bcc ?? [],
    replyTo,
    subject,
    text: input.text ?? null,
    html: input.html ?? null,
    messageId,
    inReplyTo: parentId,
    references: parentId ? referencesFor(input.parent ?? null, input.rootId ?? null, messageId) : [],
    attachments: input.attachments ?? [],
    tags: [
      { name: 'message_id', value: input.messageRowId },
      { name: 'org_id', value: input.orgId },
    ],
    ...(input.headers ? { headers: input.headers } : {}),
  };
}

/** The threading headers as a provider takes them (Resend's `headers`). */
export function threadingHeaders(email: ComposedEmail): Record<string, string> {
  const headers: Record<string, string> = { ...email.headers, 'Message-ID': bracketed(email.messageId) };
  if (email.inReplyTo) headers['In-Reply-To'] = bracketed(email.inReplyTo);
  if (email.references.length) headers.References = email.references.map(bracketed).join(' ');
  return headers;
}

const mailbox = (a: Address) => ({ address: a.address, name: a.name?.replace(/[\x00-\x1f\x7f]+/g, ' ').trim() ?? '' });

/** The message as RFC 5322 bytes (CRLF), as it would leave an SMTP server; Bcc kept for the record. */
export async function toRfc822(email: ComposedEmail): Promise<Buffer> {
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer');
  const node = new MailComposer({
    // Address objects: MailComposer quotes and encodes the names itself.
    from: mailbox(email.from),
    to: email.to.map(mailbox),
    cc: email.cc.length ? email.cc.map(mailbox) : undefined,
    bcc: email.bcc.length ? email.bcc.map(mailbox) : undefined,
    replyTo: email.replyTo ?? undefined,
    subject: email.subject,
    messageId: bracketed(email.messageId),
    inReplyTo: email.inReplyTo ? bracketed(email.inReplyTo) : undefined,
    references: email.references.length ? email.references.map(bracketed) : undefined,
    date: email.date ?? new Date(),
    text: email.text ?? undefined,
    html: email.html ?? undefined,
    attachments: email.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
      ...(a.contentId ? { cid: a.contentId } : {}),
    })),
    headers: { ...Object.fromEntries(email.tags.map((t) => [`X-Banxway-${t.name.replace(/_/g, '-')}`, t.value])), ...email.headers },
    newline: 'win',
    disableFileAccess: true,
    disableUrlAccess: true,
  }).compile();
  node.keepBcc = true;
  return node.build();
}
