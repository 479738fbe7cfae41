// Attachments through the HTTP API: ask for an upload URL, PUT the bytes to the storage route, confirm,
// download through the signed URL; every refusal with its 4xx; tenancy and roles; the same flow on the
// Supabase adapter against a local Storage server; and the server-side helpers for inbound email.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { storeInboundAttachment, storeRawSource } from '../../lib/attachments/service.js';
import { config } from '../../lib/config.js';
import type { Ctx } from '../../lib/context.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { SEED_ORG_ID, SECOND_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { LocalStorage, storage, SupabaseStorage, useStorage } from '../../lib/storage/index.js';
import { json, router } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { broadcastsSince } from '../helpers/realtime.js';
import { fakeSupabaseStorage, SERVICE_ROLE_KEY, type FakeSupabaseStorage } from '../helpers/supabase-storage.js';

let db: TestDatabase;
let dir: string;
let local: LocalStorage;
beforeAll(async () => {
  db = await testDatabase();
  dir = await mkdtemp(join(tmpdir(), 'banxway-attachments-'));
  local = new LocalStorage({ dir, secret: config().storageSigningSecret, baseUrl: config().publicBaseUrl });
  useStorage(local);
});
afterAll(async () => {
  useStorage(undefined);
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const T1 = '10000001-0000-4000-8000-000000000001';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(300_000, 7), Buffer.from('\n%%EOF')]);

/** Calls a URL the API handed out (on PUBLIC_BASE_URL) through the in-process router. */
function viaRouter(url: string, init: { method: string; headers?: Record<string, string>; body?: Uint8Array | string }) {
  const u = new URL(url);
  expect(u.origin).toBe(config().publicBaseUrl);
  return router.fetch(new Request(`http://localhost${u.pathname}${u.search}`, init as RequestInit));
}

async function startUpload(body: Record<string, unknown>, as: 'agent' | 'manager' = 'agent') {
  const res = await json('POST', '/api/attachments/uploads', { as, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { attachment: any; upload: { url: string; method: string; headers: Record<string, string>; expiresAt: string } };
}

describe('uploading and downloading an attachment', () => {
  it('runs the whole flow: URL, PUT, confirm, signed download with the same bytes and hash', async () => {
    const since = await broadcastsSince(db.sql);
    const { attachment, upload } = await startUpload({
      filename: 'Draft BL – HLXU3002457 (rev 2).pdf',
      contentType: 'application/pdf',
      sizeBytes: PDF.length,
      threadId: T1,
    });
    expect(attachment).toMatchObject({
      filename: 'Draft BL – HLXU3002457 (rev 2).pdf',
      contentType: 'application/pdf',
      sizeBytes: PDF.length,
      status: 'pending',
      sha256: null,
      threadId: T1,
      uploadedBy: SEED_USERS.agent.id,
    });
    expect(attachment.storagePath).toBeUndefined();
    expect(upload.method).toBe('PUT');
    expect(upload.headers).toEqual({ 'content-type': 'application/pdf' });
    expect(upload.url).toMatch(new RegExp(`^${config().publicBaseUrl}/api/storage/object\\?`));
    const expiresIn = Date.parse(upload.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(14 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(15 * 60_000);

    const [row] = await db.sql<{ storagePath: string; status: string }[]>`select storage_path, status from app.attachments where id = ${attachment.id}`;
    expect(row).toEqual({ storagePath: `org/${SEED_ORG_ID}/attachments/${attachment.id}/Draft_BL_HLXU3002457_rev_2.pdf`, status: 'pending' });

    const put = await viaRouter(upload.url, { method: 'PUT', headers: upload.headers, body: PDF });
    expect(put.status).toBe(200);

    const confirmed = await json('POST', `/api/attachments/${attachment.id}/confirm`);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ id: attachment.id, status: 'ready', sizeBytes: PDF.length, sha256: sha(PDF) });

    const read = await json('GET', `/api/attachments/${attachment.id}`, { as: 'viewer' });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: attachment.id, status: 'ready', sha256: sha(PDF) });
    const ttl = Date.parse(read.body.download.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(4 * 60_000);
    expect(ttl).toBeLessThanOrEqual(5 * 60_000);

    const download = await viaRouter(read.body.download.url, { method: 'GET' });
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(bytes.equals(PDF)).toBe(true);
    expect(sha(bytes)).toBe(read.body.sha256);
    expect(download.headers.get('content-type')).toBe('application/pdf');
    expect(download.headers.get('content-disposition')).toContain(`filename*=UTF-8''Draft%20BL%20%E2%80%93%20HLXU3002457%20%28rev%202%29.pdf`);
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');

    // Confirming again changes nothing and announces nothing.
    const again = await json('POST', `/api/attachments/${attachment.id}/confirm`);
    expect(again.body).toEqual(confirmed.body);

    const events = await since();
    expect(events.map((e) => `${e.topic} ${e.event}`)).toEqual([
      `org:${SEED_ORG_ID} attachment.created`,
      `org:${SEED_ORG_ID}:thread:${T1} attachment.created`,
      `org:${SEED_ORG_ID} attachment.ready`,
      `org:${SEED_ORG_ID}:thread:${T1} attachment.ready`,
    ]);
    expect(events[2]!.payload).toMatchObject({ actorId: SEED_USERS.agent.id, data: { id: attachment.id, status: 'ready', sha256: sha(PDF) } });
    const audit = await db.sql`select action, entity_type from app.audit_log where entity_id = ${attachment.id} order by id`;
    expect(audit.map((a) => a.action)).toEqual(['attachment.created', 'attachment.ready']);
  });

  it('gives no download URL before an attachment is ready', async () => {
    const { attachment } = await startUpload({
      filename: 'rates.xlsx',
      contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      sizeBytes: 10,
    });
    const read = await json('GET', `/api/attachments/${attachment.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ status: 'pending', download: null, threadId: null });
  });

  it('answers 409 to a confirm before the upload', async () => {
    const { attachment } = await startUpload({ filename: 'packing-list.pdf', contentType: 'application/pdf', sizeBytes: 100 });
    const res = await json('POST', `/api/attachments/${attachment.id}/confirm`);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/PUT the file/);
    const [row] = await db.sql`select status from app.attachments where id = ${attachment.id}`;
    expect(row!.status).toBe('pending');
  });
});

describe('refusals', () => {
  it('validates the upload request, naming each field', async () => {
    const bad = await json('POST', '/api/attachments/uploads', {
      body: { filename: '...', contentType: 'pdf', sizeBytes: -1, threadId: 'x', extra: true },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: any) => i.path).sort()).toEqual(
      ['body', 'body.contentType', 'body.filename', 'body.sizeBytes', 'body.threadId'].sort(),
    );
    const foreignThread = await json('POST', '/api/attachments/uploads', {
      as: 'other',
      body: { filename: 'a.pdf', contentType: 'application/pdf', sizeBytes: 1, threadId: T1 },
    });
    expect(foreignThread.status).toBe(422);
    expect(foreignThread.body.error.details.issues[0].path).toBe('body.threadId');
  });

  it('refuses files above the size limit and executables with 422', async () => {
    const max = config().storage.maxAttachmentBytes;
    expect(max).toBe(26_214_400);
    const big = await json('POST', '/api/attachments/uploads', { body: { filename: 'scan.tiff', contentType: 'image/tiff', sizeBytes: max + 1 } });
    expect(big.status).toBe(422);
    expect(big.body.error.details.issues).toEqual([{ path: 'body.sizeBytes', message: 'must be at most 26214400 bytes (25 MiB)' }]);
    const exe = await json('POST', '/api/attachments/uploads', { body: { filename: 'setup.bin', contentType: 'application/x-msdownload', sizeBytes: 10 } });
    expect(exe.status).toBe(422);
    expect(exe.body.error.details.issues[0].path).toBe('body.contentType');
    const disguised = await json('POST', '/api/attachments/uploads', {
      body: { filename: 'invoice.pdf.exe', contentType: 'application/octet-stream', sizeBytes: 10 },
    });
    expect(disguised.status).toBe(422);
    expect(disguised.body.error.details.issues[0]).toEqual({ path: 'body.filename', message: '.exe files (executables and scripts) are not accepted' });
    const script = await json('POST', '/api/attachments/uploads', { body: { filename: 'track.js', contentType: 'text/javascript', sizeBytes: 10 } });
    expect(script.status).toBe(422);
  });

  it('refuses an upload larger than declared, of another type, twice, expired or with a bad signature', async () => {
    const { attachment, upload } = await startUpload({ filename: 'invoice.pdf', contentType: 'application/pdf', sizeBytes: 10 });
    const send = (url: string, body: string, type = 'application/pdf', headers: Record<string, string> = {}) =>
      viaRouter(url, { method: 'PUT', headers: { 'content-type': type, ...headers }, body });
    const error = async (res: Response) => ({ status: res.status, code: ((await res.json()) as any).error.code as string });

    expect(await error(await send(upload.url, '12345678901'))).toEqual({ status: 413, code: 'payload_too_large' });
    expect(await error(await send(upload.url, '1', 'application/pdf', { 'content-length': '11' }))).toEqual({ status: 413, code: 'payload_too_large' });
    expect(await error(await send(upload.url, '1234567890', 'text/html'))).toEqual({ status: 415, code: 'unsupported_media_type' });

    const u = new URL(upload.url);
    u.searchParams.set('max', String(10_000_000));
    expect(await error(await send(u.toString(), '12345678901'))).toEqual({ status: 403, code: 'forbidden' });
    const forged = new URL(upload.url);
    forged.searchParams.set('sig', 'A'.repeat(43));
    expect(await error(await send(forged.toString(), '1234567890'))).toEqual({ status: 403, code: 'forbidden' });
    const unsigned = new URL(upload.url);
    unsigned.searchParams.delete('sig');
    expect(await error(await send(unsigned.toString(), '1234567890'))).toEqual({ status: 403, code: 'forbidden' });

    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now + 16 * 60_000);
    try {
      const expired = await send(upload.url, '1234567890');
      expect(expired.status).toBe(410);
      expect(((await expired.json()) as any).error.message).toMatch(/expired/);
    } finally {
      clock.mockRestore();
    }

    expect((await send(upload.url, '1234567890')).status).toBe(200);
    expect(await error(await send(upload.url, '0987654321'))).toEqual({ status: 409, code: 'conflict' });
    const confirmed = await json('POST', `/api/attachments/${attachment.id}/confirm`);
    expect(confirmed.body).toMatchObject({ status: 'ready', sha256: sha(Buffer.from('1234567890')) });

    const read = await json('GET', `/api/attachments/${attachment.id}`);
    // A download URL is for GET only, and only for its own object.
    expect(await error(await send(read.body.download.url, 'x'))).toEqual({ status: 403, code: 'forbidden' });
    const other = new URL(read.body.download.url);
    other.searchParams.set('path', `org/${SECOND_ORG_ID}/attachments/x/invoice.pdf`);
    expect((await viaRouter(other.toString(), { method: 'GET' })).status).toBe(403);
    expect((await viaRouter(upload.url, { method: 'GET' })).status).toBe(403);
  });

  it('hides attachments of other organizations and keeps viewers read-only', async () => {
    const { attachment } = await startUpload({ filename: 'bl.pdf', contentType: 'application/pdf', sizeBytes: 3 });
    expect((await json('GET', `/api/attachments/${attachment.id}`, { as: 'other' })).status).toBe(404);
    expect((await json('POST', `/api/attachments/${attachment.id}/confirm`, { as: 'other' })).status).toBe(404);
    expect((await json('GET', `/api/attachments/${attachment.id}`, { as: 'multi', headers: { 'x-org-id': SECOND_ORG_ID } })).status).toBe(404);
    const viewerUpload = await json('POST', '/api/attachments/uploads', {
      as: 'viewer',
      body: { filename: 'a.pdf', contentType: 'application/pdf', sizeBytes: 1 },
    });
    expect(viewerUpload.status).toBe(403);
    expect((await json('POST', `/api/attachments/${attachment.id}/confirm`, { as: 'viewer' })).status).toBe(403);
    expect((await json('GET', `/api/attachments/${attachment.id}`, { as: 'viewer' })).status).toBe(200);
  });

  it('has no local storage route when Supabase Storage is the adapter', async () => {
    const { upload } = await startUpload({ filename: 'x.pdf', contentType: 'application/pdf', sizeBytes: 1 });
    useStorage(new SupabaseStorage({ url: 'http://127.0.0.1:9', serviceRoleKey: 'k', bucket: 'attachments' }));
    try {
      const put = await viaRouter(upload.url, { method: 'PUT', headers: upload.headers, body: 'x' });
      expect(put.status).toBe(404);
      expect(((await put.json()) as any).error.code).toBe('not_found');
      expect((await viaRouter(upload.url, { method: 'GET' })).status).toBe(404);
    } finally {
      useStorage(local);
    }
  });
});

describe('on Supabase Storage', () => {
  let fake: FakeSupabaseStorage;
  beforeAll(async () => {
    fake = await fakeSupabaseStorage();
    useStorage(new SupabaseStorage({ url: fake.url, serviceRoleKey: SERVICE_ROLE_KEY, bucket: 'attachments' }));
  });
  afterAll(async () => {
    useStorage(local);
    await fake.close();
  });

  it('uploads to Storage directly, confirms by hashing the stored object, and signs downloads', async () => {
    const bytes = Buffer.from('Shipper: Tata Textiles Exports\nConsignee: Hamburg Home GmbH\n');
    const { attachment, upload } = await startUpload({
      filename: 'shipping instructions.txt',
      contentType: 'text/plain',
      sizeBytes: bytes.length,
      threadId: T1,
    });
    expect(upload.url.startsWith(`${fake.url}/storage/v1/object/upload/sign/attachments/org/${SEED_ORG_ID}/attachments/${attachment.id}/`)).toBe(true);
    expect(upload.headers).toEqual({ 'content-type': 'text/plain', 'x-upsert': 'false' });
    expect(Date.parse(upload.expiresAt) - Date.now()).toBeGreaterThan(7_000_000);

    expect((await json('POST', `/api/attachments/${attachment.id}/confirm`)).status).toBe(409);
    const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: bytes });
    expect(put.status).toBe(200);
    const confirmed = await json('POST', `/api/attachments/${attachment.id}/confirm`);
    expect(confirmed.body).toMatchObject({ status: 'ready', sizeBytes: bytes.length, sha256: sha(bytes) });
    expect(fake.requests.slice(-2).map((r) => `${r.method} ${r.path.split(`/${attachment.id}/`)[0]}`)).toEqual([
      `GET /storage/v1/object/info/authenticated/attachments/org/${SEED_ORG_ID}/attachments`,
      `GET /storage/v1/object/authenticated/attachments/org/${SEED_ORG_ID}/attachments`,
    ]);

    const read = await json('GET', `/api/attachments/${attachment.id}`);
    const res = await fetch(read.body.download.url);
    expect(res.status).toBe(200);
    expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(bytes));
    expect(res.headers.get('content-disposition')).toContain('shipping%20instructions.txt');
  });

  it('refuses at confirm what Storage could not: more bytes than declared, or another type', async () => {
    const big = await startUpload({ filename: 'a.pdf', contentType: 'application/pdf', sizeBytes: 5 });
    expect((await fetch(big.upload.url, { method: 'PUT', headers: big.upload.headers, body: '0123456789' })).status).toBe(200);
    const tooBig = await json('POST', `/api/attachments/${big.attachment.id}/confirm`);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.message).toMatch(/10 bytes, more than the 5 declared/);
    expect([...fake.objects.keys()].some((k) => k.includes(big.attachment.id))).toBe(false);

    const typed = await startUpload({ filename: 'b.pdf', contentType: 'application/pdf', sizeBytes: 5 });
    expect((await fetch(typed.upload.url, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: '<b>x' })).status).toBe(200);
    const wrongType = await json('POST', `/api/attachments/${typed.attachment.id}/confirm`);
    expect(wrongType.status).toBe(415);
    const rows = await db.sql`select status from app.attachments where id in ${db.sql([big.attachment.id, typed.attachment.id])}`;
    expect(rows.map((r) => r.status)).toEqual(['pending', 'pending']);
  });

  it('answers 503 naming the problem when Storage refuses the service key', async () => {
    useStorage(new SupabaseStorage({ url: fake.url, serviceRoleKey: 'wrong', bucket: 'attachments' }));
    try {
      const res = await json('POST', '/api/attachments/uploads', { body: { filename: 'a.pdf', contentType: 'application/pdf', sizeBytes: 1 } });
      expect(res.status).toBe(503);
      expect(res.body.error.message).toMatch(/SUPABASE_SERVICE_ROLE_KEY/);
    } finally {
      useStorage(new SupabaseStorage({ url: fake.url, serviceRoleKey: SERVICE_ROLE_KEY, bucket: 'attachments' }));
    }
  });
});

describe('inbound email helpers', () => {
  const asSystem = <T>(fn: (ctx: Ctx) => Promise<T>) =>
    withClaims(systemClaims(SEED_ORG_ID), (tx) => fn({ requestId: 'test-inbound', userId: null, orgId: SEED_ORG_ID, role: 'system', sql: tx, jobs: [] }));

  it('stores a received attachment once, however often ingest runs, and quarantines executables', async () => {
    const [message] = await db.sql<{ id: string }[]>`select id from app.messages where thread_id = ${T1} order by created_at limit 1`;
    const content = Buffer.from('%PDF-1.4 commercial invoice');
    const input = {
      messageId: message!.id,
      threadId: T1,
      filename: 'Invoice 42.pdf',
      contentType: 'application/pdf',
      content,
      contentId: 'inv42@x',
      inline: false,
    };
    const since = await broadcastsSince(db.sql);
    const first = await asSystem((ctx) => storeInboundAttachment(ctx, input));
    const second = await asSystem((ctx) => storeInboundAttachment(ctx, input));
    expect(second).toEqual(first);
    expect(first).toMatchObject({
      status: 'ready',
      sha256: sha(content),
      sizeBytes: content.length,
      messageId: message!.id,
      contentId: 'inv42@x',
      uploadedBy: null,
    });
    const [row] = await db.sql<{ storagePath: string }[]>`select storage_path from app.attachments where id = ${first.id}`;
    expect(row!.storagePath).toBe(`org/${SEED_ORG_ID}/messages/${message!.id}/${sha(content)}/Invoice_42.pdf`);
    expect((await storage().getObject(row!.storagePath)).equals(content)).toBe(true);
    expect((await since()).map((e) => e.event)).toEqual(['attachment.ready', 'attachment.ready']);

    const read = await json('GET', `/api/attachments/${first.id}`);
    const download = await viaRouter(read.body.download.url, { method: 'GET' });
    expect(Buffer.from(await download.arrayBuffer()).equals(content)).toBe(true);

    const exe = await asSystem((ctx) =>
      storeInboundAttachment(ctx, { ...input, filename: 'DHL_invoice.pdf.exe', contentType: 'application/octet-stream', content: Buffer.from('MZ') }),
    );
    expect(exe.status).toBe('quarantined');
    expect((await json('GET', `/api/attachments/${exe.id}`)).body.download).toBeNull();
  });

  it('stores raw sources under a safe path, idempotently', async () => {
    const eml = Buffer.from('From: ops@maersk.example\r\nSubject: Booking\r\n\r\nConfirmed');
    const path = await storeRawSource(SEED_ORG_ID, '<CAF=x+y@mail.gmail.com>', eml);
    expect(path).toBe(`org/${SEED_ORG_ID}/raw/${sha(Buffer.from('<CAF=x+y@mail.gmail.com>'))}.eml`);
    expect(await storeRawSource(SEED_ORG_ID, '<CAF=x+y@mail.gmail.com>', eml)).toBe(path);
    expect(await storeRawSource(SEED_ORG_ID, 'imap-inbox-4711', eml)).toBe(`org/${SEED_ORG_ID}/raw/imap-inbox-4711.eml`);
    expect(await storage().statObject(path)).toEqual({ size: eml.length, contentType: 'message/rfc822', sha256: sha(eml) });
  });
});
