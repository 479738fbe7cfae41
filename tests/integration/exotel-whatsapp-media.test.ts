// Files on WhatsApp, through the HTTP API against a local server speaking Exotel's API (the production
// adapter) and through the local sink: a reply or a draft with attachmentIds goes out as one WhatsApp
// message per file (Exotel's `image` and `document` content, linked through a short-lived signed URL
// to the stored file), its text as the first one's caption; WhatsApp's formats and limits are a 422
// naming body.attachmentIds.N before anything is queued; each part's delivery report moves the
// message; and a retry never sends a part Exotel accepted a second time.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import { httpExotel, localExotel, useExotelAdapter, type ExotelAdapter } from '../../lib/exotel/adapter.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { runJob } from '../../lib/jobs/run.js';
import { call, json, router } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_EXOTEL, fakeExotel, type AcceptedMessage, type FakeExotel } from '../helpers/fake-exotel.js';

const PUBLIC = 'https://banxway.example';
const exotel = { ...FAKE_EXOTEL, subdomain: 'api.in.exotel.com' };
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 1), Buffer.from([0xff, 0xd9])]);
const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(4096, 7), Buffer.from('\n%%EOF')]);

let db: TestDatabase;
let fake: FakeExotel;
let saved: Config;
let storageDir: string;
let outDir: string;
let wa: { id: string; secret: string };
let numbers = 0;

/** A conversation of the calling test's own, opened by the customer's message (the 24-hour window is open). */
async function conversation(): Promise<string> {
  const from = `9198765004${String(++numbers).padStart(2, '0')}`;
  const res = await call('POST', `/api/webhooks/exotel/${wa.id}?token=${wa.secret}`, {
    token: null,
    body: {
      whatsapp: {
        messages: [
          {
            callback_type: 'icm',
            sid: `wa-in-media-${from}`,
            from,
            to: '912250006666',
            timestamp: new Date().toISOString(),
            content: { type: 'text', text: { body: 'Send the docs' } },
          },
        ],
      },
    },
  });
  expect(res.status).toBe(200);
  const [t] = await db.sql<{ id: string }[]>`select id from app.threads where counterpart = ${`+${from}`}`;
  return t!.id;
}

/** Calls a URL the API handed out (on PUBLIC_BASE_URL) through the in-process router. */
function viaRouter(url: string, init: { method: string; headers?: Record<string, string>; body?: Uint8Array }) {
  const u = new URL(url);
  expect(u.origin).toBe(PUBLIC);
  return router.fetch(new Request(`http://localhost${u.pathname}${u.search}`, init as RequestInit));
}

/** Uploads a file the way a client does (upload URL, PUT, confirm) and answers its attachment id. */
async function upload(filename: string, contentType: string, bytes: Buffer, threadId: string): Promise<string> {
  const started = await json('POST', '/api/attachments/uploads', { as: 'agent', body: { filename, contentType, sizeBytes: bytes.length, threadId } });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const put = await viaRouter(started.body.upload.url, { method: 'PUT', headers: started.body.upload.headers, body: bytes });
  expect(put.status).toBe(200);
  const confirmed = await json('POST', `/api/attachments/${started.body.attachment.id}/confirm`, { as: 'agent' });
  expect(confirmed.status).toBe(200);
  return started.body.attachment.id;
}

const reply = (threadId: string, body: Record<string, unknown>) => json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body });
const sentContents = () => fake.sendRequests().map((r) => r.json.whatsapp.messages[0].content);
const outboxJob = async (messageId: string) =>
  (await db.sql<{ id: string }[]>`select id from app.outbox where name = 'exotel.send' and payload->>'messageId' = ${messageId}`)[0]!.id;
const attempts = (messageId: string) =>
  db.sql<{ idempotencyKey: string; state: string; providerMessageId: string | null }[]>`
    select idempotency_key, state, provider_message_id from app.send_attempts where message_id = ${messageId} order by started_at, id`;
const message = async (id: string) =>
  (
    await db.sql<{ status: string; providerMessageId: string | null; externalIds: string[]; errorCode: string | null; errorMessage: string | null }[]>`
      select status, provider_message_id, external_ids, error_code, error_message from app.messages where id = ${id}`
  )[0]!;

/** The delivery report Exotel posts to the status_callback we gave, for one WhatsApp message. */
async function report(m: AcceptedMessage, code: number) {
  const cb = new URL(m.statusCallback!);
  const res = await call('POST', `${cb.pathname}${cb.search}`, {
    token: null,
    body: {
      whatsapp: {
        messages: [
          {
            callback_type: 'dlr',
            sid: m.sid,
            to: m.to,
            exo_status_code: code,
            exo_detailed_status: 'EX_STATUS',
            description: 'report',
            timestamp: new Date().toISOString(),
            custom_data: m.customData,
          },
        ],
      },
    },
  });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  db = await testDatabase();
  fake = await fakeExotel();
  saved = config();
  storageDir = mkdtempSync(join(tmpdir(), 'banxway-wa-media-'));
  outDir = mkdtempSync(join(tmpdir(), 'banxway-wa-media-out-'));
  setConfig(
    parseConfig({
      ...process.env,
      PUBLIC_BASE_URL: PUBLIC,
      EXOTEL_BASE_URL: fake.url,
      EXOTEL_MEDIA_HOSTS: fake.host,
      ALLOW_PRIVATE_NETWORK_HOSTS: 'true',
      STORAGE_DIR: storageDir,
      EXOTEL_OUT_DIR: outDir,
    }),
  );
  const res = await json('POST', '/api/channels', {
    as: 'admin',
    body: { kind: 'whatsapp', name: 'Media WhatsApp', address: '+912250006666', exotel, templates: [{ name: 'hello', language: 'en' }] },
  });
  expect(res.status).toBe(201);
  wa = { id: res.body.id, secret: res.body.webhook.secret };
});

afterAll(async () => {
  setConfig(saved);
  await fake.close();
  await db.close();
  rmSync(storageDir, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
});

beforeEach(() => fake.reset());
afterEach(() => useExotelAdapter(undefined));

describe('WhatsApp replies with files', () => {
  it('sends one WhatsApp message per file, the text as the first caption, each linked to its stored file by a short-lived signed URL', async () => {
    const threadId = await conversation();
    const photo = await upload('Seal photo.jpg', 'image/jpeg', JPEG, threadId);
    const booking = await upload('Booking BKG2291.pdf', 'application/pdf', PDF, threadId);
    const res = await reply(threadId, { text: 'Seal photo and booking confirmation attached', attachmentIds: [photo, booking] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.attachments.map((a: any) => a.filename)).toEqual(['Seal photo.jpg', 'Booking BKG2291.pdf']);
    await drainJobs();

    const sent = fake.sendRequests();
    expect(sent).toHaveLength(2);
    for (const r of sent) {
      expect(r.path).toBe('/v2/accounts/seahawk1/messages');
      expect(r.json.custom_data).toBe(res.body.id);
      expect(r.json.status_callback).toMatch(new RegExp(`^${PUBLIC}/api/webhooks/exotel/${wa.id}\\?token=cb_`));
      expect(r.json.whatsapp.messages[0]).toMatchObject({ from: '+912250006666', to: expect.stringMatching(/^\+9198765004/) });
    }
    const [image, document] = sentContents();
    expect(image).toEqual({
      recipient_type: 'individual',
      type: 'image',
      image: { link: expect.stringMatching(new RegExp(`^${PUBLIC}/api/storage/object\\?`)), caption: 'Seal photo and booking confirmation attached' },
    });
    expect(document).toEqual({
      recipient_type: 'individual',
      type: 'document',
      document: { link: expect.stringMatching(new RegExp(`^${PUBLIC}/api/storage/object\\?`)), filename: 'Booking BKG2291.pdf' },
    });
    // The links serve the stored bytes, for 15 minutes.
    for (const [link, bytes] of [
      [image.image.link, JPEG],
      [document.document.link, PDF],
    ] as const) {
      const got = await viaRouter(link, { method: 'GET' });
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
      const expiresIn = Number(new URL(link).searchParams.get('exp')) * 1000 - Date.now();
      expect(expiresIn).toBeGreaterThan(14 * 60_000);
      expect(expiresIn).toBeLessThanOrEqual(15 * 60_000);
    }

    const [first, second] = fake.accepted;
    expect(await message(res.body.id)).toMatchObject({ status: 'sent', providerMessageId: first!.sid, externalIds: [first!.sid, second!.sid] });
    expect(await attempts(res.body.id)).toEqual([
      { idempotencyKey: res.body.id, state: 'accepted', providerMessageId: first!.sid },
      { idempotencyKey: `${res.body.id}:2`, state: 'accepted', providerMessageId: second!.sid },
    ]);

    // Each part's delivery report reaches the message: the document delivered, then the image failed.
    await report(second!, 30002);
    expect((await message(res.body.id)).status).toBe('delivered');
    await report(first!, 30008);
    expect(await message(res.body.id)).toMatchObject({ status: 'failed', errorCode: '30008' });
  });

  it('sends a text too long for a caption as a message of its own, before the files', async () => {
    const threadId = await conversation();
    const pdf = await upload('Invoice 4471.pdf', 'application/pdf', PDF, threadId);
    const text = `Invoice details: ${'freight and local charges, '.repeat(40)}`.trim();
    expect(text.length).toBeGreaterThan(1024);
    const res = await reply(threadId, { text, attachmentIds: [pdf] });
    expect(res.status).toBe(201);
    await drainJobs();
    expect(sentContents()).toEqual([
      { recipient_type: 'individual', type: 'text', text: { body: text } },
      { recipient_type: 'individual', type: 'document', document: { link: expect.any(String), filename: 'Invoice 4471.pdf' } },
    ]);
    // Files alone need no text.
    const photo = await upload('truck.png', 'image/png', JPEG, threadId);
    const alone = await reply(threadId, { attachmentIds: [photo] });
    expect(alone.status, JSON.stringify(alone.body)).toBe(201);
    await drainJobs();
    expect(sentContents().at(-1)).toEqual({ recipient_type: 'individual', type: 'image', image: { link: expect.any(String) } });
    expect(await attempts(alone.body.id)).toEqual([{ idempotencyKey: alone.body.id, state: 'accepted', providerMessageId: fake.accepted.at(-1)!.sid }]);
  });

  it('refuses what WhatsApp does not carry, or over its limits, with a 422 naming body.attachmentIds.N, before anything is queued', async () => {
    const threadId = await conversation();
    const pdf = await upload('Packing list.pdf', 'application/pdf', PDF, threadId);
    const zip = await upload('Docs.zip', 'application/zip', Buffer.from('PK\u0003\u0004 zipped'), threadId);
    const bigPhoto = await upload('Big.jpg', 'image/jpeg', Buffer.alloc(5_000_001, 1), threadId);
    const hugeDoc = await upload('Manifest.pdf', 'application/pdf', PDF, threadId);
    // A 100 MB upload is more than a test should move: the recorded size is what the limit reads.
    await db.sql`update app.attachments set size_bytes = 100000001 where id = ${hugeDoc}`;
    const count = async () => (await db.sql`select 1 from app.messages where thread_id = ${threadId} and direction = 'outbound'`).length;
    const before = await count();

    const type = await reply(threadId, { text: 'Docs', attachmentIds: [pdf, zip] });
    expect(type.status).toBe(422);
    expect(type.body.error.details.issues).toEqual([
      { path: 'body.attachmentIds.1', message: expect.stringContaining('application/zip, which WhatsApp does not carry') },
    ]);
    const image = await reply(threadId, { attachmentIds: [bigPhoto, pdf] });
    expect(image.status).toBe(422);
    expect(image.body.error.details.issues).toEqual([{ path: 'body.attachmentIds.0', message: expect.stringContaining('more than the 5 MB') }]);
    const doc = await reply(threadId, { text: 'Manifest', attachmentIds: [pdf, hugeDoc] });
    expect(doc.status).toBe(422);
    expect(doc.body.error.details.issues).toEqual([{ path: 'body.attachmentIds.1', message: expect.stringContaining('more than the 100 MB') }]);
    const template = await reply(threadId, { template: { name: 'hello', language: 'en' }, attachmentIds: [pdf] });
    expect(template.status).toBe(422);
    expect(template.body.error.details.issues[0].path).toBe('body.attachmentIds');
    const draft = await reply(threadId, { draft: true, attachmentIds: [zip] });
    expect(draft.status).toBe(422);
    expect(draft.body.error.details.issues[0].path).toBe('body.attachmentIds.0');
    expect(await count()).toBe(before);
    await drainJobs();
    expect(fake.sendRequests()).toHaveLength(0);

    // Nothing was kept: the refused files are still free, and outside the 24-hour window files wait for a template.
    const ok = await reply(threadId, { attachmentIds: [pdf] });
    expect(ok.status).toBe(201);
    await drainJobs();
    expect(sentContents()).toEqual([{ recipient_type: 'individual', type: 'document', document: { link: expect.any(String), filename: 'Packing list.pdf' } }]);
    await db.sql`update app.threads set last_inbound_at = now() - interval '25 hours' where id = ${threadId}`;
    const late = await reply(threadId, { attachmentIds: [zip] });
    expect(late.status).toBe(422);
    const pdf2 = await upload('Late.pdf', 'application/pdf', PDF, threadId);
    const closed = await reply(threadId, { attachmentIds: [pdf2] });
    expect(closed.status).toBe(422);
    expect(closed.body.error.details.issues[0].path).toBe('body.template');
  });

  it('checks the files of a draft when they are attached, and sends it as the reply would go', async () => {
    const threadId = await conversation();
    const pdf = await upload('DO 7781.pdf', 'application/pdf', PDF, threadId);
    const zip = await upload('All.zip', 'application/zip', Buffer.from('PK zipped'), threadId);
    const draft = await reply(threadId, { draft: true, text: 'Delivery order attached', attachmentIds: [pdf] });
    expect(draft.status).toBe(201);
    const bad = await json('PATCH', `/api/messages/${draft.body.id}`, { as: 'agent', body: { attachmentIds: [pdf, zip] } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues).toEqual([{ path: 'body.attachmentIds.1', message: expect.stringContaining('does not carry') }]);
    const sent = await json('POST', `/api/messages/${draft.body.id}/send`, { as: 'agent' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    await drainJobs();
    expect(sentContents()).toEqual([
      { recipient_type: 'individual', type: 'document', document: { link: expect.any(String), filename: 'DO 7781.pdf', caption: 'Delivery order attached' } },
    ]);
    expect((await message(draft.body.id)).status).toBe('sent');
  });

  it('never sends a part twice: a run that died after Exotel accepted one waits for its report, and a refused part is retried alone', async () => {
    const threadId = await conversation();
    const photo = await upload('Gate in.jpg', 'image/jpeg', JPEG, threadId);
    const eir = await upload('EIR.pdf', 'application/pdf', PDF, threadId);
    const res = await reply(threadId, { text: 'Gate-in photo and EIR', attachmentIds: [photo, eir] });
    const jobId = await outboxJob(res.body.id);
    // Exotel accepts the second part, then this process dies before it records anything.
    let calls = 0;
    const crashing: ExotelAdapter = {
      ...httpExotel,
      async sendWhatsApp(creds, msg) {
        const accepted = await httpExotel.sendWhatsApp(creds, msg);
        if (++calls === 2) throw new Error('simulated crash after Exotel accepted the message');
        return accepted;
      },
    };
    useExotelAdapter(crashing);
    expect(await runJob(jobId)).toBe('retry');
    expect(fake.sendRequests()).toHaveLength(2);
    expect(await attempts(res.body.id)).toEqual([
      { idempotencyKey: res.body.id, state: 'accepted', providerMessageId: fake.accepted[0]!.sid },
      { idempotencyKey: `${res.body.id}:2`, state: 'calling', providerMessageId: null },
    ]);
    const dueNow = () => db.sql`update app.outbox set run_at = now() where id = ${jobId} and status = 'pending'`;
    await dueNow();
    expect(await runJob(jobId)).toBe('retry');
    expect(fake.sendRequests()).toHaveLength(2);
    // Exotel's report on the second part names our custom data: it was accepted, under this sid.
    await report(fake.accepted[1]!, 30001);
    await dueNow();
    expect(await runJob(jobId)).toBe('done');
    expect(fake.sendRequests()).toHaveLength(2);
    expect(await attempts(res.body.id)).toEqual([
      { idempotencyKey: res.body.id, state: 'accepted', providerMessageId: fake.accepted[0]!.sid },
      { idempotencyKey: `${res.body.id}:2`, state: 'accepted', providerMessageId: fake.accepted[1]!.sid },
    ]);
    expect(await message(res.body.id)).toMatchObject({ status: 'sent', externalIds: [fake.accepted[0]!.sid, fake.accepted[1]!.sid] });
    useExotelAdapter(undefined);

    // Exotel refuses the second part: the message fails naming it; the retry sends that part alone.
    fake.reset();
    const again = await reply(threadId, {
      text: 'Photo and EIR again',
      attachmentIds: [await upload('Seal.jpg', 'image/jpeg', JPEG, threadId), await upload('EIR2.pdf', 'application/pdf', PDF, threadId)],
    });
    const againJob = await outboxJob(again.body.id);
    let sends = 0;
    useExotelAdapter({
      ...httpExotel,
      async sendWhatsApp(creds, msg) {
        if (++sends === 2) fake.fail({ kind: 'whatsapp-entry', code: 1013, message: 'Media download error' });
        return httpExotel.sendWhatsApp(creds, msg);
      },
    });
    expect(await runJob(againJob)).toBe('dead');
    expect(await message(again.body.id)).toMatchObject({
      status: 'failed',
      errorMessage: expect.stringContaining('Media download error (WhatsApp message 2 of 2 (EIR2.pdf))'),
    });
    expect(fake.accepted).toHaveLength(1);
    const retried = await json('POST', `/api/admin/jobs/${againJob}/retry`, { as: 'admin' });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    await drainJobs();
    expect(fake.sendRequests()).toHaveLength(3);
    expect(fake.sendRequests().map((r) => r.json.whatsapp.messages[0].content.type)).toEqual(['image', 'document', 'document']);
    expect(await message(again.body.id)).toMatchObject({ status: 'sent', providerMessageId: fake.accepted[0]!.sid });
  });

  it('fails a message whose later part is refused even when an earlier part was already reported delivered', async () => {
    const threadId = await conversation();
    const res = await reply(threadId, {
      attachmentIds: [await upload('Before.jpg', 'image/jpeg', JPEG, threadId), await upload('Survey.pdf', 'application/pdf', PDF, threadId)],
    });
    const jobId = await outboxJob(res.body.id);
    let sends = 0;
    useExotelAdapter({
      ...httpExotel,
      async sendWhatsApp(creds, msg) {
        if (++sends === 2) {
          // The first part's delivery report arrives while the second is being sent, and Exotel refuses that one.
          await report(fake.accepted[0]!, 30002);
          expect((await message(res.body.id)).status).toBe('delivered');
          fake.fail({ kind: 'whatsapp-entry', code: 1013, message: 'Media download error' });
        }
        return httpExotel.sendWhatsApp(creds, msg);
      },
    });
    expect(await runJob(jobId)).toBe('dead');
    expect(await message(res.body.id)).toMatchObject({ status: 'failed', errorMessage: expect.stringContaining('WhatsApp message 2 of 2 (Survey.pdf)') });
  });

  it('refuses files on an SMS thread (422 naming body.attachmentIds)', async () => {
    const created = await json('POST', '/api/channels', {
      as: 'admin',
      body: {
        kind: 'sms',
        name: 'Media SMS',
        address: 'SEAMED',
        exotel,
        dltEntityId: '1101234567890123456',
        smsTemplates: [{ id: '1107160000000012345', name: 'general_reply', body: '{#var#}{#var#}{#var#} - Seahawk Logistics' }],
      },
    });
    expect(created.status).toBe(201);
    const q = new URLSearchParams({ SmsSid: 'sms-in-media-1', From: '09876500499', To: 'SEAMED', Body: 'Send the B/L', token: created.body.webhook.secret });
    expect((await call('GET', `/api/webhooks/exotel/${created.body.id}?${q}`, { token: null })).status).toBe(200);
    const [t] = await db.sql<{ threadId: string }[]>`select thread_id from app.messages where provider_message_id = 'sms-in-media-1'`;
    const pdf = await upload('BL.pdf', 'application/pdf', PDF, t!.threadId);
    const res = await reply(t!.threadId, { text: 'B/L on its way - Seahawk Logistics', attachmentIds: [pdf] });
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues).toEqual([{ path: 'body.attachmentIds', message: expect.stringContaining('an SMS carries no attachments') }]);
  });

  it('with the local sink, writes each part as its own file', async () => {
    useExotelAdapter(localExotel);
    const threadId = await conversation();
    const photo = await upload('Container.jpg', 'image/jpeg', JPEG, threadId);
    const bl = await upload('Draft BL.pdf', 'application/pdf', PDF, threadId);
    const res = await reply(threadId, { text: 'Container photo and draft B/L', attachmentIds: [photo, bl] });
    expect(res.status).toBe(201);
    await drainJobs();
    const read = (name: string) => JSON.parse(readFileSync(join(outDir, name), 'utf8'));
    const first = read(`whatsapp-${res.body.id}.json`);
    const second = read(`whatsapp-${res.body.id}_2.json`);
    expect(first.request.json).toMatchObject({
      custom_data: res.body.id,
      status_callback: expect.stringContaining(`/api/webhooks/exotel/${wa.id}?token=cb_`),
      whatsapp: {
        messages: [{ content: { type: 'image', image: { link: expect.stringContaining('/api/storage/object?'), caption: 'Container photo and draft B/L' } } }],
      },
    });
    expect(second.request.json.whatsapp.messages[0].content).toEqual({
      recipient_type: 'individual',
      type: 'document',
      document: { link: expect.stringContaining('/api/storage/object?'), filename: 'Draft BL.pdf' },
    });
    expect(await message(res.body.id)).toMatchObject({ status: 'sent', providerMessageId: first.sid, externalIds: [first.sid, second.sid] });
    expect(fake.sendRequests()).toHaveLength(0);
  });
});
