// How an email finds its thread: the ids it replies to, then our own thread token (a plus-addressed
// Reply-To or a subject tag, which survive providers that rewrite Message-IDs and clients that strip
// headers), then the normalised subject with the same external counterpart within 14 days.

/** Our thread token for addresses: "t-" and the thread id's 32 hex digits (exact, no lookup ambiguity). */
export function threadTokenFor(threadId: string): string {
  return `t-${threadId.replace(/-/g, '').toLowerCase()}`;
}

/** The plus-addressed Reply-To that carries the token: ops@forwarder.in -> ops+t-1a2b3c4d5e6f@forwarder.in */
export function tokenAddress(mailbox: string, threadId: string): string {
  const at = mailbox.lastIndexOf('@');
  const local = mailbox.slice(0, at).replace(/\+.*$/, '');
  return `${local}+${threadTokenFor(threadId)}${mailbox.slice(at)}`;
}

/** The short subject tag: [#BX-1A2B3C4D5E6F], the id's first 12 hex digits (a prefix, resolved by range). */
export function subjectTag(threadId: string): string {
  return `[#BX-${threadId.replace(/-/g, '').slice(0, 12).toUpperCase()}]`;
}

const ADDRESS_TOKEN = /\+t-([0-9a-f]{32}|[0-9a-f]{12})@/i;
const SUBJECT_TOKEN = /\[#BX-([0-9A-F]{12})\]/i;

/** The hex digits of a token found in an address (32, or 12 in older tokens) or a subject (12), or null. */
export function parseThreadToken(addressOrSubject: string): string | null {
  const m = ADDRESS_TOKEN.exec(addressOrSubject) ?? SUBJECT_TOKEN.exec(addressOrSubject);
  return m ? m[1]!.toLowerCase() : null;
}

/** The uuid range a token covers: one id for 32 digits, a primary-key range scan for a 12-digit prefix. */
export function tokenRange(token: string): [string, string] {
  const pad = (fill: string) => (token + fill.repeat(32)).slice(0, 32);
  const uuid = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return [uuid(pad('0')), uuid(pad('f'))];
}

// Reply and forward prefixes in the languages a forwarder's mail arrives in: English, German (AW, WG),
// French (TR, RE), Spanish/Portuguese (RV, ENC), Scandinavian (SV, VS), Dutch (Antw, Doorst), Italian (R, I),
// Polish (Odp, PD), Turkish (YNT, İLT), Chinese (回复, 转发), with an optional counter "Re[2]:" or "RE(3):".
const PREFIX = /^\s*(?:re|fwd?|fw|aw|wg|tr|rv|sv|vs|antw|doorst|odp|pd|ynt|ilt|r|i|enc|ref|回复|回覆|答复|转发|轉寄)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*/i;
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
