// What the analysers read of a message: the subject without reply/forward prefixes, and the new text
// (no quoted history) without the closing formula and signature block, whose company names,
// addresses and "Thanks & Regards" would otherwise read as content.
import { extractNewText } from '../../email/quoted.js';
import type { AnalysisInput } from './schema.js';

export interface PreparedText {
  /** Subject without "RE:", "FW:", "AW:" prefixes and [tags]. */
  subject: string;
  /** The subject carried a reply prefix: it names the conversation's topic more than this message's. */
  isReply: boolean;
  /** The new text: quoted history removed. */
  newText: string;
  /** The new text up to the closing formula ("Regards", "Thanks & Regards", "Mit freundlichen Grüßen"). */
  content: string;
  /** The quoted history (what the message answers), '>' markers removed; empty when there is none. */
  history: string;
}

const SUBJECT_PREFIX = /^\s*(?:(?:re|fwd?|fw|aw|wg|tr|rv|sv|vs|antw|doorst|odp|pd|r|i|enc)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|\[[^\]]{0,60}\]\s*)/i;

export function cleanSubject(subject: string | null | undefined): string {
  let s = (subject ?? '').replace(/\s+/g, ' ').trim();
  for (let i = 0; i < 10; i++) {
    const next = s.replace(SUBJECT_PREFIX, '');
    if (next === s) break;
    s = next;
  }
  return s.trim();
}

// A line that closes the letter: short, and nothing but a closing formula (optionally followed by a name).
const CLOSING_LINE =
  /^(?:(?:with\s+)?(?:best|kind|warm|warmest|many|kindest|sincere|good)?\s*(?:regards|rgds|brgds|wishes)|b\.?\s*rgds|br|(?:many\s+)?thanks?(?:\s*(?:&|and|n)\s*(?:best\s+)?(?:regards|rgds))?|thank\s+you(?:\s+(?:and|&)\s+(?:best|kind)\s+regards)?|thanks\s+(?:and|&)\s+rgds|tks(?:\s*&\s*rgds)?|thx|cheers|best|sincerely|yours\s+(?:sincerely|faithfully|truly)|respectfully|dhanyavaad|dhanyawad|dhanyavad|shukriya|mit\s+(?:freundlichen|besten|herzlichen)\s+grüßen|mit\s+freundlichen\s+grüssen|(?:viele|beste|liebe|herzliche)\s+grüße|mfg|met\s+vriendelijke\s+groet(?:en)?|cordialement|saludos(?:\s+cordiales)?|cordiali\s+saluti|distinti\s+saluti|atenciosamente)\b(.*)$/iu;
// After the formula only a name or another formula may follow ("Regards, Rakesh", "Mit freundlichen Grüßen / Best regards").
const CLOSING_TAIL = /^[\s,.!:/&-]*(?:(?:\p{Lu}[\p{L}.'-]*|regards|rgds|wishes|grüßen|grüssen|grüße|groet|groeten)[\s,.!:/&-]*){0,5}$/u;
const CLOSING_MAX_LENGTH = 60;

function isClosing(line: string): boolean {
  const t = line.trim();
  if (t.length === 0 || t.length > CLOSING_MAX_LENGTH) return false;
  const m = CLOSING_LINE.exec(t);
  return m !== null && CLOSING_TAIL.test(m[1] ?? '');
}

/** The text above the closing formula; the whole text when there is none or nothing stands above it. */
export function stripClosing(text: string): string {
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    if (!isClosing(lines[i]!)) continue;
    const above = lines.slice(0, i).join('\n').trim();
    if (above) return above;
  }
  return text.trim();
}

export function prepare(input: AnalysisInput): PreparedText {
  const body = (input.body ?? '').replace(/\r\n?/g, '\n');
  const newText = (input.newText ?? '').trim() || extractNewText(body);
  const unquoted = body.replace(/^[ \t]*(?:>[ \t]?)+/gm, '');
  const at = unquoted.indexOf(newText);
  const history = at >= 0 ? `${unquoted.slice(0, at)}\n${unquoted.slice(at + newText.length)}`.trim() : unquoted.trim();
  const isReply = /^\s*(?:\[[^\]]{0,60}\]\s*)?(?:re|aw|sv|vs|antw|odp|r|rv|ynt)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]/i.test(input.subject ?? '');
  return { subject: cleanSubject(input.subject), isReply, newText, content: stripClosing(newText), history: history === newText ? '' : history };
}
