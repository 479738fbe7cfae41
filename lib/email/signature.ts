// Who an outgoing email is from and how it is signed, per mailbox (an email channel's settings):
// - `senderName`: the From display name is the member's name (`person`), the organization's
//   (`organization`) or both (`both`, the default): "Vikram Rao | Seahawk Logistics";
// - `signatures`: which signatures are appended under the new text, before any quoted history:
//   the member's and the organization's (`both`, the default), one of them, or `none`.
// In HTML each signature is wrapped in <div data-banxway-signature="member|organization"> (kept by the
// sanitiser), so a body that already carries one in its new part (a web app that inserted it, a
// resent draft) is not signed twice, while a signature inside quoted history does not count. In text
// the signatures follow the "-- " separator line (RFC 3676, 4.3); a text already holding a signature's
// text above its quoted history is not signed again. mailSender loads what a message needs; the rest are pure.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { ATTRIBUTION_END, quotedHistoryStart } from './quoted.js';

export const SENDER_NAME_MODES = ['person', 'organization', 'both'] as const;
export type SenderNameMode = (typeof SENDER_NAME_MODES)[number];
export const SIGNATURE_MODES = ['both', 'person', 'organization', 'none'] as const;
export type SignatureMode = (typeof SIGNATURE_MODES)[number];

/** A signature as typed: HTML, sanitised before it is stored (sanitizeSignatureHtml). */
export const signatureHtml = z.string().max(20_000);

/** A signature as stored: sanitised HTML (lib/email/html.ts, loaded on demand), null when nothing is left. */
export async function sanitizedSignature(html: string | null): Promise<string | null> {
  if (html === null) return null;
  const { sanitizeSignatureHtml } = await import('./html.js');
  return sanitizeSignatureHtml(html) || null;
}

export function senderNameMode(settings: unknown): SenderNameMode {
  const v = (settings as { senderName?: unknown } | null)?.senderName;
  return SENDER_NAME_MODES.includes(v as SenderNameMode) ? (v as SenderNameMode) : 'both';
}

export function signatureMode(settings: unknown): SignatureMode {
  const v = (settings as { signatures?: unknown } | null)?.signatures;
  return SIGNATURE_MODES.includes(v as SignatureMode) ? (v as SignatureMode) : 'both';
}

/** The From display name; whichever name exists when the other is missing (a message no member wrote). */
export function senderName(mode: SenderNameMode, person: string | null | undefined, organization: string | null | undefined): string | null {
  const p = person?.replace(/\s+/g, ' ').trim() || null;
  const o = organization?.replace(/\s+/g, ' ').trim() || null;
  if (mode === 'person') return p ?? o;
  if (mode === 'organization') return o ?? p;
  return p && o ? `${p} | ${o}` : (p ?? o);
}

export type SignatureKind = 'member' | 'organization';

export interface Signature {
  kind: SignatureKind;
  /** Sanitised HTML. */
  html: string;
  /** Its plain text. */
  text: string;
}

/** Which of the member's and organization's signatures a mailbox appends. */
export function signaturesFor(mode: SignatureMode, member: Signature | null, organization: Signature | null): Signature[] {
  const out: Signature[] = [];
  if (member && (mode === 'both' || mode === 'person')) out.push(member);
  if (organization && (mode === 'both' || mode === 'organization')) out.push(organization);
  return out;
}

export const signatureBlock = (s: Signature) => `<div data-banxway-signature="${s.kind}">${s.html}</div>`;

const stripTags = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&amp;/gi, '&')
    .replace(/\s+/g, ' ')
    .trim();

/**
 * Where quoted history starts in HTML: the first <blockquote>, or the "On …, … wrote:" block right
 * above it (one of the last three <p>/<div> openings before it); the end when there is none.
 */
export function htmlHistoryStart(html: string): number {
  const quote = html.search(/<blockquote\b/i);
  if (quote < 0) return html.length;
  const before = html.slice(0, quote);
  const blocks = [...before.matchAll(/<(?:p|div)\b[^>]*>/gi)].slice(-3);
  for (let i = blocks.length - 1; i >= 0; i--) {
    const at = blocks[i]!.index;
    if (ATTRIBUTION_END.test(stripTags(before.slice(at)))) return at;
  }
  return quote;
}

const collapse = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The bodies with the signatures not yet in their new part appended under it (before quoted history). */
export function withSignatures(body: { html: string | null; text: string }, signatures: Signature[]): { html: string | null; text: string } {
  if (signatures.length === 0) return body;
  let html = body.html;
  if (html !== null) {
    const at = htmlHistoryStart(html);
    const head = html.slice(0, at);
    const missing = signatures.filter((s) => !new RegExp(`data-banxway-signature=["']?${s.kind}\\b`).test(head));
    if (missing.length) html = `${head}${missing.map(signatureBlock).join('')}${html.slice(at)}`;
  }
  let text = body.text.replace(/\r\n?/g, '\n');
  const at = quotedHistoryStart(text);
  const head = text.slice(0, at).replace(/\s+$/, '');
  const missing = signatures.filter((s) => s.text.trim() && !collapse(head).includes(collapse(s.text)));
  if (missing.length) {
    const separator = /^-- $/m.test(head) ? '' : '-- \n';
    const block = `${separator}${missing.map((s) => s.text.trim()).join('\n\n')}`;
    const tail = text.slice(at).replace(/^\s+/, '');
    text = [head, block, tail].filter(Boolean).join('\n\n');
  }
  return { html, text };
}

/**
 * The From name and the signatures of a message the member `authorId` wrote (null: the system), as
 * the mailbox's settings ask (lib/email/signature.ts).
 */
export async function mailSender(
  ctx: Ctx,
  authorId: string | null,
  settings: Record<string, unknown>,
): Promise<{ name: string | null; signatures: Signature[] }> {
  const [org] = await ctx.sql<{ name: string; emailSignatureHtml: string | null }[]>`
    select name, email_signature_html from app.organizations where id = ${ctx.orgId}`;
  const [member] = authorId
    ? await ctx.sql<{ displayName: string; signatureHtml: string | null }[]>`
        select display_name, signature_html from app.members where org_id = ${ctx.orgId} and user_id = ${authorId}`
    : [];
  const mode = signatureMode(settings);
  const wanted = (html: string | null | undefined, kind: Signature['kind']) => (html?.trim() && mode !== 'none' ? { kind, html } : null);
  const member_ = wanted(member?.signatureHtml, 'member');
  const org_ = wanted(org?.emailSignatureHtml, 'organization');
  let signatures: Signature[] = [];
  if (member_ || org_) {
    const { htmlToText } = await import('./html.js');
    const full = (s: { kind: Signature['kind']; html: string } | null) => (s ? { ...s, text: htmlToText(s.html) } : null);
    signatures = signaturesFor(mode, full(member_), full(org_));
  }
  return { name: senderName(senderNameMode(settings), member?.displayName, org?.name), signatures };
}
