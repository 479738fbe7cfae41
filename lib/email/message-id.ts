// Message-ID normalisation. Stored ids and the ids found in In-Reply-To / References go through the
// same function, so threading can compare them with plain string equality.
//
// Canonical form: no angle brackets, no whitespace, no comments; the part after the last '@'
// lower-cased (it is a domain-like right-hand side that some gateways re-case); the local part kept
// as is (it is case-sensitive and often a base64/hex token). Example:
//   ' <CAF+abc=Q@Mail.Gmail.COM> ' -> 'CAF+abc=Q@mail.gmail.com'

/**
 * An id longer than a header line may be (998 octets, RFC 5322 2.1.1 and RFC 6532 3.4) is unusable, and
 * bounding it in bytes keeps every index over ids (dedupe key, Message-ID, the ids a message is known by)
 * within what an index entry holds.
 */
const MAX_ID_BYTES = 998;
/** References can grow without bound in long threads: keep the root and the most recent ones. */
export const MAX_REFERENCES = 100;

/** Normalises one Message-ID (with or without brackets, comments or folding). Null when nothing usable is left. */
export function normalizeMessageId(input: string | null | undefined): string | null {
  if (typeof input !== 'string') return null;
  let s = input.replace(/\r?\n/g, '');
  const open = s.indexOf('<');
  if (open !== -1) {
    const close = s.indexOf('>', open + 1);
    s = close === -1 ? s.slice(open + 1) : s.slice(open + 1, close);
  } else {
    // Without brackets only a token with an '@' counts ("8787KJ.mail@example.net" yes, "no brackets here" no).
    const tokens = stripComments(s)
      .split(/[\s,]+/)
      .filter(Boolean);
    s = tokens.find((t) => t.includes('@')) ?? '';
  }
  s = s.replace(/[\s<>]+/g, '');
  // Trailing punctuation from prose ("...@example.com.") is not part of an id.
  s = s.replace(/^[,;]+|[,;]+$/g, '');
  if (!s || Buffer.byteLength(s, 'utf8') > MAX_ID_BYTES) return null;
  if (!/[\p{L}\p{N}]/u.test(s)) return null;
  const at = s.lastIndexOf('@');
  if (at !== -1) s = s.slice(0, at + 1) + s.slice(at + 1).toLowerCase();
  return s;
}

function stripComments(s: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && depth > 0) {
      i++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

/**
 * Parses an In-Reply-To / References value (or several of them) into normalised ids, in order,
 * without duplicates. Handles folding, missing or unbalanced brackets, comments, commas and prose
 * around the ids ("Karthik's message of ... <id>"). Bare tokens are taken only when they contain '@'.
 * More than MAX_REFERENCES ids keep the first (thread root) and the last MAX_REFERENCES - 1.
 */
export function parseMessageIdList(header: string | readonly string[] | null | undefined): string[] {
  if (header == null) return [];
  const s = (typeof header === 'string' ? header : header.join(' ')).replace(/\r?\n/g, ' ');
  const found: string[] = [];
  let i = 0;
  let depth = 0;
  let word = '';
  const pushWord = () => {
    if (word.includes('@')) {
      const id = normalizeMessageId(word.replace(/^["'(]+|["')]+$/g, ''));
      if (id) found.push(id);
    }
    word = '';
  };
  while (i < s.length) {
    const c = s[i] as string;
    if (depth > 0) {
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
      i++;
      continue;
    }
    if (c === '(') {
      pushWord();
      depth = 1;
      i++;
      continue;
    }
    if (c === '<') {
      pushWord();
      // An id runs to '>'; an unclosed one stops at the next '<' or whitespace.
      let j = i + 1;
      while (j < s.length && s[j] !== '>' && s[j] !== '<') j++;
      let inner = s.slice(i + 1, j);
      if (s[j] !== '>') {
        const ws = inner.search(/\s/);
        if (ws !== -1) {
          j = i + 1 + ws;
          inner = inner.slice(0, ws);
        }
      }
      const id = normalizeMessageId(`<${inner}>`);
      if (id) found.push(id);
      i = s[j] === '>' ? j + 1 : j;
      continue;
    }
    if (/[\s,;]/.test(c)) {
      pushWord();
      i++;
      continue;
    }
    word += c;
    i++;
  }
  pushWord();
  const unique = [...new Set(found)];
  if (unique.length <= MAX_REFERENCES) return unique;
  return [unique[0] as string, ...unique.slice(unique.length - (MAX_REFERENCES - 1))];
}
