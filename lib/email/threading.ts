// How an email finds its thread: the ids it replies to, then our own thread token (a plus-addressed
// Reply-To or a subject tag, which survive providers that rewrite Message-IDs and clients that strip
// headers), then the normalised subject with the same external counterpart within 14 days.

/** Our thread token: "t-" and the first 12 hex digits of the thread id (48 bits). */
export function threadTokenFor(threadId: string): string {
  return `t-${threadId.replace(/-/g, '').slice(0, 12).toLowerCase()}`;
}

/** The plus-addressed Reply-To that carries the token: ops@forwarder.in -> ops+t-1a2b3c4d5e6f@forwarder.in */
export function tokenAddress(mailbox: string, threadId: string): string {
  const at = mailbox.lastIndexOf('@');
  const local = mailbox.slice(0, at).replace(/\+.*$/, '');
  return `${local}+${threadTokenFor(threadId)}${mailbox.slice(at)}`;
}

/** The subject tag that carries the token: [#BX-1A2B3C4D5E6F] */
export function subjectTag(threadId: string): string {
  return `[#BX-${threadTokenFor(threadId).slice(2).toUpperCase()}]`;
}

const ADDRESS_TOKEN = /\+t-([0-9a-f]{12})@/i;
const SUBJECT_TOKEN = /\[#BX-([0-9A-F]{12})\]/i;

/** The 12 hex digits of a token found in an address or a subject, or null. */
export function parseThreadToken(addressOrSubject: string): string | null {
  const m = ADDRESS_TOKEN.exec(addressOrSubject) ?? SUBJECT_TOKEN.exec(addressOrSubject);
  return m ? m[1]!.toLowerCase() : null;
}

/** The uuid range that a 12-hex-digit token covers (a primary-key range scan). */
export function tokenRange(token: string): [string, string] {
  const p = `${token.slice(0, 8)}-${token.slice(8, 12)}`;
  return [`${p}-0000-0000-000000000000`, `${p}-ffff-ffff-ffffffffffff`];
}

// Reply and forward prefixes in the languages a forwarder's mail arrives in: English, German (AW, WG),
// French (TR, RE), Spanish/Portuguese (RV, ENC), Scandinavian (SV, VS), Dutch (Antw, Doorst), Italian (R, I),
// Polish (Odp, PD), Turkish (YNT, İLT), Chinese (回复, 转发), with an optional counter "Re[2]:" or "RE(3):".
const PREFIX =
  /^\s*(?:re|fwd?|fw|aw|wg|tr|rv|sv|vs|antw|doorst|odp|pd|ynt|ilt|r|i|enc|ref|回复|回覆|答复|转发|轉寄)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*/i;
const LEADING_TAG = /^\s*\[[^\]]{0,60}\]\s*/;
const ANY_TOKEN_TAG = /\s*\[#BX-[0-9A-F]{12}\]\s*/gi;

/** "RE: [EXTERNAL] Fwd: AW: Booking 2x40HC [#BX-...]" -> "booking 2x40hc" */
export function normalizeSubject(subject: string): string {
  let s = subject.replace(ANY_TOKEN_TAG, ' ');
  for (let i = 0; i < 20; i++) {
    const next = s.replace(PREFIX, '').replace(LEADING_TAG, '');
    if (next === s) break;
    s = next;
  }
  return s.replace(/\s+/g, ' ').trim().toLowerCase();
}
