// Splits the new text of a reply from the quoted history. Conservative by design: it cuts at
// well-known reply/forward separators only, drops '>'-quoted lines and mobile "Sent from" footers,
// and never returns an empty string for a message that has unquoted text.

const ORIGINAL_MESSAGE =
  /^-{2,}\s*(original message|ursprüngliche nachricht|originalnachricht|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht|mensagem original|originalmeddelande|oprindelig meddelelse|opprinnelig melding|alkuperäinen viesti|původní zpráva|oryginalna wiadomość|исходное сообщение)\s*-{2,}\s*$/i;
const FORWARDED =
  /^(-{2,}\s*(forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada)\s*-{2,}|begin forwarded message:|anfang der weitergeleiteten nachricht:|début du message réexpédié :?)\s*$/i;
/** First word of an "On <date>, <who> wrote:" attribution, in the languages we see. */
const ATTRIBUTION_START = /^(on|am|le|el|il|op|em|den|på|w dniu|dne)\s/i;
export const ATTRIBUTION_END =
  /(wrote|writes|schrieb|a écrit|escribió|ha scritto|schreef|escreveu|skrev|napisał|napsal|kirjoitti|написал\(а\)|написал)\s*:\s*$/i;
const HEADER_FROM = /^\*?(from|von|de|da|van|fra|från|od|от)\s*:\*?\s*\S/i;
const HEADER_SENT = /^\*?(sent|date|gesendet|datum|envoyé|enviado|enviado el|inviato|data|verzonden|skickat|sendt|wysłano|odesláno|отправлено)\s*:/i;
const HEADER_TO = /^\*?(to|an|à|a|para|aan|til|till|do|кому|cc)\s*:/i;
const HEADER_SUBJECT = /^\*?(subject|betreff|objet|asunto|oggetto|onderwerp|assunto|emne|ämne|temat|předmět|тема)\s*:/i;
const SINGLE_LINE_HEADER = /^\*?(from|von|de)\s*:.+\s\*?(sent|date|gesendet|envoyé|enviado)\s*:.+\s\*?(to|an|à|para|subject|betreff|objet|asunto)\s*:/i;
const SEPARATOR = /^\s*([_]{8,}|[-=]{8,}|\*{8,})\s*$/;
const QUOTED = /^\s*>/;

const FOOTERS: RegExp[] = [
  /^(get|download) outlook for (android|ios|iphone|ipad|mac|windows)\b/i,
  /^sent from (my )?(iphone|ipad|ipod|android|blackberry|samsung|galaxy|huawei|xiaomi|oneplus|pixel|nokia|motorola|mobile|smartphone|phone|tablet)\b/i,
  /^sent from (mail|yahoo mail|outlook|gmail|aol|zoho mail|protonmail|proton mail|my mobile|my samsung|my galaxy)\b.{0,60}$/i,
  /^sent (with|via) (the )?(gmail|yahoo|outlook|protonmail|proton mail|blackberry|samsung|mobile)\b.{0,60}$/i,
  /^von meinem .{0,40}(iphone|ipad|android|samsung|galaxy|smartphone|handy|mobiltelefon|tablet).{0,30}gesendet\.?$/i,
  /^envoyé de mon (iphone|ipad|android|samsung|mobile|smartphone|téléphone)\b/i,
  /^enviado desde mi (iphone|ipad|android|samsung|móvil|movil|smartphone|celular)\b/i,
  /^inviato da(l mio)? (iphone|ipad|android|samsung|outlook|cellulare|smartphone)\b/i,
  /^verzonden (vanaf|met) (mijn )?(iphone|ipad|android|samsung|outlook)\b/i,
];

function isFooter(line: string): boolean {
  const t = line.trim();
  return t.length > 0 && t.length < 120 && FOOTERS.some((re) => re.test(t));
}

/** Number of lines (1..3) that an "On ... wrote:" attribution starting at i spans, or 0. */
function attributionLength(lines: readonly string[], i: number): number {
  const first = (lines[i] ?? '').trim();
  if (!first) return 0;
  if (ATTRIBUTION_START.test(first)) {
    let joined = '';
    for (let k = 0; k < 3 && i + k < lines.length; k++) {
      const part = (lines[i + k] ?? '').trim();
      if (k > 0 && !part) break;
      joined = joined ? `${joined} ${part}` : part;
      if (joined.length > 400) break;
      if (ATTRIBUTION_END.test(joined)) return /\d/.test(joined) ? k + 1 : 0;
    }
    return 0;
  }
  // "Karthik <k@x.com> wrote:" or "2026-11-24 10:12 GMT+05:30 Karthik <k@x.com>:" directly above a quote.
  if (first.length < 300 && (ATTRIBUTION_END.test(first) || (/@/.test(first) && /:\s*$/.test(first)))) {
    let j = i + 1;
    while (j < lines.length && !(lines[j] ?? '').trim()) j++;
    if (j < lines.length && QUOTED.test(lines[j] ?? '')) return 1;
  }
  return 0;
}

/** True when an Outlook/Gmail-style "From: / Sent: / To: / Subject:" header block starts at line i. */
function isHeaderBlock(lines: readonly string[], i: number): boolean {
  const first = (lines[i] ?? '').trim();
  if (SINGLE_LINE_HEADER.test(first)) return true;
  if (!HEADER_FROM.test(first)) return false;
  let sent = false;
  let to = false;
  let subject = false;
  let seen = 0;
  for (let j = i + 1; j < lines.length && seen < 8; j++) {
    const t = (lines[j] ?? '').trim();
    if (!t) continue;
    seen++;
    if (HEADER_SENT.test(t)) sent = true;
    else if (HEADER_SUBJECT.test(t)) subject = true;
    else if (HEADER_TO.test(t)) to = true;
  }
  // A route line like "From: Nhava Sheva / To: Rotterdam" is not a header block: require a
  // subject line and a sent/date or to line, as every client writes them.
  return subject && (sent || to);
}

function isCutPoint(lines: readonly string[], i: number): boolean {
  const t = (lines[i] ?? '').trim();
  if (!t) return false;
  return ORIGINAL_MESSAGE.test(t) || FORWARDED.test(t) || attributionLength(lines, i) > 0 || isHeaderBlock(lines, i);
}

function tidy(lines: readonly string[]): string {
  const out: string[] = [];
  let blank = 0;
  for (const raw of lines) {
    const line = raw.replace(/[ \t\u00a0]+$/, '');
    if (!line.trim()) {
      blank++;
      continue;
    }
    if (out.length && blank) out.push('');
    blank = 0;
    out.push(line);
  }
  return out.join('\n').trim();
}

/**
 * The new text of a message: everything above the first reply/forward separator ("On ... wrote:",
 * "-----Original Message-----", an Outlook "From:/Sent:/To:/Subject:" block, "Begin forwarded
 * message:"), without '>'-quoted lines and mobile footers ("Get Outlook for Android", "Sent from my
 * iPhone"). Inline replies between quoted blocks are kept. When that leaves nothing (a forward
 * without a note, a bottom-posted reply), the quoted lines and attributions are removed from the
 * whole text instead; when even that is empty, the whole text is returned.
 */
export function extractNewText(text: string): string {
  if (!text) return '';
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let cut = lines.length;
  for (let i = 0; i < lines.length; i++) {
    if (isCutPoint(lines, i)) {
      cut = i;
      break;
    }
  }
  // Pull the cut up over a separator rule and blank lines right above it (Outlook's "_____" line).
  let start = cut;
  while (start > 0 && (!(lines[start - 1] ?? '').trim() || SEPARATOR.test(lines[start - 1] ?? ''))) start--;
  const head = lines.slice(0, start).filter((l) => !QUOTED.test(l) && !isFooter(l));
  const result = tidy(head);
  if (result) return result;

  // Nothing above the history: drop quotes, attributions and footers everywhere and keep the rest.
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const n = attributionLength(lines, i);
    if (n > 0) {
      i += n - 1;
      continue;
    }
    const l = lines[i] ?? '';
    if (QUOTED.test(l) || isFooter(l) || SEPARATOR.test(l) || ORIGINAL_MESSAGE.test(l.trim())) continue;
    kept.push(l);
  }
  return tidy(kept) || text.trim();
}

/**
 * Where the quoted history of a text starts (a reply/forward separator or the first '>'-quoted line,
 * pulled up over the blank lines and separator rule above it); the text's length when it has none.
 * What comes before is the message's new part, where a signature belongs.
 */
export function quotedHistoryStart(text: string): number {
  const lines = text.split('\n');
  let cut = lines.length;
  for (let i = 0; i < lines.length; i++) {
    if (QUOTED.test(lines[i] ?? '') || isCutPoint(lines, i)) {
      cut = i;
      break;
    }
  }
  if (cut === lines.length) return text.length;
  let start = cut;
  while (start > 0 && (!(lines[start - 1] ?? '').trim() || SEPARATOR.test(lines[start - 1] ?? ''))) start--;
  return lines.slice(0, start).reduce((n, l) => n + l.length + 1, 0);
}

/** Whitespace-collapsed preview of at most ~maxLength characters, cut at a word boundary with an ellipsis. */
export function makeSnippet(text: string, maxLength = 200): string {
  const flat = text
    .slice(0, maxLength * 20)
    .replace(/\s+/g, ' ')
    .trim();
  if (flat.length <= maxLength) return flat;
  let cut = flat.slice(0, maxLength);
  const space = cut.lastIndexOf(' ');
  if (space > maxLength * 0.6) cut = cut.slice(0, space);
  return `${cut.replace(/[\s.,;:!?-]+$/, '')}…`;
}
