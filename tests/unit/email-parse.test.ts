import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scannedDocumentsEmail } from '../helpers/mail.js';
import {
  EmailParseError,
  extractNewText,
  freeMailDomains,
  isFreeMailDomain,
  normalizeMessageId,
  parseEmail,
  parseMessageIdList,
  sanitizeEmailHtml,
  sanitizeFilename,
  type ParsedEmail,
} from '../../lib/email/parse.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/mime/', import.meta.url));
// Real-world messages from mailparser's and postal-mime's suites, kept in the shared folder beside the repo.
const SHARED = fileURLToPath(new URL('../../../shared/fixtures/mime/', import.meta.url));
const sharedPresent = existsSync(SHARED);

const fixture = (name: string) => parseEmail(readFileSync(FIXTURES + name));
/** Builds a raw message from lines (CRLF line endings). */
const eml = (...lines: string[]) => Buffer.from(lines.join('\r\n'));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Invariants every parse result must hold, whatever the input. */
function expectWellFormed(r: ParsedEmail) {
  expect(typeof r.text).toBe('string');
  expect(typeof r.newText).toBe('string');
  if (r.text.trim()) expect(r.newText.trim()).not.toBe('');
  expect(r.snippet.length).toBeLessThanOrEqual(201);
  expect(r.snippet).not.toMatch(/\s{2,}/);
  expect(r.dedupeKey).toBeTruthy();
  for (const s of [r.text, r.html ?? '', r.subject, r.newText]) expect(s.includes('\u0000')).toBe(false);
  for (const a of [...(r.from ? [r.from] : []), ...r.to, ...r.cc, ...r.bcc, ...r.replyTo]) {
    expect(a.address).toBe(a.address.toLowerCase());
    expect(a.address).not.toBe('');
  }
  for (const a of r.attachments) {
    expect(a.size).toBe(a.content.length);
    expect(a.sha256).toBe(sha256(a.content));
    expect(a.filename).not.toMatch(/[\\/:*?"<>|\u0000-\u001f]/);
    expect(a.filename.length).toBeGreaterThan(0);
  }
  if (r.html) expect(r.html).not.toMatch(/<script|\son[a-z]+\s*=|javascript:/i);
}

describe('normalizeMessageId', () => {
  it('strips brackets and whitespace and lower-cases only the domain part', () => {
    expect(normalizeMessageId(' <CAF+abc=Q@Mail.Gmail.COM> ')).toBe('CAF+abc=Q@mail.gmail.com');
    expect(normalizeMessageId('CAF+abc=Q@mail.gmail.com')).toBe('CAF+abc=Q@mail.gmail.com');
    expect(normalizeMessageId('<abc\r\n @example.com>')).toBe('abc@example.com');
    expect(normalizeMessageId('<a@b.example> (sent by robot)')).toBe('a@b.example');
    expect(normalizeMessageId('<1234567890>')).toBe('1234567890');
  });

  it('rejects junk', () => {
    expect(normalizeMessageId('')).toBeNull();
    expect(normalizeMessageId('<>')).toBeNull();
    expect(normalizeMessageId('   ')).toBeNull();
    expect(normalizeMessageId(null)).toBeNull();
    expect(normalizeMessageId(undefined)).toBeNull();
    expect(normalizeMessageId('no brackets here')).toBeNull();
    expect(normalizeMessageId(`<${'x'.repeat(1200)}@example.com>`)).toBeNull();
  });

  it('keeps ids up to 998 bytes (a header line), counted in UTF-8, so every index over ids can hold them', () => {
    const ascii = `${'x'.repeat(986)}@example.com`;
    expect(normalizeMessageId(`<${ascii}>`)).toBe(ascii);
    expect(normalizeMessageId(`<x${ascii}>`)).toBeNull();
    expect(normalizeMessageId(`<${'\u00e9'.repeat(400)}@example.com>`)).toBe(`${'\u00e9'.repeat(400)}@example.com`);
    expect(normalizeMessageId(`<${'\u00e9'.repeat(500)}@example.com>`)).toBeNull();
  });
});

describe('parseMessageIdList', () => {
  it('parses folded lists, commas, missing brackets, comments and prose', () => {
    expect(parseMessageIdList('<a@x.example>\r\n <b@X.Example>\t<c@x.example>')).toEqual(['a@x.example', 'b@x.example', 'c@x.example']);
    expect(parseMessageIdList('a@x.example, <b@x.example>,c@x.example')).toEqual(['a@x.example', 'b@x.example', 'c@x.example']);
    expect(parseMessageIdList(`<a@x.example> (Karthik's message of "Tue, 24 Nov 2026 <not-this@x.example>")`)).toEqual(['a@x.example']);
    expect(parseMessageIdList('Your message of Tue, 24 Nov 2026 10:12:00 +0530 <id-1@mail.example>')).toEqual(['id-1@mail.example']);
    expect(parseMessageIdList('<ok-1@example.com> garbage <unterminated@example.com')).toEqual(['ok-1@example.com', 'unterminated@example.com']);
    expect(parseMessageIdList('<a@x.example> <A@X.EXAMPLE> <a@x.example>')).toEqual(['a@x.example', 'A@x.example']);
    expect(parseMessageIdList(['<a@x.example>', '<b@x.example>'])).toEqual(['a@x.example', 'b@x.example']);
    expect(parseMessageIdList('just some words')).toEqual([]);
    expect(parseMessageIdList(undefined)).toEqual([]);
    expect(parseMessageIdList('<<>> <> ,,,')).toEqual([]);
  });

  it('keeps the thread root and the most recent ids of a very long References header', () => {
    const ids = Array.from({ length: 150 }, (_, i) => `<id-${i}@thread.example>`);
    const parsed = parseMessageIdList(ids.join('\r\n '));
    expect(parsed).toHaveLength(100);
    expect(parsed[0]).toBe('id-0@thread.example');
    expect(parsed[1]).toBe('id-51@thread.example');
    expect(parsed[99]).toBe('id-149@thread.example');
  });

  it('produces ids that compare equal to stored (normalised) Message-IDs', async () => {
    const stored = normalizeMessageId('<20261123101500.7D1E2A0F3B@MAILER.acmefreight.example>');
    const reply = await fixture('outlook-reply-booking.eml');
    expect(reply.inReplyTo).toEqual([stored]);
    expect(reply.references).toContain(stored);
  });
});

describe('free-mail domains', () => {
  it('includes the big consumer providers, Indian ones included', () => {
    for (const d of ['gmail.com', 'yahoo.co.in', 'outlook.com', 'rediffmail.com', 'hotmail.com', 'yahoo.com', 'icloud.com']) {
      expect(freeMailDomains.has(d), d).toBe(true);
    }
    expect(freeMailDomains.size).toBeGreaterThan(1000);
  });

  it('matches domains and addresses case-insensitively, never company domains or subdomains', () => {
    expect(isFreeMailDomain('Rajesh.Transport@Gmail.com')).toBe(true);
    expect(isFreeMailDomain('GMAIL.COM.')).toBe(true);
    expect(isFreeMailDomain('yahoo.co.in')).toBe(true);
    expect(isFreeMailDomain('acmefreight.example')).toBe(false);
    expect(isFreeMailDomain('maersk.com')).toBe(false);
    expect(isFreeMailDomain('mail.gmail.com')).toBe(false);
    expect(isFreeMailDomain('')).toBe(false);
    expect(isFreeMailDomain(null)).toBe(false);
  });
});

describe('parseEmail: freight-forwarding messages', () => {
  it('Outlook reply "RE: Booking confirmation" with quoted history', async () => {
    const r = await fixture('outlook-reply-booking.eml');
    expectWellFormed(r);
    expect(r.messageId).toBe('PN3PR01MB60007C1D9F0B4E2A8B3C9A11D2C12@pn3pr01mb6000.indprd01.prod.outlook.com');
    expect(r.references).toEqual(['CAK7h2pQ0e=Fz3N_booking-254871093@mail.gmail.com', '20261123101500.7D1E2A0F3B@mailer.acmefreight.example']);
    expect(r.subject).toBe('RE: Booking confirmation - BKG MAEU 254871093 / 2x40HC NSA-RTM');
    expect(r.date?.toISOString()).toBe('2026-11-24T05:10:40.000Z');
    expect(r.dateSource).toBe('header');
    expect(r.from).toEqual({ address: 'priya.nair@shreeji-exports.example', name: 'Priya Nair' });
    expect(r.to).toEqual([{ address: 'ops@acmefreight.example', name: 'Banxway Ops (Acme Freight)' }]);
    expect(r.cc.map((a) => a.address)).toEqual(['karthik.r@acmefreight.example', 'logistics@shreeji-exports.example']);
    expect(r.text).toContain('Cut-off: SI 29 Nov 12:00');
    expect(r.newText).toContain('revised cargo ready date is 28 Nov');
    expect(r.newText).toContain('Shreeji Exports Pvt Ltd');
    expect(r.newText).not.toMatch(/Dear Priya|^From:|^Sent:|_{10}/m);
    expect(r.snippet.startsWith('Hi Karthik, Thanks for the booking confirmation.')).toBe(true);
    expect(r.html).toContain('revised cargo ready date');
    expect(r.html).not.toMatch(/<style|class=|<xml|MsoNormal|tabindex/);
    expect(r.headers['thread-topic']).toBe('Booking confirmation - BKG MAEU 254871093 / 2x40HC NSA-RTM');
    expect(r.isAutoReply).toBe(false);
    expect(r.isBounce).toBe(false);
    expect(r.dedupeKey).toBe(r.messageId);
  });

  it('Gmail reply with a wrapped "On ... wrote:" line and a PDF invoice', async () => {
    const r = await fixture('gmail-reply-invoice.eml');
    expectWellFormed(r);
    expect(r.from).toEqual({ address: 'rajesh.transport@gmail.com', name: 'Rajesh Transport' });
    expect(isFreeMailDomain(r.from?.address)).toBe(true);
    expect(r.text).toContain('Amount ₹ 18,500 incl. GST');
    expect(r.newText).toBe('Sir, invoice attached. Amount ₹ 18,500 incl. GST, detention 2 days extra.\n\nKindly release payment this week.');
    expect(r.inReplyTo).toEqual(['20261124044200.5A1B2C3D4E@mailer.acmefreight.example']);
    expect(r.references).toHaveLength(2);
    expect(r.attachments).toHaveLength(1);
    const pdf = r.attachments[0];
    expect(pdf).toMatchObject({ filename: 'INV-2026-1187 MSKU7788123.pdf', contentType: 'application/pdf', contentId: 'f_lq8x2k1m0', inline: false });
    expect(pdf?.content.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('Outlook for Android reply: footer and "From:/Sent:" block removed, junk References parsed', async () => {
    const r = await fixture('outlook-android-reply.eml');
    expectWellFormed(r);
    expect(r.newText).toBe('Received the DO, thanks. Truck is placed at CFS, will pick up tonight.');
    expect(r.references).toEqual(['bx.9a8b7c6d@mailer.acmefreight.example', 'bx.0c1d2e3f@mailer.acmefreight.example']);
    expect(r.to).toEqual([{ address: 'ops@acmefreight.example', name: null }]);
  });

  it('HTML-only carrier notice: text generated, HTML sanitised, inline logo kept via cid', async () => {
    const r = await fixture('carrier-notice-html.eml');
    expectWellFormed(r);
    expect(r.subject).toBe('Vessel delay notice – MSC ANNA V.2347E / ETA Rotterdam');
    expect(r.text).toContain('Please be advised that MSC ANNA V.2347E is delayed due to port congestion at Colombo.');
    expect(r.text).toContain('MSKU1234567 05 Dec 2026');
    expect(r.text).not.toMatch(/document\.cookie|alert|font-family/);
    expect(r.newText).toContain('MSC ANNA V.2347E is delayed');
    const html = r.html ?? '';
    for (const bad of [
      '<script',
      'onload',
      'onclick',
      'onerror',
      'javascript:',
      '<form',
      '<input',
      '<button',
      '<iframe',
      '<base',
      '<meta',
      '<svg',
      '<style',
      'evil.example',
      'track.example',
      'position:fixed',
      'alert(',
      'url(',
    ]) {
      expect(html, bad).not.toContain(bad);
    }
    expect(html).toContain('src="cid:logo@oceanic-lines.example"');
    expect(html).toContain('href="https://www.oceanic-lines.example/track?bl=OLU123"');
    expect(html).toContain('rel="noopener noreferrer nofollow"');
    expect(html).toContain('<td>MSKU1234567</td>');
    expect(html).toContain('style="color:#333; font-size:12px"');
    expect(r.attachments).toHaveLength(1);
    expect(r.attachments[0]).toMatchObject({ filename: 'logo.png', contentType: 'image/png', contentId: 'logo@oceanic-lines.example', inline: true });
    // X-Auto-Response-Suppress alone does not make an auto-reply.
    expect(r.headers['x-auto-response-suppress']).toBe('All');
    expect(r.isAutoReply).toBe(false);
  });

  it('Exchange out-of-office is an auto-reply', async () => {
    const r = await fixture('out-of-office.eml');
    expectWellFormed(r);
    expect(r.isAutoReply).toBe(true);
    expect(r.autoReplyReason).toBe('auto-submitted: auto-generated');
    expect(r.subject).toBe('Automatic reply: Booking confirmation - BKG MAEU 254871093 / 2x40HC NSA-RTM');
    expect(r.isBounce).toBe(false);
    expect(r.inReplyTo).toEqual(['20261124090000.11AA22BB33@mailer.acmefreight.example']);
  });

  it('Postfix MAILER-DAEMON bounce for an address we sent to', async () => {
    const r = await fixture('postfix-bounce.eml');
    expectWellFormed(r);
    expect(r.isBounce).toBe(true);
    expect(r.isAbuseReport).toBe(false);
    expect(r.bounce).toEqual({
      recipients: ['imports@kaveri-traders.example'],
      originalMessageId: normalizeMessageId('<bx.7f3a9c2e-41d5-4b8e-9a61-2c0d5e7f1a90@mailer.acmefreight.example>'),
      status: '5.1.1',
      diagnostic: '550 5.1.1 <imports@kaveri-traders.example>: Recipient address rejected: User unknown in virtual mailbox table',
      action: 'failed',
      permanent: true,
      reportingMta: 'mail.acmefreight.example',
    });
    expect(r.attachments.map((a) => a.contentType)).toEqual(['message/delivery-status', 'text/rfc822-headers']);
    expect(r.text).toContain('could not\nbe delivered');
  });

  it('ISO-8859-1 German message with umlauts in encoded-word headers and a quoted-printable body', async () => {
    const r = await fixture('german-latin1.eml');
    expectWellFormed(r);
    expect(r.subject).toBe('Verspätung der Sendung über München, Auftrag 4711');
    expect(r.from).toEqual({ address: 'j.mueller@spedition-weiss.example', name: 'Jürgen Müller' });
    expect(r.to).toEqual([{ address: 'zoll@acmefreight.example', name: 'Zollabteilung Acme Übersee' }]);
    expect(r.text).toContain('die Lieferung der Sendung über München verzögert sich um zwei Tage.');
    expect(r.text).toContain('die Gebühren betragen 250 EUR.');
    expect(r.text).toContain('Mit freundlichen Grüßen\nJürgen Müller\nSpedition Weiß GmbH');
    expect(r.text).not.toContain('\uFFFD');
    expect(r.date?.toISOString()).toBe('2026-11-26T08:15:00.000Z');
    expect(r.messageId).toBe('4711.20261126091500@spedition-weiss.example');
  });

  it('raw 8-bit ISO-8859-1 headers and body (no encoded-words) are decoded', async () => {
    const raw = Buffer.from(
      [
        'From: J\xfcrgen M\xfcller <jm@spedition-weiss.example>',
        'To: zoll@acmefreight.example',
        'Subject: Gr\xfc\xdfe aus K\xf6ln',
        'Date: Thu, 26 Nov 2026 09:15:00 +0100',
        'Content-Type: text/plain; charset=iso-8859-1',
        'Content-Transfer-Encoding: 8bit',
        '',
        'Die Ware ist verz\xf6gert. Gr\xfc\xdfe',
      ].join('\r\n'),
      'latin1',
    );
    const r = await parseEmail(raw);
    expectWellFormed(r);
    expect(r.subject).toBe('Grüße aus Köln');
    expect(r.from?.name).toBe('Jürgen Müller');
    expect(r.text).toBe('Die Ware ist verzögert. Grüße');
  });

  it('malformed MIME never throws and keeps what can be read', async () => {
    const r = await fixture('malformed.eml');
    expectWellFormed(r);
    expect(r.text).toContain('booking 4471 is confirmed');
    expect(r.messageId).toBeNull();
    expect(r.dedupeKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.references).toEqual(['ok-1@example.com', 'unterminated@example.com']);
    expect(r.inReplyTo).toEqual([]);
    expect(r.date).toBeNull();
    expect(r.to.map((a) => a.address)).toEqual(['ops@acmefreight.example']);
    expect(r.attachments.map((a) => a.filename)).toEqual(['passwd.pdf']);
    expect(r.html).toContain('unterminated inner part');
  });
});

describe('sanitizeEmailHtml', () => {
  it('blocks obfuscated script vectors and resource-loading CSS, keeps formatting, cid: and data:image', () => {
    const cases: [string, string][] = [
      ['<a href="JaVaScRiPt:alert(1)">a</a>', '<a target="_blank" rel="noopener noreferrer nofollow">a</a>'],
      ['<a href="java&#x09;script:alert(1)">b</a>', '<a target="_blank" rel="noopener noreferrer nofollow">b</a>'],
      ['<a href="data:text/html;base64,PHNjcmlwdD4=">d</a>', '<a target="_blank" rel="noopener noreferrer nofollow">d</a>'],
      ['<a href="/relative">r</a>', '<a target="_blank" rel="noopener noreferrer nofollow">r</a>'],
      ['<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">', '<img />'],
      ['<img src="data:image/png;base64,iVBORw0KGgo=">', '<img src="data:image/png;base64,iVBORw0KGgo=" />'],
      ['<div style="width: expression(alert(1))">e</div>', '<div>e</div>'],
      ['<div style="behavior: url(x.htc); color: red">g</div>', '<div style="color: red">g</div>'],
      ['<div style="color: red; background: url(cid:bg@x)">h</div>', '<div style="color: red; background: url(cid:bg@x)">h</div>'],
      ['<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>', ''],
      ['<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>', ''],
      ['<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>', ''],
      ['<object data="javascript:alert(1)"></object><embed src="x.swf">', ''],
      ['<p id="app" class="btn" data-x="1">i</p>', '<p>i</p>'],
      ['<table background="javascript:alert(1)"><tr><td background="https://x/y.png">j</td></tr></table>', '<table><tr><td>j</td></tr></table>'],
      ['<details open ontoggle=alert(1)>k</details>', 'k'],
    ];
    for (const [input, expected] of cases) expect(sanitizeEmailHtml(input), input).toBe(expected);
  });
});

describe('auto-reply detection', () => {
  const msg = (headers: string[], subject = 'Booking 4471 update') =>
    parseEmail(
      eml(
        'From: a@customer.example',
        'To: ops@acmefreight.example',
        `Subject: ${subject}`,
        'Date: Tue, 24 Nov 2026 10:00:00 +0000',
        ...headers,
        '',
        'Body text.',
      ),
    );

  it('uses Auto-Submitted, X-Autoreply, X-Autorespond and Precedence', async () => {
    expect((await msg(['Auto-Submitted: no'])).isAutoReply).toBe(false);
    expect((await msg(['Auto-Submitted: auto-replied'])).isAutoReply).toBe(true);
    expect((await msg(['Auto-Submitted: Auto-Generated; owner-email="x@y.example"'])).autoReplyReason).toBe('auto-submitted: auto-generated');
    expect((await msg(['X-Autoreply: yes'])).isAutoReply).toBe(true);
    expect((await msg(['X-Autorespond: Out of office'])).isAutoReply).toBe(true);
    for (const p of ['bulk', 'junk', 'auto_reply']) expect((await msg([`Precedence: ${p}`])).isAutoReply, p).toBe(true);
  });

  it('does not treat Precedence: list (group relays such as Google Groups) or X-Auto-Response-Suppress alone as auto-replies', async () => {
    const list = await msg(['Precedence: list', 'List-ID: <ops.acmefreight.example>', 'Mailing-list: list ops@acmefreight.example']);
    expect(list.isAutoReply).toBe(false);
    expect(list.isMailingList).toBe(true);
    expect((await msg(['X-Auto-Response-Suppress: All'])).isAutoReply).toBe(false);
  });

  it('uses auto-reply subject prefixes alone, and looser subjects only together with a header signal', async () => {
    expect((await msg([], 'Abwesenheitsnotiz: Ihre Buchung 4471')).isAutoReply).toBe(true);
    expect((await msg([], 'Out of Office: Booking 4471')).isAutoReply).toBe(true);
    expect((await msg([], 'Automatic reply: RE: DO release')).isAutoReply).toBe(true);
    expect((await msg([], 'Réponse automatique : Réservation')).isAutoReply).toBe(true);
    expect((await msg([], 'Out of office until Monday - please call Priya')).isAutoReply).toBe(false);
    expect((await msg([], 'RE: Out of office reply needed for booking')).isAutoReply).toBe(false);
    expect((await msg(['X-Auto-Response-Suppress: All'], 'Out of office until Monday - please call Priya')).isAutoReply).toBe(true);
    expect((await msg(['Return-Path: <>'], 'I am on leave till 30 Nov')).isAutoReply).toBe(true);
  });
});

describe('extractNewText', () => {
  it('cuts at -----Original Message----- and localised Outlook header blocks', () => {
    expect(extractNewText('Approved, go ahead.\n\n-----Original Message-----\nFrom: X\nSent: Y\n\nOld text')).toBe('Approved, go ahead.');
    expect(
      extractNewText(
        'Bitte um Bestätigung.\n\nVon: Karthik R <k@acmefreight.example>\nGesendet: Montag, 23. November 2026 15:45\nAn: Jürgen\nBetreff: Buchung\n\nalt',
      ),
    ).toBe('Bitte um Bestätigung.');
    expect(extractNewText('Noted.\n\nFrom: Karthik R <k@x.example> Sent: Monday To: Priya Subject: Booking\nold')).toBe('Noted.');
  });

  it('does not cut at route lines that merely look like headers', () => {
    const text = 'Please quote for:\nFrom: Nhava Sheva\nTo: Rotterdam\nCommodity: garments, 2x40HC\n\nThanks';
    expect(extractNewText(text)).toBe(text);
  });

  it('keeps inline answers between quoted blocks', () => {
    const text = 'See answers inline.\n\n> What is the ETD?\n02 Dec.\n> Is the SI filed?\nYes, this morning.';
    expect(extractNewText(text)).toBe('See answers inline.\n\n02 Dec.\nYes, this morning.');
  });

  it('handles bottom-posting, fully quoted messages and forwards without a note (never empty)', () => {
    expect(extractNewText('On Tue, 24 Nov 2026 at 10:12, Karthik <k@x.example> wrote:\n> Please confirm.\n\nConfirmed.')).toBe('Confirmed.');
    expect(extractNewText('> only quoted\n> text')).not.toBe('');
    const fwd =
      '---------- Forwarded message ---------\nFrom: Carrier <n@carrier.example>\nDate: Tue, 24 Nov 2026\nSubject: Rollover\nTo: ops@acmefreight.example\n\nYour booking was rolled over.';
    expect(extractNewText(fwd)).toContain('Your booking was rolled over.');
  });

  it('removes mobile footers', () => {
    expect(extractNewText('OK, noted.\n\nSent from my iPhone')).toBe('OK, noted.');
    expect(extractNewText('Passt.\n\nVon meinem iPhone gesendet')).toBe('Passt.');
    expect(extractNewText('Done.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>')).toBe('Done.');
  });
});

describe('bounce and report classification', () => {
  it('reads Exim-style bounces without a DSN part from X-Failed-Recipients and the pasted headers', async () => {
    const r = await parseEmail(
      eml(
        'From: Mail Delivery System <Mailer-Daemon@mx.customer.example>',
        'To: ops@acmefreight.example',
        'Subject: Mail delivery failed: returning message to sender',
        'X-Failed-Recipients: Shipping@Customer.example',
        'Auto-Submitted: auto-replied',
        'Date: Tue, 24 Nov 2026 10:00:00 +0000',
        '',
        'This message was created automatically by mail delivery software.',
        '',
        '  shipping@customer.example',
        '    mailbox is full: retry timeout exceeded',
        '',
        '------ This is a copy of the message, including all the headers. ------',
        '',
        'Message-ID: <bx.1111@Mailer.AcmeFreight.example>',
        'Subject: Pre-alert',
      ),
    );
    expect(r.isBounce).toBe(true);
    expect(r.bounce?.recipients).toEqual(['shipping@customer.example']);
    expect(r.bounce?.originalMessageId).toBe('bx.1111@mailer.acmefreight.example');
  });

  it('does not flag a success DSN as a bounce (but it is machine mail), nor a human message from postmaster', async () => {
    const dsn = await parseEmail(
      eml(
        'From: MAILER-DAEMON@mx.example',
        'To: ops@acmefreight.example',
        'Subject: Successful Mail Delivery Report',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'Delivered.',
        '--b',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.example',
        '',
        'Final-Recipient: rfc822; a@customer.example',
        'Action: delivered',
        'Status: 2.0.0',
        '--b--',
      ),
    );
    expect(dsn.isBounce).toBe(false);
    expect(dsn.isAutoReply).toBe(true);

    const human = await parseEmail(
      eml(
        'From: Postmaster <postmaster@customer.example>',
        'To: ops@acmefreight.example',
        'Subject: New MX records from Monday',
        '',
        'Please update your allow-list.',
      ),
    );
    expect(human.isBounce).toBe(false);
    expect(human.isAutoReply).toBe(false);
  });
});

describe('parseEmail: robustness and normalisation', () => {
  it('throws EmailParseError only when nothing usable can be extracted', async () => {
    await expect(parseEmail(Buffer.alloc(0))).rejects.toBeInstanceOf(EmailParseError);
    await expect(parseEmail(Buffer.from('\r\n  \r\n'))).rejects.toBeInstanceOf(EmailParseError);
    await expect(parseEmail('From: a@b.example' as unknown as Buffer)).rejects.toBeInstanceOf(EmailParseError);
    const binary = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0]), randomBytes(2048)]);
    await expect(parseEmail(binary)).rejects.toThrow(/not an email message/);
  });

  it('falls back to the built-in reader when mailparser rejects a message, and says why', async () => {
    const huge = await parseEmail(
      eml('From: A <a@customer.example>', 'Subject: big header', `X-Junk: ${'a'.repeat(1_200_000)}`, 'Content-Type: text/plain', '', 'Body survives here.'),
    );
    expect(huge.parseError).toMatch(/header size/i);
    expect(huge.text).toBe('Body survives here.');
    expect(huge.subject).toBe('big header');
    expect(huge.from?.address).toBe('a@customer.example');

    const parts = Array.from({ length: 1200 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}`).join('\r\n');
    const many = await parseEmail(eml('From: x@y.example', 'Content-Type: multipart/mixed; boundary=b', '', parts, '--b--'));
    expect(many.parseError).toBeDefined();
    expect(many.text.startsWith('part 0')).toBe(true);
    expectWellFormed(many);
  });

  it('parses a body without any headers, and strips NUL characters', async () => {
    const r = await parseEmail(Buffer.from('\r\nJust a body\u0000 line'));
    expect(r.text).toBe('Just a body line');
    expect(r.warnings).toContain('no header fields');
  });

  it('dedupeKey: normalised Message-ID, else a content hash that ignores transport differences', async () => {
    const withId = await parseEmail(eml('Message-ID: <Abc@Example.COM>', 'From: a@b.example', '', 'x'));
    expect(withId.dedupeKey).toBe('Abc@example.com');

    const lines = [
      'From: Karthik <karthik@acmefreight.example>',
      'To: ops@acmefreight.example',
      'Subject: Pre-alert',
      'Date: Tue, 24 Nov 2026 10:00:00 +0000',
      '',
      'ETD 02 Dec.',
      '',
    ];
    const crlf = await parseEmail(eml(...lines));
    const lf = await parseEmail(Buffer.from(['Received: from relay (relay.example) by mx; Tue, 24 Nov 2026 10:00:05 +0000', ...lines].join('\n')));
    expect(crlf.dedupeKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(lf.dedupeKey).toBe(crlf.dedupeKey);
    const other = await parseEmail(eml(...lines.slice(0, 5), 'ETD 03 Dec.'));
    expect(other.dedupeKey).not.toBe(crlf.dedupeKey);
  });

  it('dedupeKey without Message-ID: an archived copy (LF, mbox From line and >From escapes) keys like the IMAP copy', async () => {
    const message = (attachment: { encoding: string; body: string }) =>
      [
        'From: Vikram <vikram@roadlines.example>',
        'To: ops@acmefreight.example',
        'Subject: Trucks',
        'Date: Tue, 24 Nov 2026 08:30:00 +0000',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Trucks attached.',
        'From the yard: 4 at gate 2.',
        '--b',
        'Content-Type: text/csv; name="t.csv"',
        `Content-Transfer-Encoding: ${attachment.encoding}`,
        '',
        attachment.body,
        '--b--',
        '',
      ].join('\r\n');
    const imap = message({ encoding: 'quoted-printable', body: 'truck,container\r\nMH04AB1234,MSKU1234565' });
    const key = (await parseEmail(Buffer.from(imap))).dedupeKey;
    const lf = imap.replace(/\r\n/g, '\n');
    for (const archived of [
      lf,
      lf.replace(/\n$/, ''),
      `From vikram@roadlines.example Tue Nov 24 08:30:00 2026\n${lf}`,
      lf.replace('\nFrom the yard', '\n>From the yard'),
    ]) {
      expect((await parseEmail(Buffer.from(archived))).dedupeKey).toBe(key);
    }
    // Base64 carries the attachment's own bytes, which no store rewrites: CRLF and LF there are different files.
    const b64 = (bytes: string) => message({ encoding: 'base64', body: Buffer.from(bytes).toString('base64') });
    expect((await parseEmail(Buffer.from(b64('a\r\nb')))).dedupeKey).not.toBe((await parseEmail(Buffer.from(b64('a\nb')))).dedupeKey);
  });

  it('falls back to the newest Received date when Date is missing or unparseable', async () => {
    const received = 'Received: from a by b; Tue, 24 Nov 2026 10:00:05 +0530 (IST)';
    const older = 'Received: from c by a; Tue, 24 Nov 2026 09:59:00 +0530';
    const missing = await parseEmail(eml('From: a@b.example', received, older, '', 'x'));
    expect(missing.date?.toISOString()).toBe('2026-11-24T04:30:05.000Z');
    expect(missing.dateSource).toBe('received');
    const bad = await parseEmail(eml('From: a@b.example', 'Date: yesterday-ish', received, '', 'x'));
    expect(bad.dateSource).toBe('received');
    const none = await parseEmail(eml('From: a@b.example', 'Date: not a date', '', 'x'));
    expect(none.date).toBeNull();
    const odd = await parseEmail(eml('From: a@b.example', 'Date: 24 Nov 26 10:12:00 GMT', '', 'x'));
    expect(odd.date?.toISOString()).toBe('2026-11-24T10:12:00.000Z');
  });

  it('flattens groups, lower-cases and de-duplicates addresses, drops entries without an address', async () => {
    const r = await parseEmail(
      eml(
        'From: "Ops, Acme" <OPS@AcmeFreight.example>',
        'To: Shipping Team: a@customer.example, "B" <B@Customer.example>;, A@CUSTOMER.example',
        'Cc: undisclosed-recipients:;, <Undisclosed Recipients>',
        'Reply-To: =?UTF-8?B?S2FydGhpayDgpJXgpL4=?= <karthik@acmefreight.example>',
        '',
        'x',
      ),
    );
    expect(r.from).toEqual({ address: 'ops@acmefreight.example', name: 'Ops, Acme' });
    expect(r.to).toEqual([
      { address: 'a@customer.example', name: null },
      { address: 'b@customer.example', name: 'B' },
    ]);
    expect(r.cc).toEqual([]);
    expect(r.replyTo).toEqual([{ address: 'karthik@acmefreight.example', name: 'Karthik का' }]);
  });

  it('sanitises attachment names and generates missing ones from the content type', async () => {
    expect(sanitizeFilename('..\\..\\windows\\evil.exe')).toBe('evil.exe');
    expect(sanitizeFilename('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(sanitizeFilename('CON.txt')).toBe('_CON.txt');
    expect(sanitizeFilename('  ..hidden.  ')).toBe('hidden');
    expect(sanitizeFilename('a:b*c?.pdf')).toBe('a_b_c_.pdf');
    expect(sanitizeFilename(`${'x'.repeat(300)}.pdf`)).toMatch(/^x{176}\.pdf$/);
    expect(sanitizeFilename('///')).toBeNull();

    const r = await parseEmail(
      eml(
        'From: a@b.example',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'See attached.',
        '--b',
        'Content-Type: application/pdf',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('%PDF-1.4 test').toString('base64'),
        '--b',
        'Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        "Content-Disposition: attachment; filename*=UTF-8''Rechnung%20M%C3%BCller%20%E2%82%AC.xlsx",
        '',
        'xlsx-bytes',
        '--b--',
      ),
    );
    expect(r.attachments.map((a) => a.filename)).toEqual(['attachment-1.pdf', 'Rechnung Müller €.xlsx']);
  });

  it('survives truncated, bit-flipped and spliced versions of every fixture (never throws, newText never empty)', async () => {
    let seed = 20261126;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const junk = ['\r\n\r\n', '--', '=?utf-8?B?', '<', '\u0000', 'boundary="', '\n ', '=\r\n'];
    for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.eml'))) {
      const orig = readFileSync(FIXTURES + f);
      for (let i = 0; i < 24; i++) {
        const b = Buffer.from(orig);
        let input: Buffer;
        if (i % 3 === 0) input = b.subarray(0, 1 + Math.floor(rnd() * (b.length - 1)));
        else if (i % 3 === 1) {
          for (let k = 0; k < 20; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
          input = b;
        } else {
          const s = b.toString('latin1');
          const cut = Math.floor(rnd() * s.length);
          input = Buffer.from(s.slice(0, cut) + junk[i % junk.length] + s.slice(cut), 'latin1');
        }
        let r: ParsedEmail;
        try {
          r = await parseEmail(input);
        } catch (err) {
          expect(err, `${f} #${i}`).toBeInstanceOf(EmailParseError);
          continue;
        }
        expectWellFormed(r);
      }
    }
  });

  // How fast: npm run bench:parse (bench/parse.ts) measures this message and gates its CPU time.
  it('parses a 20 MB message (15 MiB scanned PDF) whole', async () => {
    const { raw, pdf } = scannedDocumentsEmail();
    expect(raw.length).toBeGreaterThan(20 * 1024 * 1024);
    const r = await parseEmail(raw);
    expect(r.parseError).toBeUndefined();
    expect(r.text).toBe('Please find the scanned BL, invoice and packing list attached.');
    expect(r.attachments).toHaveLength(1);
    expect(r.attachments[0]?.size).toBe(pdf.length);
    expect(r.attachments[0]?.sha256).toBe(sha256(pdf));
  });
});

describe.skipIf(!sharedPresent)('parseEmail: shared real-world fixtures', () => {
  const load = (name: string) => parseEmail(readFileSync(SHARED + name));

  // Their parse time is measured by npm run bench:parse -- --shared DIR.
  it('parses every fixture without throwing', async () => {
    const files = readdirSync(SHARED).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBeGreaterThanOrEqual(14);
    for (const f of files) expectWellFormed(await load(f));
  });

  it('delivery-status bounces: flagged, with the original recipient and message', async () => {
    const ses = await load('mailparser-delivery-status.eml');
    expect(ses.isBounce).toBe(true);
    expect(ses.bounce).toMatchObject({ recipients: ['xxxx@xxxx.com'], status: '5.1.1', permanent: true, originalMessageId: 'xxxxx@email.amazonses.com' });

    const fastmail = await load('postal-mime-bounce.eml');
    expect(fastmail.isBounce).toBe(true);
    expect(fastmail.bounce).toMatchObject({
      recipients: ['htfgvhyufthdgcvhgjyfthgc@ethereal.email'],
      status: '5.0.0',
      diagnostic: '550 No such user here',
      originalMessageId: 'e85f1c9b-9b51-4028-8ec0-0a657155028e@app.fastmail.com',
    });
    expect(fastmail.isAbuseReport).toBe(false);
  });

  it('ARF abuse report is flagged as such, not as a bounce', async () => {
    const r = await load('postal-mime-arf.eml');
    expect(r.isAbuseReport).toBe(true);
    expect(r.isBounce).toBe(false);
    expect(r.abuseReport).toMatchObject({
      feedbackType: 'abuse',
      sourceIp: '192.0.2.1',
      originalMailFrom: 'somespammer@example.net',
      originalRcptTo: ['user@example.com'],
      originalMessageId: '8787KJKJ3K4J3K4J3K4J3.mail@example.net',
    });
    // The reported message is kept as an attachment, not merged into the text.
    expect(r.text).not.toContain('Spam Spam');
    expect(r.attachments.map((a) => a.contentType)).toContain('message/rfc822');
  });

  it('calendar invitation: the event is read and the .ics kept', async () => {
    const r = await load('postal-mime-calendar-event.eml');
    expect(r.subject).toContain('Invitation: Test event ⏰');
    expect(r.calendar).toMatchObject({ method: 'REQUEST', summary: 'Test event ⏰', start: 'Europe/Tallinn:20240411T110000' });
    expect(r.calendar?.ics).toContain('BEGIN:VCALENDAR');
    expect(r.attachments.map((a) => a.filename)).toContain('invite.ics');
    expect(r.newText).toContain('Join with Google Meet');
  });

  it('MIME torture test: many attachments, names from filename, name or generated', async () => {
    const r = await load('postal-mime-mimetorture.eml');
    expect(r.attachments.length).toBeGreaterThanOrEqual(5);
    const names = r.attachments.map((a) => a.filename);
    expect(names).toEqual(expect.arrayContaining(['foo.gz', 'blah.gz', 'blah1.gz', 'attachment-4.gz']));
    expect(r.text).toContain("Welcome to Ryan Finnie's MIME torture test.");
  });

  it('structural oddities: base64 root, nested multiparts, unterminated parts', async () => {
    const png = await load('mailparser-base64encodedroot.eml');
    expect(png.attachments).toHaveLength(1);
    expect(png.attachments[0]).toMatchObject({ filename: 'screenshot.png', contentType: 'image/png' });
    expect(png.attachments[0]?.content.subarray(1, 4).toString()).toBe('PNG');

    const nested = await load('mailparser-nested.eml');
    expect(nested.text).toContain('Dear Sir,');
    expect(nested.text).toContain('The footer');

    const mixed = await load('mailparser-mixed.eml');
    expect(mixed.text).toContain('Good Morning;');

    const ended = await load('mailparser-decoderended.eml');
    expect(ended.subject).toBe('Fwd: fotos');
    expect(ended.newText).toContain('Note: forwarded message attached.');
  });

  it('nodemailer message: inline images by cid, unicode attachment names', async () => {
    const r = await load('mailparser-nodemailer.eml');
    expect(r.subject).toBe('Nodemailer is unicode friendly ✔ (1476358788189)');
    const gif = r.attachments.find((a) => a.contentType === 'image/gif');
    expect(gif).toMatchObject({ filename: 'nyan cat ✔.gif', contentId: 'nyan@example.com', inline: true });
    expect(r.html).toContain('cid:nyan@example.com');
    expect(r.attachments.map((a) => a.filename)).toContain('notes.txt');
  });

  it('hostile and large bodies: huge HTML, deep junk, a 1 MB text part', async () => {
    const stack = await load('mailparser-htmllargecallstack.eml');
    expect(stack.subject).toBe('Kill the HTML parser');
    const oom = await load('mailparser-outofmemory.eml');
    expect(oom.text).toContain('$1 million in Life Insurance Coverage');
    expect(oom.html).toBeTruthy();
    const large = await load('mailparser-large_text.eml');
    expect(large.text.length).toBeGreaterThan(1_000_000);
    expect(large.references).toEqual(['20090529095654.29876.20294.malonedeb@gangotri.canonical.com']);
    expect(large.isMailingList).toBe(true);
    expect(large.isAutoReply).toBe(true); // Precedence: bulk
    const spam = await load('mailparser-spam.eml');
    expect(spam.text).toContain('Er bettelte auf der Straße');
    expect(spam.from?.address).toBe('noreply@guide-des-vins-de-bourgogne.fr');
  });
});

describe.runIf(process.env.CI === 'true')('CI has the shared fixtures', () => {
  it('finds ../shared/fixtures/mime', () => {
    expect(sharedPresent).toBe(true);
  });
});
