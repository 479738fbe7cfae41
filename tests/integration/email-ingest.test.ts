// The threading promise and the rest of the inbound pipeline, through parse + ingest.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ctx } from '../../lib/context.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { SECOND_ORG_ID, SEED_ORG_ID } from '../../lib/dev/seed.js';
import { ingestEmail, type Mailbox } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import { subjectTag, tokenAddress } from '../../lib/email/threading.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { cjkNoise, folded, mail, noise, type MailSpec } from '../helpers/mail.js';
import { newOrganization } from '../helpers/org.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const mailbox: Mailbox = { channelId: null, address: 'ops@seahawk-logistics.in' };

async function ingest(spec: MailSpec | string, orgId = SEED_ORG_ID) {
  const raw = typeof spec === 'string' ? spec : mail(spec);
  const parsed = await parseEmail(Buffer.from(raw));
  return withClaims(systemClaims(orgId), (sql) => {
    const ctx: Ctx = { requestId: 'test', userId: null, orgId, role: 'system', sql, jobs: [] };
    return ingestEmail(ctx, parsed, mailbox);
  });
}

const thread = async (id: string) => (await db.sql`select * from app.threads where id = ${id}`)[0]!;

describe('threading', () => {
  it("never joins a reply to another organization's thread, whatever ids it names", async () => {
    const theirs = await ingest({ from: 'j.becker@hamburghome.example', subject: 'Kiel delivery', messageId: 'kiel-1@hamburghome.example' }, SECOND_ORG_ID);
    const reply = await ingest({
      from: 'j.becker@hamburghome.example',
      subject: 'Re: Kiel delivery',
      messageId: 'kiel-2@hamburghome.example',
      inReplyTo: 'kiel-1@hamburghome.example',
    });
    expect(reply).toMatchObject({ outcome: 'stored', threadCreated: true });
    expect(reply.threadId).not.toBe(theirs.threadId);
    // The lookup behind it answers only for the acting organization, and nothing without claims.
    const known = (orgId: string) =>
      withClaims(systemClaims(orgId), (sql) => sql`select thread_id from app.messages_known_by(${['kiel-1@hamburghome.example']}::text[])`);
    expect((await known(SECOND_ORG_ID)).map((r) => r.threadId)).toEqual([theirs.threadId]);
    expect(await known(SEED_ORG_ID)).toEqual([]);
    expect(
      await db.sql.begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true)`;
        return tx`select * from app.messages_known_by(${['kiel-1@hamburghome.example']}::text[])`;
      }),
    ).toHaveLength(0);
  });

  it('starts a thread for new mail and joins a reply to it by In-Reply-To', async () => {
    const first = await ingest({
      from: 'Karthik <karthik@tatatextiles.example>',
      subject: 'Rates for 3x20GP Tuticorin to Colombo',
      messageId: 'q1@tatatextiles.example',
    });
    expect(first).toMatchObject({ outcome: 'stored', direction: 'inbound', threadCreated: true });
    const t = await thread(first.threadId);
    expect(t).toMatchObject({ customerId: '0d000000-0000-4000-8000-000000000001', counterpart: 'karthik@tatatextiles.example', messageCount: 1 });
    const reply = await ingest({
      from: 'karthik@tatatextiles.example',
      subject: 'Re: Rates',
      messageId: 'q2@tatatextiles.example',
      inReplyTo: 'q1@tatatextiles.example',
    });
    expect(reply.threadId).toBe(first.threadId);
    const ref = await ingest({
      from: 'meena@tatatextiles.example',
      subject: 'Re: something else entirely',
      references: '<other@x.example> <q2@tatatextiles.example>',
    });
    expect(ref.threadId).toBe(first.threadId);
  });

  it('joins a reply whose headers were stripped, by subject and the same sender within 14 days', async () => {
    const first = await ingest({ from: 'j.becker@hamburghome.example', subject: 'Delivery appointment Hamburg warehouse' });
    const stripped = await ingest({
      from: 'j.becker@hamburghome.example',
      subject: 'AW: RE: [EXTERNAL] Delivery appointment Hamburg warehouse',
      messageId: null,
    });
    expect(stripped.threadId).toBe(first.threadId);
  });

  it('never merges two customers because their subjects match', async () => {
    const a = await ingest({ from: 'karthik@tatatextiles.example', subject: 'Rate request' });
    const b = await ingest({ from: 'kavita.shah@sunrisepharma.example', subject: 'Rate request' });
    expect(b.threadId).not.toBe(a.threadId);
    expect((await thread(b.threadId)).customerId).toBe('0d000000-0000-4000-8000-000000000007');
  });

  it('does not make two gmail.com senders one customer', async () => {
    // Senders of this test's own: other tests' mail (the Gmail fixture) also comes from gmail.com.
    const run = randomUUID().slice(0, 8);
    const ravi = `ravi.exports.${run}@gmail.com`;
    const sita = `sita.traders.${run}@gmail.com`;
    const a = await ingest({ from: `Ravi <${ravi}>`, subject: `Need rates ${run}` });
    const b = await ingest({ from: `Sita <${sita}>`, subject: `Need rates ${run}` });
    expect(a.threadId).not.toBe(b.threadId);
    const contacts = await db.sql`select email, customer_id from app.contacts where email = any(${[ravi, sita]}::text[]) order by email`;
    expect(contacts.map((c) => [c.email, c.customerId])).toEqual([
      [ravi, null],
      [sita, null],
    ]);
  });

  it('threads by our token when the provider rewrote the Message-ID', async () => {
    const first = await ingest({ from: 'ops@rtmforwarding.example', subject: 'Pre-alert HBL RTM/26/1001' });
    const viaAddress = await ingest({
      from: 'ops@rtmforwarding.example',
      to: tokenAddress('ops@seahawk-logistics.in', first.threadId),
      subject: 'different words',
      inReplyTo: 'rewritten-by-provider@eu.resend.example',
    });
    expect(viaAddress.threadId).toBe(first.threadId);
    const viaSubject = await ingest({ from: 'someone@rtmforwarding.example', subject: `Re: anything ${subjectTag(first.threadId)}` });
    expect(viaSubject.threadId).toBe(first.threadId);
  });

  it('reopens pending, snoozed and recently resolved threads; a closed one starts a new linked thread', async () => {
    const first = await ingest({ from: 'ramesh@jaihindcha.example', subject: 'BE filing checklist', messageId: 'be1@jaihindcha.example' });
    for (const status of ['pending', 'resolved']) {
      await db.sql`update app.threads set status = ${status}, resolved_at = ${status === 'resolved' ? new Date() : null} where id = ${first.threadId}`;
      await ingest({ from: 'ramesh@jaihindcha.example', subject: 'Re: BE filing checklist', inReplyTo: 'be1@jaihindcha.example' });
      expect((await thread(first.threadId)).status).toBe('open');
    }
    await db.sql`update app.threads set status = 'resolved', resolved_at = now() - interval '31 days' where id = ${first.threadId}`;
    const late = await ingest({ from: 'ramesh@jaihindcha.example', subject: 'Re: BE filing checklist', inReplyTo: 'be1@jaihindcha.example' });
    expect(late.threadId).not.toBe(first.threadId);
    expect((await thread(late.threadId)).previousThreadId).toBe(first.threadId);
    await db.sql`update app.threads set status = 'closed', closed_at = now() where id = ${late.threadId}`;
    const afterClose = await ingest({ from: 'ramesh@jaihindcha.example', subject: 'Re: BE filing checklist', inReplyTo: 'be1@jaihindcha.example' });
    expect(afterClose.threadId).not.toBe(late.threadId);
    expect(afterClose.threadCreated).toBe(true);
  });

  it('stores the same message once however often it arrives', async () => {
    const spec = { from: 'karthik@tatatextiles.example', subject: 'Duplicate me', messageId: `dup-${randomUUID()}@x.example` };
    const raw = mail(spec);
    const results = await Promise.all([ingest(raw), ingest(raw), ingest(raw)]);
    expect(results.filter((r) => r.outcome === 'stored')).toHaveLength(1);
    expect(new Set(results.map((r) => r.messageId)).size).toBe(1);
    const noId = mail({ ...spec, messageId: null, date: new Date('2026-11-20T10:00:00Z') });
    expect((await ingest(noId)).outcome).toBe('stored');
    expect((await ingest(noId)).outcome).toBe('duplicate');
  });
});

describe('the rest of the pipeline', () => {
  it('marks mail from our own address or domain as outbound, counterpart the first outside recipient', async () => {
    const out = await ingest({ from: 'vikram@seahawk-logistics.in', to: 'kavita.shah@sunrisepharma.example', subject: 'Quote for AMD-AMS' });
    expect(out.direction).toBe('outbound');
    const t = await thread(out.threadId);
    expect(t).toMatchObject({ counterpart: 'kavita.shah@sunrisepharma.example', customerId: '0d000000-0000-4000-8000-000000000007' });
    expect(t.lastOutboundAt).not.toBeNull();
    expect(t.lastInboundAt).toBeNull();
  });

  it('links messages and threads to the shipments their identifiers name, keeping rejected links rejected', async () => {
    const r = await ingest({
      from: 'in.export@maersk.example',
      subject: 'Rollover notice',
      body: 'Container MSKU 123456-5 rolled to next vessel. B/L No: MAEU123456789.',
    });
    expect(r.identifiers.containers).toEqual(['MSKU1234565']);
    const links = await db.sql`select shipment_id, link_source, matched_identifier from app.thread_shipments where thread_id = ${r.threadId}`;
    expect(links).toEqual([{ shipmentId: '0f000000-0000-4000-8000-000000000001', linkSource: 'automatic', matchedIdentifier: 'MSKU1234565' }]);
    await db.sql`update app.thread_shipments set link_source = 'rejected' where thread_id = ${r.threadId}`;
    await ingest({ from: 'in.export@maersk.example', subject: 'Re: Rollover notice', body: 'Again MSKU1234565' });
    const after = await db.sql`select link_source from app.thread_shipments where thread_id = ${r.threadId}`;
    expect(after.map((l) => l.linkSource)).toEqual(['rejected']);
    const wrong = await ingest({ from: 'x@y.example', subject: 'MSKU1234566 status?' });
    expect(wrong.identifiers.containers).toEqual([]);
  });

  it('links later mail naming a house B/L or a house AWB, and stores the identifiers on the message', async () => {
    const o = await newOrganization(db.sql);
    const sea = await o.json('POST', '/api/shipments', { body: { reference: `H/${randomUUID().slice(0, 6)}`, mode: 'sea_lcl', hbls: ['HBLX20270001'] } });
    const air = await o.json('POST', '/api/shipments', { body: { reference: `H/${randomUUID().slice(0, 6)}`, mode: 'air', hawbs: ['176-12345675'] } });
    expect([sea.status, air.status]).toEqual([201, 201]);
    const bl = await ingest({ from: 'docs@agent.example', subject: 'Draft HBL', body: 'Please check HBL No: HBLX20270001 before release.' }, o.id);
    const awb = await ingest({ from: 'air@agent.example', subject: 'Flight details', body: 'HAWB 176 1234 5675 departs tonight.' }, o.id);
    const linkOf = async (threadId: string) =>
      (await db.sql`select shipment_id, matched_identifier from app.thread_shipments where thread_id = ${threadId}`).map((l) => [
        l.shipmentId,
        l.matchedIdentifier,
      ]);
    expect(await linkOf(bl.threadId)).toEqual([[sea.body.id, 'HBLX20270001']]);
    expect(await linkOf(awb.threadId)).toEqual([[air.body.id, '176-12345675']]);
    const [m] = await db.sql`select identifiers from app.messages where id = ${awb.messageId}`;
    expect(m!.identifiers).toEqual(['176-12345675']);
  });

  it('flags auto-replies, which reopen nothing', async () => {
    const first = await ingest({ from: 'j.becker@hamburghome.example', subject: 'Invoice copy', messageId: 'inv1@hamburghome.example' });
    await db.sql`update app.threads set status = 'pending' where id = ${first.threadId}`;
    const ooo = await ingest({
      from: 'j.becker@hamburghome.example',
      subject: 'Automatic reply: Invoice copy',
      inReplyTo: 'inv1@hamburghome.example',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    expect(ooo.threadId).toBe(first.threadId);
    const [m] = await db.sql`select is_auto_reply from app.messages where id = ${ooo.messageId}`;
    expect(m!.isAutoReply).toBe(true);
    expect((await thread(first.threadId)).status).toBe('pending');
  });

  it('stores attachments in the file store with their SHA-256, downloadable through the API', async () => {
    const raw = readFileSync(new URL('../fixtures/mime/gmail-reply-invoice.eml', import.meta.url), 'utf8');
    const r = await ingest(raw);
    const rows = await db.sql`select id, filename, content_type, size_bytes, sha256, status from app.attachments where message_id = ${r.messageId}`;
    expect(rows.length).toBeGreaterThan(0);
    const pdf = rows.find((a) => a.contentType === 'application/pdf')!;
    expect(pdf).toMatchObject({ status: 'ready' });
    expect(pdf.sha256).toMatch(/^[0-9a-f]{64}$/);
    const got = await json('GET', `/api/attachments/${pdf.id}`);
    expect(got.body.download.url).toContain('/api/storage/object');
    const again = await ingest(raw);
    expect(again.outcome).toBe('duplicate');
    expect((await db.sql`select 1 from app.attachments where message_id = ${r.messageId}`).length).toBe(rows.length);
  });

  it('announces the new message and thread on the realtime topics', async () => {
    const before = (await db.sql`select count(*)::int as n from realtime.messages`)[0]!.n as number;
    const r = await ingest({ from: 'karthik@tatatextiles.example', subject: 'Realtime check' });
    const rows = await db.sql`select topic, event from realtime.messages order by inserted_at, event, topic offset ${before}`;
    expect(rows.map((x) => `${x.topic} ${x.event}`)).toEqual([
      `org:${SEED_ORG_ID}:thread:${r.threadId} message.created`,
      `org:${SEED_ORG_ID} thread.created`,
      `org:${SEED_ORG_ID}:thread:${r.threadId} thread.created`,
    ]);
    const listed = await json('GET', '/api/threads?q=realtime%20check');
    expect(listed.body.data.map((t: any) => t.id)).toEqual([r.threadId]);
  });
});

describe('headers longer than an index entry (about 2,700 bytes) can hold', () => {
  /** A message with these header lines (folded or not, as given) and a short body. */
  const raw = (...headers: string[]) =>
    [
      ...headers,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Please see below.',
      '',
    ].join('\r\n');
  const messageRow = async (id: string) => (await db.sql`select * from app.messages where id = ${id}`)[0]!;

  it('stores a 6,000-character subject whole on the message, and threads the next message by it', async () => {
    const subject = noise(6000);
    const from = `shipper.${randomUUID().slice(0, 8)}@longsubjects.example`;
    const first = await ingest(
      raw(`From: ${from}`, 'To: ops@seahawk-logistics.in', folded('Subject', subject), `Message-ID: <${randomUUID()}@longsubjects.example>`),
    );
    expect(first).toMatchObject({ outcome: 'stored', threadCreated: true });
    expect((await messageRow(first.messageId)).subject).toBe(subject);
    const t = await thread(first.threadId);
    expect(t.subject).toBe(subject.slice(0, 1000));
    // Header-stripped reply: found by the same normalised subject and sender.
    const reply = await ingest(raw(`From: ${from}`, 'To: ops@seahawk-logistics.in', folded('Subject', `RE: ${subject}`)));
    expect(reply).toMatchObject({ outcome: 'stored', threadId: first.threadId });
    const wide = cjkNoise(3000);
    const cjk = await ingest(raw(`From: ${from}`, 'To: ops@seahawk-logistics.in', `Subject: =?UTF-8?B?${Buffer.from(wide).toString('base64')}?=`));
    expect(cjk.outcome).toBe('stored');
    expect((await messageRow(cjk.messageId)).subject).toBe(wide);
  });

  it('stores mail from a 3,500-character address and from a 3,500-character name, keeping both whole', async () => {
    const address = `${noise(3500, '.')}@longsender.example`.toLowerCase();
    const byAddress = await ingest(raw(`From: <${address}>`, 'To: ops@seahawk-logistics.in', 'Subject: Long address'));
    expect(byAddress.outcome).toBe('stored');
    expect((await messageRow(byAddress.messageId)).fromAddress).toBe(address);
    expect((await thread(byAddress.threadId)).counterpart).toBe(address);
    const again = await ingest(raw(`From: <${address}>`, 'To: ops@seahawk-logistics.in', 'Subject: Re: Long address'));
    expect(again.threadId).toBe(byAddress.threadId);

    const name = noise(3500);
    const sender = `someone.${randomUUID().slice(0, 8)}@longname.example`;
    const byName = await ingest(raw(folded('From', `"${name}" <${sender}>`), 'To: ops@seahawk-logistics.in', 'Subject: Long name'));
    expect(byName.outcome).toBe('stored');
    expect((await messageRow(byName.messageId)).fromName).toBe(name);
    const [contact] = await db.sql`select name from app.contacts where email = ${sender}`;
    expect(contact!.name).toBe(name.slice(0, 300).trim());
  });

  it('stores mail whose Message-ID, In-Reply-To or References are huge, and mail to a 3,000-character address', async () => {
    const sender = `agent.${randomUUID().slice(0, 8)}@longids.example`;
    const hugeId = `${noise(5000, '')}@longids.example`;
    // Ids up to a header line's 998 octets are kept; longer ones cannot be used. (Raw 8-bit bytes in an id
    // are kept byte for byte, each as one character, two bytes in the database: 150 CJK characters take 900.)
    const wideId = `${cjkNoise(150)}@longids.example`;
    const tooWideId = `${cjkNoise(980)}@longids.example`;
    const references = Array.from({ length: 500 }, () => `<${noise(60, '')}@longids.example>`).join(' ');
    const results = [
      await ingest(raw(`From: ${sender}`, 'To: ops@seahawk-logistics.in', 'Subject: Huge id', `Message-ID: <${hugeId}>`)),
      await ingest(raw(`From: ${sender}`, 'To: ops@seahawk-logistics.in', 'Subject: Wide id', `Message-ID: <${wideId}>`)),
      await ingest(raw(`From: ${sender}`, 'To: ops@seahawk-logistics.in', 'Subject: Too wide id', `Message-ID: <${tooWideId}>`)),
      await ingest(
        raw(
          `From: ${sender}`,
          'To: ops@seahawk-logistics.in',
          'Subject: Huge reply',
          `In-Reply-To: <${hugeId}>`,
          `References: <${noise(5000, '')}@longids.example> <${tooWideId}> <${wideId}>`,
        ),
      ),
      await ingest(raw(`From: ${sender}`, 'To: ops@seahawk-logistics.in', 'Subject: Many references', folded('References', references))),
      await ingest(raw('From: ops@seahawk-logistics.in', `To: <${noise(3000, '.')}@longrecipient.example>`, 'Subject: Outbound to a long address')),
    ];
    expect(results.map((r) => r.outcome)).toEqual(['stored', 'stored', 'stored', 'stored', 'stored', 'stored']);
    const ids = await Promise.all(results.slice(0, 3).map(async (r) => (await messageRow(r.messageId)).rfcMessageId));
    expect(ids).toEqual([null, expect.stringMatching(/@longids\.example$/), null]);
    // The reply names the kept id among unusable ones, and joins its thread.
    expect(results[3]!.threadId).toBe(results[1]!.threadId);
    expect((await messageRow(results[4]!.messageId)).referencesIds).toHaveLength(100);
  });
});
