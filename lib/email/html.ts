// HTML handling for received mail: sanitising for display and converting to plain text.
//
// Sanitised HTML is safe to serve (still serve it sandboxed with a strict CSP as defence in depth):
// - an allow-list of formatting, table and image tags; everything else is dropped (script, style,
//   iframe, object, embed, form and all form controls, base, meta, link, svg, math ...); the text of
//   script/style/title/head/svg/... is dropped too, the text of other unknown tags is kept;
// - no event handlers, no id/class (they could clash with the app's DOM and CSS), no srcset;
// - links may be http(s), mailto or tel and open in a new tab with rel=noopener noreferrer nofollow;
//   no javascript:, vbscript:, data: or protocol-relative URLs;
// - images may be http(s), cid: (inline parts, kept as cid: so the app can map them to stored
//   attachments) or data:image/*;
// - inline style attributes are kept, minus declarations that load resources (url(...) other than
//   cid:), expression(), behavior/-moz-binding and position: fixed/sticky; a style with CSS escapes
//   is dropped whole.

import sanitizeHtml from 'sanitize-html';
import { convert, type FormatCallback, type HtmlToTextOptions } from 'html-to-text';

/**
 * HTML above this many characters is truncated before sanitising (the sanitiser closes open tags).
 * Sanitising costs ~0.4 s per MiB of tag-dense HTML; real mail HTML is rarely above a few hundred KiB
 * (Gmail clips display at 102 KiB).
 */
export const MAX_HTML_LENGTH = 4 * 1024 * 1024;
/** HTML above this many characters is truncated before converting to text. */
export const MAX_HTML_TO_TEXT_LENGTH = 2 * 1024 * 1024;

const EXTRA_TAGS = ['img', 'font', 'center', 'del', 'ins', 'strike', 'big', 'tt', 'nobr', 'label'];
const CELL_ATTRS = ['colspan', 'rowspan', 'nowrap', 'scope', 'headers', 'abbr'];
const TABLE_ATTRS = ['border', 'cellpadding', 'cellspacing', 'summary', 'frame', 'rules'];

const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, ...EXTRA_TAGS],
  allowedAttributes: {
    '*': ['style', 'align', 'valign', 'dir', 'lang', 'title', 'width', 'height', 'bgcolor', 'color'],
    a: ['href', 'name', 'target', 'rel'],
    img: ['src', 'alt', 'border', 'hspace', 'vspace'],
    table: TABLE_ATTRS,
    td: CELL_ATTRS,
    th: CELL_ATTRS,
    col: ['span'],
    colgroup: ['span'],
    font: ['face', 'size'],
    ol: ['start', 'type', 'reversed'],
    ul: ['type'],
    li: ['value', 'type'],
    blockquote: ['cite', 'type'],
    q: ['cite'],
    time: ['datetime'],
    // The stable wrapper of an appended signature (lib/email/signature.ts), kept so a reply finds it.
    div: ['data-banxway-signature'],
  },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowedSchemesByTag: { img: ['http', 'https', 'cid', 'data'] },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite', 'action', 'background', 'longdesc', 'usemap'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nonTextTags: [
    'script',
    'style',
    'textarea',
    'option',
    'noscript',
    'title',
    'head',
    'xml',
    'svg',
    'math',
    'template',
    'iframe',
    'object',
    'embed',
    'applet',
    'noembed',
    'noframes',
    'frameset',
    'select',
  ],
  parseStyleAttributes: false,
  nestingLimit: 300,
  transformTags: {
    '*': (tagName, attribs) => {
      const out: sanitizeHtml.Attributes = {};
      for (const [k, v] of Object.entries(attribs)) {
        if (k === 'style') {
          const style = cleanStyle(v);
          if (style) out.style = style;
        } else out[k] = v;
      }
      if (tagName === 'a') {
        out.target = '_blank';
        out.rel = 'noopener noreferrer nofollow';
      }
      // Relative URLs would resolve against the app's own origin: only absolute allowed schemes and #anchors.
      if (out.href !== undefined && !/^\s*(https?:|mailto:|tel:|#)/i.test(out.href)) delete out.href;
      if (out.src !== undefined && !/^\s*(https?:|cid:|data:image\/(png|gif|jpe?g|webp|bmp);)/i.test(out.src)) delete out.src;
      return { tagName, attribs: out };
    },
  },
};

function cleanStyle(style: string): string | undefined {
  const s = style.replace(/\/\*[\s\S]*?\*\//g, '');
  if (s.includes('\\') || /[<>]/.test(s)) return undefined;
  const kept = s
    .split(';')
    .map((d) => d.trim())
    .filter((d) => {
      const colon = d.indexOf(':');
      if (colon <= 0) return false;
      const prop = d.slice(0, colon).trim().toLowerCase();
      const value = d
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (!/^-?[a-z][a-z-]*$/.test(prop)) return false;
      if (prop === 'behavior' || prop === '-moz-binding') return false;
      if (/expression\s*\(|javascript:|vbscript:|@import|-moz-binding/.test(value)) return false;
      const urls = value.match(/url\s*\(/g)?.length ?? 0;
      if (urls > 0 && urls !== (value.match(/url\s*\(\s*['"]?\s*cid:/g)?.length ?? 0)) return false;
      if (prop === 'position' && /fixed|sticky/.test(value)) return false;
      return true;
    });
  return kept.length ? kept.join('; ') : undefined;
}

/** Sanitises received HTML for display. Never throws (returns '' if the sanitiser fails). */
export function sanitizeEmailHtml(html: string): string {
  const input = html.length > MAX_HTML_LENGTH ? html.slice(0, MAX_HTML_LENGTH) : html;
  try {
    return sanitizeHtml(input, SANITIZE_OPTIONS).trim();
  } catch {
    return '';
  }
}

/**
 * Sanitises a signature (a member's or the organization's) as received mail is, and stricter: images
 * only over https (a hosted logo; no data: or cid: images, which a signature cannot carry as parts and
 * most clients block), and no signature wrapper of its own. Empty when nothing is left.
 */
export function sanitizeSignatureHtml(html: string): string {
  const input = html.length > MAX_HTML_LENGTH ? html.slice(0, MAX_HTML_LENGTH) : html;
  const mail = SANITIZE_OPTIONS.transformTags!['*'] as sanitizeHtml.Transformer;
  try {
    return sanitizeHtml(input, {
      ...SANITIZE_OPTIONS,
      allowedAttributes: { ...SANITIZE_OPTIONS.allowedAttributes, div: [] },
      allowedSchemesByTag: { img: ['https'] },
      transformTags: {
        '*': (tagName, attribs) => {
          const out = typeof mail === 'function' ? mail(tagName, attribs) : { tagName, attribs };
          if (out.attribs.src !== undefined && !/^\s*https:/i.test(out.attribs.src)) delete out.attribs.src;
          return out;
        },
      },
      exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
    }).trim();
  } catch {
    return '';
  }
}

/** Table cells render inline, separated by a space; rows and tables are lines of their own. */
const emailCell: FormatCallback = (elem, walk, builder) => {
  walk(elem.children, builder);
  builder.addInline(' ', { noWordTransform: true });
};

const HTML_TO_TEXT_OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  preserveNewlines: false,
  limits: { maxDepth: 400, maxInputLength: MAX_HTML_TO_TEXT_LENGTH + 1 },
  formatters: { emailCell },
  selectors: [
    { selector: 'img', format: 'skip' },
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'h4', options: { uppercase: false } },
    { selector: 'h5', options: { uppercase: false } },
    { selector: 'h6', options: { uppercase: false } },
    { selector: 'table', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    { selector: 'tr', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    { selector: 'td', format: 'emailCell' },
    { selector: 'th', format: 'emailCell' },
    { selector: 'style', format: 'skip' },
    { selector: 'script', format: 'skip' },
    { selector: 'head', format: 'skip' },
    { selector: 'xml', format: 'skip' },
  ],
};

/**
 * Plain text of an HTML body (links without their URLs, images skipped, <blockquote> lines prefixed
 * with "> " so quoted history is recognisable). Falls back to crude tag stripping if the converter
 * fails; never throws.
 */
export function htmlToText(html: string): string {
  const input = html.length > MAX_HTML_TO_TEXT_LENGTH ? html.slice(0, MAX_HTML_TO_TEXT_LENGTH) : html;
  try {
    return normaliseText(convert(input, HTML_TO_TEXT_OPTIONS));
  } catch {
    return normaliseText(stripTags(input));
  }
}

function stripTags(html: string): string {
  // Linear: drop the content of script/style/head/title blocks with indexOf, then all tags.
  const lower = html.toLowerCase();
  let out = '';
  let pos = 0;
  for (;;) {
    const m = /<(script|style|head|title)\b/g;
    m.lastIndex = pos;
    const hit = m.exec(lower);
    if (!hit) break;
    const end = lower.indexOf(`</${hit[1]}`, hit.index);
    out += html.slice(pos, hit.index);
    if (end === -1) {
      pos = html.length;
      break;
    }
    const close = lower.indexOf('>', end);
    pos = close === -1 ? html.length : close + 1;
  }
  out += html.slice(pos);
  return out
    .replace(/<br\s*\/?>|<\/(p|div|tr|li|h[1-6])\s*>/gi, '\n')
    .replace(/<[^<>]{0,4000}>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#39;|&apos;/gi, "'")
    .replace(/&amp;/gi, '&');
}

/** LF line endings, no trailing spaces, at most two consecutive blank lines, trimmed. */
export function normaliseText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t\u00a0]+$/gm, '')
    .replace(/\n{4,}/g, '\n\n\n')
    .trim();
}
