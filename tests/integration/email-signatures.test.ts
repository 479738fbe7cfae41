// Who outgoing email is from and how it is signed: replies through POST /api/threads/{id}/messages,
// sent by the email.send job to the local .eml sink and to a server that speaks Resend's API. The
// member's profile (PATCH /api/me), the organization's signature (PATCH /api/org) and the mailbox's
// senderName and signatures settings (PATCH /api/channels/{id}) decide the From name and the signatures.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import { SEED_MAILBOX_ID, SEED_ORG_ID } from '../../lib/dev/seed.js';
import { parseEmail } from '../../lib/email/parse.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { fakeResend, type FakeResend } from '../helpers/fake-resend.js';

const T1 = '10000001-0000-4000-8000-000000000001';
const ORG = 'Seahawk Logistics Pvt Ltd';
const MEMBER_SIGNATURE = '<p>Vikram Rao<br>Export Operations<br>+91 98200 98200</p>';
const ORG_SIGNATURE = '<p>Seahawk Logistics Pvt Ltd<br>Unit 402, Nerul Node, Navi Mumbai</p>';

let db: TestDatabase;
let fake: FakeResend;
let saved: Config;
let localConfig: Config;
let resendConfig: Config;
let mailOut: string;

beforeAll(async () => {
  db = await testDatabase();
  fake = await fakeResend();
  saved = config();
  mailOut = mkdtempSync(join(tmpdir(), 'banxway-signatures-'));
  localConfig = parseConfig({ ...process.env, MAIL_OUT_DIR: mailOut });
  resendConfig = parseConfig({ ...process.env, MAIL_OUT_DIR: mailOut, RESEND_API_KEY: fake.apiKey, RESEND_BASE_URL: fake.url });
  const me = await json('PATCH', '/api/me', { as: 'agent', body: { displayName: 'Vikram Rao', jobTitle: 'Export Operations', signature: MEMBER_SIGNATURE } });
  expect(me.status).toBe(200);
  const org = await json('PATCH', '/api/org', { as: 'admin', body: { emailSignature: ORG_SIGNATURE } });
  expect(org.status).toBe(200);
});

afterAll(async () => {
  setConfig(saved);
  await fake.close();
  await db.close();
  rmSync(mailOut, { recursive: true, force: true });
});

beforeEach(async () => {
  setConfig(localConfig);
  fake.reset();
  const reset = await json('PATCH', `/api/channels/${SEED_MAILBOX_ID}`, { as: 'admin', body: { senderName: 'both', signatures: 'both' } });
  expect(reset.status).toBe(200);
});

/** Replies on T1 as the agent, runs the send job, and answers the sent row and the .eml as parsed. */
async function replyAndSend(body: Record<string, unknown>) {
  const res = await json('POST', `/api/threads/${T1}/messages`, { as: 'agent', body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(await drainJobs()).toContain('done');
  const [row] = await db.sql`select * from app.messages where id = ${res.body.id}`;
  expect(row!.status).toBe('sent');
  if (config() === resendConfig) return { row: row!, eml: null, raw: null };
  const raw = readFileSync(join(mailOut, `${res.body.id}.eml`));
  return { row: row!, eml: await parseEmail(raw), raw: raw.toString('latin1') };
}

const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;
const memberMark = 'data-banxway-signature="member"';
const orgMark = 'data-banxway-signature="organization"';

describe('the From name', () => {
  it("carries the member's and the organization's names, as the mailbox says", async () => {
    const both = await replyAndSend({ html: '<p>Dear Karthik, the draft B/L is attached.</p>' });
    expect(both.eml!.from).toEqual({ address: 'ops@seahawk-logistics.in', name: `Vikram Rao | ${ORG}` });
    expect(both.raw).toContain(`From: "Vikram Rao | ${ORG}" <ops@seahawk-logistics.in>`);
    expect(both.row.fromName).toBe(`Vikram Rao | ${ORG}`);

    const channel = await json('PATCH', `/api/channels/${SEED_MAILBOX_ID}`, { as: 'admin', body: { senderName: 'person' } });
    expect(channel.body).toMatchObject({ senderName: 'person', signatures: 'both' });
    expect((await replyAndSend({ text: 'Noted.' })).eml!.from!.name).toBe('Vikram Rao');
    await json('PATCH', `/api/channels/${SEED_MAILBOX_ID}`, { as: 'admin', body: { senderName: 'organization' } });
    expect((await replyAndSend({ text: 'Noted.' })).eml!.from!.name).toBe(ORG);

    const bad = await json('PATCH', `/api/channels/${SEED_MAILBOX_ID}`, { as: 'admin', body: { senderName: 'nobody', signatures: 'all' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: any) => i.path).sort()).toEqual(['body.senderName', 'body.signatures']);
  });

  it('encodes a name that is not ASCII (RFC 2047) in the .eml and in the Resend request', async () => {
    await json('PATCH', '/api/me', { as: 'agent', body: { displayName: 'Jürgen Müller' } });
    try {
      const local = await replyAndSend({ text: 'Die Buchung ist bestätigt.' });
      expect(local.eml!.from!.name).toBe(`Jürgen Müller | ${ORG}`);
      const fromHeader = /^From: (.*(?:\r\n[ \t].*)*)/m.exec(local.raw!)![1]!;
      expect(fromHeader).toMatch(/^=\?UTF-8\?[QB]\?/i);
      expect(fromHeader).toContain('<ops@seahawk-logistics.in>');
      expect(fromHeader).not.toMatch(/[^\x20-\x7e\r\n\t]/);

      setConfig(resendConfig);
      await replyAndSend({ text: 'Die Buchung ist bestätigt.' });
      const from: string = fake.requests[0]!.body.from;
      expect(from).toMatch(/^=\?UTF-8\?Q\?J=C3=BCrgen_M=C3=BCller_=7C_.*\?= <ops@seahawk-logistics\.in>$/);
      // What a client shows: the words decoded back to the name.
      const parsed = await parseEmail(Buffer.from(`From: ${from}\r\nSubject: x\r\n\r\nx\r\n`));
      expect(parsed.from).toEqual({ address: 'ops@seahawk-logistics.in', name: `Jürgen Müller | ${ORG}` });
    } finally {
      await json('PATCH', '/api/me', { as: 'agent', body: { displayName: 'Vikram Rao' } });
    }
  });
});

describe('signatures', () => {
  it("appends the member's, then the organization's signature to the HTML and text bodies", async () => {
    const { eml, row } = await replyAndSend({ html: '<p>Dear Karthik, the draft B/L is attached.</p>', text: 'Dear Karthik, the draft B/L is attached.' });
    expect(eml!.html).toContain(`<p>Dear Karthik, the draft B/L is attached.</p><div ${memberMark}>`);
    expect(eml!.html!.indexOf(memberMark)).toBeLessThan(eml!.html!.indexOf(orgMark));
    expect(eml!.html).toContain('Export Operations');
    expect(eml!.html).toContain('Unit 402, Nerul Node');
    // The conversation shows what was sent (the parser drops the separator's trailing space).
    expect(row.bodyText).toBe(
      'Dear Karthik, the draft B/L is attached.\n\n-- \nVikram Rao\nExport Operations\n+91 98200 98200\n\nSeahawk Logistics Pvt Ltd\nUnit 402, Nerul Node, Navi Mumbai',
    );
    expect(eml!.text).toBe(row.bodyText.replace('-- \n', '--\n'));
    expect(row.bodyHtml).toBe(eml!.html);
  });

  it('appends only the signatures the mailbox asks for', async () => {
    await json('PATCH', `/api/channels/${SEED_MAILBOX_ID}`, { as: 'admin', body: { signatures: 'organization' } });
    const org = await replyAndSend({ text: 'Noted, thanks.' });
    expect(org.row.bodyText).toBe('Noted, thanks.\n\n-- \nSeahawk Logistics Pvt Ltd\nUnit 402, Nerul Node, Navi Mumbai');
    await json('PATCH', `/api/channels/${SEED_MAILBOX_ID}`, { as: 'admin', body: { signatures: 'person' } });
    const person = await replyAndSend({ html: '<p>Noted.</p>' });
    expect(count(person.eml!.html!, memberMark)).toBe(1);
    expect(count(person.eml!.html!, orgMark)).toBe(0);
    await json('PATCH', `/api/channels/${SEED_MAILBOX_ID}`, { as: 'admin', body: { signatures: 'none' } });
    const none = await replyAndSend({ html: '<p>Noted.</p>' });
    expect(none.eml!.html).toBe('<p>Noted.</p>');
    expect(none.eml!.text).toBe('Noted.');
  });

  it('signs a reply that quotes an earlier signed message once, under the new text', async () => {
    const first = await replyAndSend({ html: '<p>Dear Karthik, the draft B/L is attached.</p>' });
    const quotedHtml =
      `<p>Karthik, any comments on the draft?</p>` +
      `<p>On Sat, 5 Dec 2026 at 10:00, Vikram Rao | ${ORG} &lt;ops@seahawk-logistics.in&gt; wrote:</p>` +
      `<blockquote>${first.row.bodyHtml}</blockquote>`;
    const quotedText = `Karthik, any comments on the draft?\n\nOn Sat, 5 Dec 2026 at 10:00, Vikram Rao <ops@seahawk-logistics.in> wrote:\n${String(
      first.row.bodyText,
    )
      .split('\n')
      .map((l) => `> ${l}`)
      .join('\n')}`;
    const second = await replyAndSend({ html: quotedHtml, text: quotedText });
    const html = second.eml!.html!;
    const quoteAt = html.indexOf('<blockquote');
    const attributionAt = html.indexOf('On Sat, 5 Dec 2026');
    // Once in the new part (above the attribution), once in the quoted earlier message: never twice on top.
    expect(count(html.slice(0, attributionAt), memberMark)).toBe(1);
    expect(count(html.slice(0, attributionAt), orgMark)).toBe(1);
    expect(count(html.slice(quoteAt), memberMark)).toBe(1);
    expect(html.indexOf(memberMark)).toBeGreaterThan(html.indexOf('any comments on the draft?'));
    const text = String(second.row.bodyText);
    const textAttribution = text.indexOf('On Sat, 5 Dec 2026');
    expect(text.slice(0, textAttribution)).toBe(
      'Karthik, any comments on the draft?\n\n-- \nVikram Rao\nExport Operations\n+91 98200 98200\n\nSeahawk Logistics Pvt Ltd\nUnit 402, Nerul Node, Navi Mumbai\n\n',
    );
    expect(count(text, 'Export Operations')).toBe(2);
    expect(text).toContain('> Vikram Rao');
  });

  it('does not sign again a body whose new part already carries the signature', async () => {
    const me = await json('GET', '/api/me', { as: 'agent' });
    const html = `<p>Please find the invoice attached.</p><div data-banxway-signature="member">${me.body.profile.signature}</div>`;
    const text = `Please find the invoice attached.\n\n-- \nVikram Rao\nExport Operations\n+91 98200 98200`;
    const { eml, row } = await replyAndSend({ html, text });
    expect(count(eml!.html!, memberMark)).toBe(1);
    expect(count(eml!.html!, orgMark)).toBe(1);
    expect(count(eml!.text, 'Export Operations')).toBe(1);
    expect(row.bodyText).toBe(`${text}\n\nSeahawk Logistics Pvt Ltd\nUnit 402, Nerul Node, Navi Mumbai`);
  });

  it('signs the request sent through Resend the same way', async () => {
    setConfig(resendConfig);
    await replyAndSend({ html: '<p>Vessel cut-off is Tuesday 18:00.</p>' });
    const body = fake.requests[0]!.body;
    expect(body.from).toBe(`"Vikram Rao | ${ORG}" <ops@seahawk-logistics.in>`);
    expect(body.html).toBe(
      `<p>Vessel cut-off is Tuesday 18:00.</p><div ${memberMark}><p>Vikram Rao<br />Export Operations<br />+91 98200 98200</p></div>` +
        `<div ${orgMark}><p>Seahawk Logistics Pvt Ltd<br />Unit 402, Nerul Node, Navi Mumbai</p></div>`,
    );
    expect(body.text).toBe(
      'Vessel cut-off is Tuesday 18:00.\n\n-- \nVikram Rao\nExport Operations\n+91 98200 98200\n\nSeahawk Logistics Pvt Ltd\nUnit 402, Nerul Node, Navi Mumbai',
    );
  });
});

describe('cc and bcc', () => {
  it('take "Name <address>" and plain address strings as well as objects', async () => {
    setConfig(resendConfig);
    const { row } = await replyAndSend({
      text: 'Copying the team.',
      cc: ['Anita Desai <Anita@TataTextiles.example>', 'docs@tatatextiles.example', { address: 'karthik.s@tatatextiles.example', name: 'Karthik S' }],
      bcc: ['"Rao, Vikram" <vikram@seahawk-logistics.in>'],
    });
    expect(row.ccRecipients).toEqual([
      { address: 'anita@tatatextiles.example', name: 'Anita Desai' },
      { address: 'docs@tatatextiles.example' },
      { address: 'karthik.s@tatatextiles.example', name: 'Karthik S' },
    ]);
    expect(row.bccRecipients).toEqual([{ address: 'vikram@seahawk-logistics.in', name: 'Rao, Vikram' }]);
    const body = fake.requests[0]!.body;
    expect(body.cc).toEqual(['"Anita Desai" <anita@tatatextiles.example>', 'docs@tatatextiles.example', '"Karthik S" <karthik.s@tatatextiles.example>']);
    expect(body.bcc).toEqual(['"Rao, Vikram" <vikram@seahawk-logistics.in>']);

    setConfig(localConfig);
    const local = await replyAndSend({ text: 'Copying the team.', cc: ['Anita Desai <anita@tatatextiles.example>'] });
    expect(local.eml!.cc).toEqual([{ address: 'anita@tatatextiles.example', name: 'Anita Desai' }]);
  });

  it('names each recipient that is not one email address', async () => {
    for (const [cc, path] of [
      [['not an address'], 'body.cc.0'],
      [['ok@tatatextiles.example', 'a@b.example, c@d.example'], 'body.cc.1'],
      [['Anita <anita@>'], 'body.cc.0'],
    ] as const) {
      const res = await json('POST', `/api/threads/${T1}/messages`, { as: 'agent', body: { text: 'x', cc } });
      expect(res.status, JSON.stringify(cc)).toBe(422);
      expect(res.body.error.details.issues.map((i: any) => i.path)).toEqual([path]);
    }
    const bcc = await json('POST', `/api/threads/${T1}/messages`, { as: 'agent', body: { text: 'x', bcc: [42] } });
    expect(bcc.body.error.details.issues.map((i: any) => i.path)).toEqual(['body.bcc.0']);
    expect(SEED_ORG_ID).toBeTruthy();
  });
});
