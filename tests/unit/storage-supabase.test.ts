// The Supabase Storage adapter against a local server speaking Storage's REST protocol: every call's
// method, path, headers and body, the signed URLs working end to end, and errors mapped to API statuses.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig } from '../../lib/config.js';
import { serveLocalObject, storage, storageKind, SupabaseStorage, StorageError } from '../../lib/storage/index.js';
import { fakeSupabaseStorage, SERVICE_ROLE_KEY, type FakeSupabaseStorage } from '../helpers/supabase-storage.js';

let fake: FakeSupabaseStorage;
let adapter: SupabaseStorage;
beforeAll(async () => {
  fake = await fakeSupabaseStorage({ fileSizeLimit: 64 });
  adapter = new SupabaseStorage({ url: `${fake.url}/`, serviceRoleKey: SERVICE_ROLE_KEY, bucket: 'attachments' });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
});

const PATH = 'org/0a000000-0000-4000-8000-000000000001/attachments/5f0c/Draft_BL_HLXU3002457.pdf';
const PDF = Buffer.from('%PDF-1.7 draft bill of lading');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function expectServiceAuth(headers: Record<string, unknown>) {
  expect(headers.authorization).toBe(`Bearer ${SERVICE_ROLE_KEY}`);
  expect(headers.apikey).toBe(SERVICE_ROLE_KEY);
}

async function rejection(p: Promise<unknown>): Promise<StorageError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

describe('Supabase Storage adapter', () => {
  it('signs an upload URL the client PUTs to, with the token and expiry Storage issued', async () => {
    const before = Date.now();
    const upload = await adapter.createSignedUploadUrl(PATH, { contentType: 'Application/PDF; name=x', maxBytes: 64, expiresIn: 900 });
    const [sign] = fake.requests;
    expect(sign!.method).toBe('POST');
    expect(sign!.path).toBe(`/storage/v1/object/upload/sign/attachments/${PATH}`);
    expectServiceAuth(sign!.headers);
    expect(sign!.headers['content-type']).toBe('application/json');
    expect(sign!.body.toString()).toBe('{}');

    const url = new URL(upload.url);
    expect(`${url.origin}${decodeURIComponent(url.pathname)}`).toBe(`${fake.url}/storage/v1/object/upload/sign/attachments/${PATH}`);
    expect(url.searchParams.get('token')).toMatch(/^ey/);
    expect(upload.method).toBe('PUT');
    expect(upload.headers).toEqual({ 'content-type': 'application/pdf', 'x-upsert': 'false' });
    // Storage fixes the lifetime (two hours); the adapter reports the token's own expiry.
    expect(upload.expiresAt.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 7_200_000);
    expect(upload.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 7_201_000);

    const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: PDF });
    expect(put.status).toBe(200);
    expect(fake.objects.get(`attachments/${PATH}`)!.bytes).toEqual(PDF);
    const again = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: PDF });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { statusCode: string }).statusCode).toBe('409');
  });

  it('stats, reads, signs a download and deletes', async () => {
    // An object of this test's own, as a client's signed upload leaves it in Storage.
    const path = 'org/0a000000-0000-4000-8000-000000000001/attachments/7a1d/Draft_BL_HLXU3002457.pdf';
    fake.objects.set(`attachments/${path}`, { bytes: PDF, contentType: 'application/pdf', id: randomUUID(), createdAt: new Date() });
    const info = await adapter.statObject(path);
    expect(info).toEqual({ size: PDF.length, contentType: 'application/pdf', sha256: null });
    expect(fake.requests[0]).toMatchObject({ method: 'GET', path: `/storage/v1/object/info/authenticated/attachments/${path}` });
    expectServiceAuth(fake.requests[0]!.headers);

    const bytes = await adapter.getObject(path);
    expect(sha(bytes)).toBe(sha(PDF));
    expect(fake.requests[1]).toMatchObject({ method: 'GET', path: `/storage/v1/object/authenticated/attachments/${path}` });
    expectServiceAuth(fake.requests[1]!.headers);

    const download = await adapter.createSignedDownloadUrl(path, { expiresIn: 300, filename: 'Draft B/L – HLXU3002457.pdf' });
    const sign = fake.requests[2]!;
    expect(sign).toMatchObject({ method: 'POST', path: `/storage/v1/object/sign/attachments/${path}` });
    expectServiceAuth(sign.headers);
    expect(sign.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sign.body.toString())).toEqual({ expiresIn: 300 });
    expect(new URL(download.url).searchParams.get('download')).toBe('Draft B/L – HLXU3002457.pdf');
    expect(Math.abs(download.expiresAt.getTime() - (Date.now() + 300_000))).toBeLessThan(2000);
    const res = await fetch(download.url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PDF);
    expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''Draft%20B%2FL%20%E2%80%93%20HLXU3002457.pdf");
    // The browser presents no credentials: the token in the URL is the only guard.
    expect(fake.requests.at(-1)!.headers.authorization).toBeUndefined();

    await adapter.deleteObject(path);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'DELETE', path: `/storage/v1/object/attachments/${path}` });
    expectServiceAuth(fake.requests.at(-1)!.headers);
    expect(fake.objects.has(`attachments/${path}`)).toBe(false);
    await adapter.deleteObject(path); // absent: still fine
    expect(await adapter.statObject(path)).toBeNull();
  });

  it('uploads server-side with x-upsert, so writing the same path again is idempotent', async () => {
    const raw = 'org/0a000000-0000-4000-8000-000000000001/raw/abc.eml';
    const eml = Buffer.from('From: a@b.c\r\n\r\nhello');
    await adapter.putObject(raw, eml, 'message/rfc822');
    await adapter.putObject(raw, eml, 'message/rfc822');
    for (const r of fake.requests) {
      expect(r).toMatchObject({ method: 'POST', path: `/storage/v1/object/attachments/${raw}` });
      expectServiceAuth(r.headers);
      expect(r.headers['x-upsert']).toBe('true');
      expect(r.headers['content-type']).toBe('message/rfc822');
      expect(r.body).toEqual(eml);
    }
    expect(fake.objects.get(`attachments/${raw}`)!.bytes).toEqual(eml);
  });

  it('percent-encodes path segments', async () => {
    await adapter.createSignedUploadUrl('org/x/attachments/y/a_b-c.1.pdf', { contentType: 'application/pdf', maxBytes: 1, expiresIn: 60 });
    expect(fake.requests[0]!.path).toBe('/storage/v1/object/upload/sign/attachments/org/x/attachments/y/a_b-c.1.pdf');
    await expect(adapter.getObject('../etc/passwd')).rejects.toMatchObject({ kind: 'invalid' });
    expect(fake.requests).toHaveLength(1);
  });

  it('maps Storage errors to API statuses', async () => {
    const missing = await rejection(adapter.getObject('org/x/none.pdf'));
    expect(missing).toMatchObject({ kind: 'not_found', code: 'not_found', upstreamStatus: 400 });

    const tooLarge = await rejection(adapter.putObject('org/x/big.bin', Buffer.alloc(65), 'application/octet-stream'));
    expect(tooLarge).toMatchObject({ kind: 'too_large', code: 'payload_too_large' });

    fake.failNext(409, { statusCode: '409', error: 'Duplicate', message: 'The resource already exists' });
    expect(await rejection(adapter.putObject('org/x/dup.bin', Buffer.alloc(1), 'application/octet-stream'))).toMatchObject({
      kind: 'conflict',
      code: 'conflict',
    });

    fake.failNext(500, { statusCode: '500', error: 'internal', message: 'database unavailable' });
    const down = await rejection(adapter.statObject('org/x/a.pdf'));
    expect(down).toMatchObject({ kind: 'unavailable', code: 'unavailable' });
    expect(down.message).toContain('database unavailable');

    fake.failNext(502, 'Bad gateway');
    expect(await rejection(adapter.createSignedDownloadUrl('org/x/a.pdf', { expiresIn: 60, filename: 'a.pdf' }))).toMatchObject({ code: 'unavailable' });

    const wrongKey = new SupabaseStorage({ url: fake.url, serviceRoleKey: 'not-the-key', bucket: 'attachments' });
    const refused = await rejection(wrongKey.statObject('org/x/a.pdf'));
    expect(refused).toMatchObject({ kind: 'unavailable', code: 'unavailable' });
    expect(refused.message).toMatch(/SUPABASE_SERVICE_ROLE_KEY/);

    const wrongBucket = new SupabaseStorage({ url: fake.url, serviceRoleKey: SERVICE_ROLE_KEY, bucket: 'nope' });
    expect(await rejection(wrongBucket.createSignedUploadUrl('org/x/a.pdf', { contentType: 'application/pdf', maxBytes: 1, expiresIn: 60 }))).toMatchObject({
      kind: 'not_found',
    });

    const unreachable = new SupabaseStorage({ url: 'http://127.0.0.1:9', serviceRoleKey: SERVICE_ROLE_KEY, bucket: 'attachments', timeoutMs: 2000 });
    const offline = await rejection(unreachable.getObject('org/x/a.pdf'));
    expect(offline).toMatchObject({ kind: 'unavailable', code: 'unavailable' });
    expect(offline.message).toMatch(/unreachable/);
  });

  it('reads not-found as 404 too (newer servers)', async () => {
    const modern = await fakeSupabaseStorage({ notFoundStatus: 404 });
    try {
      const a = new SupabaseStorage({ url: modern.url, serviceRoleKey: SERVICE_ROLE_KEY, bucket: 'attachments' });
      expect(await a.statObject('org/x/none.pdf')).toBeNull();
      expect(await rejection(a.getObject('org/x/none.pdf'))).toMatchObject({ kind: 'not_found', upstreamStatus: 404 });
    } finally {
      await modern.close();
    }
  });
});

describe('choosing the adapter', () => {
  const production = {
    APP_ENV: 'production',
    DATABASE_URL: 'postgres://postgres.ref:pw@aws-0-ap-south-1.pooler.supabase.com:6543/postgres',
    PUBLIC_BASE_URL: 'https://api.banxway.example',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    CRON_SECRET: 'a-real-cron-secret-of-length',
    SUPABASE_URL: 'https://ref.supabase.co',
    JOBS_ADAPTER: 'inline',
  };

  it('uses local files by default, Supabase Storage with URL and service key, and nothing deployed without them', async () => {
    const original = config();
    try {
      setConfig(parseConfig({}));
      expect(config().storage).toEqual({ driver: 'local', bucket: 'attachments', dir: '.data/storage', maxAttachmentBytes: 26_214_400 });
      expect(storage().kind).toBe('local');

      setConfig(parseConfig({ ...production, SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY, STORAGE_BUCKET: 'banxway-files', ATTACHMENT_MAX_BYTES: '10485760' }));
      expect(config().storage).toMatchObject({ driver: 'supabase', bucket: 'banxway-files', maxAttachmentBytes: 10_485_760 });
      expect(storage()).toBeInstanceOf(SupabaseStorage);
      const route = await serveLocalObject(new Request('https://api.banxway.example/api/storage/object?op=get&path=a/b&exp=1&sig=x'));
      expect(route.status).toBe(404);

      // SUPABASE_URL without the service-role key is refused outright in a deployment; without Supabase at all, storage is unconfigured.
      expect(() => parseConfig(production)).toThrow(/SUPABASE_SERVICE_ROLE_KEY/);
      setConfig(
        parseConfig({
          ...production,
          SUPABASE_URL: undefined,
          AUTH_JWT_SECRET: 'a-project-jwt-secret-of-at-least-32-chars',
          AUTH_JWT_ISSUER: 'https://auth.example',
        }),
      );
      expect(storageKind()).toBe('unconfigured');
      expect(() => storage()).toThrow(/SUPABASE_SERVICE_ROLE_KEY/);
      expect((await serveLocalObject(new Request('https://api.banxway.example/api/storage/object'))).status).toBe(404);

      expect(() => parseConfig({ ATTACHMENT_MAX_BYTES: '1000000000' })).toThrow(/ATTACHMENT_MAX_BYTES/);
      expect(() => parseConfig({ STORAGE_BUCKET: 'Bad Bucket' })).toThrow(/STORAGE_BUCKET/);
    } finally {
      setConfig(original);
    }
  });
});
