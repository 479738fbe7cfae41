// What a typed search asks for: words and phrases in websearch syntax (quotes, `or`), exclusions
// (`-word`, `-"a phrase"`), and, when the whole query is one freight reference in any written form
// (`MSKU 123456-5`, `176 1234 5675`, `maeu 123456789`), its canonical forms for the identifiers column.
import { searchForms } from '../logistics/identifiers.js';

export interface ParsedSearch {
  /** The words and phrases to find, in websearch_to_tsquery syntax (exclusions removed). */
  positive: string;
  /** Excluded words or phrases: a row holding any of them, as written or stemmed, is left out. */
  negatives: string[];
  /** Canonical identifiers the query stands for (empty unless the query is one reference). */
  identifiers: string[];
}

// A quoted phrase (closed or running to the end), or a run of non-blanks; either may start with '-'.
const TOKEN_RE = /(-?)"([^"]*)"?|(-?)(\S+)/g;
// One reference written with spaces, dashes or slashes: 6 to 20 letters and digits, at least one digit.
const REFERENCE_RE = /^[A-Za-z0-9][A-Za-z0-9 /-]*$/;

export function parseSearch(input: string): ParsedSearch {
  const positive: string[] = [];
  const negatives: string[] = [];
  for (const m of input.matchAll(TOKEN_RE)) {
    const [, phraseMinus, phrase, wordMinus, word] = m;
    if (phrase !== undefined) {
      if (phraseMinus) {
        if (phrase.trim()) negatives.push(phrase.trim());
      } else if (phrase.trim()) positive.push(`"${phrase.trim()}"`);
    } else if (word !== undefined) {
      if (wordMinus && word.length > 0) negatives.push(word);
      else if (!wordMinus) positive.push(word);
    }
  }
  const text = positive.join(' ');
  return { positive: text, negatives, identifiers: referenceForms(input.trim()) };
}

/** The canonical forms of a query that is one reference, else none. */
export function referenceForms(input: string): string[] {
  if (!REFERENCE_RE.test(input) || !/\d/.test(input)) return [];
  const compact = input.replace(/[\s/-]/g, '');
  if (compact.length < 6 || compact.length > 20) return [];
  return searchForms(input).filter((f) => f.length >= 6);
}
