// DLT content templates (India): every commercial SMS must match, word for word, a template its sender
// registered on the operator's DLT portal, and is sent with that template's id. A template's variable
// parts are placeholders, each standing for a bounded run of text:
//
// - `{#var#}`, the classic placeholder: any text of 0 to 30 characters ("The variable's actual value
//   while sending an SMS will be a maximum of 30 characters", https://docs.localmail.io/regulations/
//   everything-to-know-about-dlt-india/frequenty-asked-questions; Kaleyra: "Each variable parameter
//   {#var#} will allow you to enter 0 – 30 characters", http://hexasupport.kaleyra.io/support/solutions/
//   articles/3000107310). Longer values take contiguous placeholders, `{#var#}{#var#}`.
// - the typed tags TRAI's variable-tagging direction brought (templates registered since 14 January
//   2026 must use them: https://www.fast2sms.com/help/?p=16124; the tags and their rules:
//   https://msg91.com/help/dlt-registration-in-india/variable-tagging-on-dlt-sms-templates):
//   `{#numeric#}` digits only; `{#alphanumeric#}` letters and digits (and the spaces of a name or an
//   address), at most 40 characters; `{#url#}` and `{#urlott#}` a link; `{#cbn#}` a call-back number;
//   `{#email#}` an email address. Whatever they do not bound otherwise, they share {#var#}'s 30.
//
// Operators scrub a message against its template at their gateway; matching here first turns that
// silent drop into a 422 the agent can act on.

import type { SmsTemplate } from './common.js';

/** The placeholder forms a registered template may hold, with what each accepts. */
export const DLT_VARIABLES = {
  var: { max: 30, what: 'any text', char: () => true },
  numeric: { max: 30, what: 'digits', char: (c: string) => c >= '0' && c <= '9' },
  alphanumeric: { max: 40, what: 'letters, digits and spaces', char: (c: string) => /^[\p{L}\p{N} ]$/u.test(c) },
  url: { max: 30, what: 'a link (no spaces)', char: (c: string) => /^\S$/u.test(c) },
  urlott: { max: 30, what: 'an app link (no spaces)', char: (c: string) => /^\S$/u.test(c) },
  cbn: { max: 30, what: 'a phone number', char: (c: string) => /^[0-9+\- ]$/.test(c) },
  email: { max: 30, what: 'an email address', char: (c: string) => /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~@-]$/.test(c) },
} as const;

export type DltVariable = keyof typeof DLT_VARIABLES;

const PLACEHOLDER = /\{#([^{}#\s]{1,40})#\}/g;

type Token = { literal: string } | { variable: DltVariable };

/** Line endings as \n and no surrounding whitespace: how a text and a template are compared. */
export function normalizeSmsText(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

/** The template's literal runs and placeholders, in order; the unknown placeholder forms it holds. */
export function parseDltTemplate(body: string): { tokens: Token[]; unknown: string[] } {
  const text = normalizeSmsText(body);
  const tokens: Token[] = [];
  const unknown: string[] = [];
  let at = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > at) tokens.push({ literal: text.slice(at, m.index) });
    const name = m[1]!;
    if (Object.hasOwn(DLT_VARIABLES, name)) tokens.push({ variable: name as DltVariable });
    else {
      unknown.push(m[0]);
      tokens.push({ literal: m[0] });
    }
    at = m.index + m[0].length;
  }
  if (at < text.length) tokens.push({ literal: text.slice(at) });
  return { tokens, unknown };
}

/** The placeholders of a template, in order. */
export function dltVariables(body: string): DltVariable[] {
  return parseDltTemplate(body).tokens.flatMap((t) => ('variable' in t ? [t.variable] : []));
}

/** Why a value cannot stand for a placeholder, or null when it can. */
export function dltValueRefusal(variable: DltVariable, value: string): string | null {
  const rule = DLT_VARIABLES[variable];
  const chars = [...value];
  if (chars.length > rule.max) return `is ${chars.length} characters, more than the ${rule.max} a DLT {#${variable}#} takes`;
  const bad = chars.find((c) => !rule.char(c));
  if (bad !== undefined) return `holds ${JSON.stringify(bad)}: a DLT {#${variable}#} takes ${rule.what}`;
  return null;
}

/**
 * Whether the text is the template with each placeholder filled by a value it accepts. A walk over
 * the positions the text can have reached after each token (no regular expression, so no
 * backtracking blow-up however many placeholders follow each other).
 */
export function matchesDltTemplate(body: string, text: string): boolean {
  const { tokens } = parseDltTemplate(body);
  const chars = [...normalizeSmsText(text)];
  const n = chars.length;
  let reached = new Uint8Array(n + 1);
  reached[0] = 1;
  for (const token of tokens) {
    const next = new Uint8Array(n + 1);
    let any = false;
    if ('literal' in token) {
      const lit = [...token.literal];
      for (let p = 0; p + lit.length <= n; p++) {
        if (!reached[p]) continue;
        if (lit.every((c, i) => chars[p + i] === c)) {
          next[p + lit.length] = 1;
          any = true;
        }
      }
    } else {
      const rule = DLT_VARIABLES[token.variable];
      for (let p = 0; p <= n; p++) {
        if (!reached[p]) continue;
        next[p] = 1;
        any = true;
        for (let len = 1; len <= rule.max && p + len <= n && rule.char(chars[p + len - 1]!); len++) next[p + len] = 1;
      }
    }
    if (!any) return false;
    reached = next;
  }
  return reached[n] === 1;
}

/**
 * The text of a template with its placeholders filled in order: the text, or which parameter
 * (index) a placeholder refuses and why.
 */
export function fillDltTemplate(body: string, parameters: string[]): { text: string } | { index: number; message: string } {
  const { tokens } = parseDltTemplate(body);
  let i = 0;
  let text = '';
  for (const token of tokens) {
    if ('literal' in token) {
      text += token.literal;
      continue;
    }
    const value = parameters[i]!;
    const refusal = dltValueRefusal(token.variable, value);
    if (refusal) return { index: i, message: refusal };
    text += value;
    i++;
  }
  return { text };
}

/** The DLT template an SMS text goes with: the first of the channel's templates whose registered text it matches. */
export function dltTemplateFor(templates: SmsTemplate[], text: string): SmsTemplate | undefined {
  return templates.find((t) => t.body !== undefined && matchesDltTemplate(t.body, text));
}
