// The local storage adapter: files under a temporary directory, and its HMAC-signed URLs (expiry,
// operation, path, size and type all covered by the signature).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { statusOf } from '../../lib/http/errors.js';
import { contentDisposition, LocalStorage, mediaType, StorageError } from '../../lib/storage/index.js';
import { blockedReason, storageSegment } from '../../lib/attachments/service.js';

let dir: string;
let store: LocalStorage;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banxway-storage-'));
  store = new LocalStorage({ dir, secret: 'unit-test-storage-secret-0123456789', baseUrl: 'https://api.banxway.test' });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function status(p: Promise<Response>): Promise<number> {
  try {
    return (await p).status;
  } catch (error) {
    if (error instanceof AppError) return statusOf(error);
    throw error;
  }
}

const put = (url: string, body: BodyInit | null, headers: Record<string, string> = {}) =>
  store.receiveUpload(new Request(url, { method: 'PUT', headers, body }));

describe('local storage', () => {
  it('writes, replaces, reads, stats with SHA-256 and deletes', async () => {
    const path = 'org/o1/raw/message-1.eml';
    await store.putObject(path, Buffer.from('first'), 'message/rfc822');
    await store.putObject(path, Buffer.from('second version'), 'message/rfc822');
    expect((await store.getObject(path)).toString()).toBe('second version');
    expect(await store.statObject(path)).toEqual({ size: 14, contentType: 'message/rfc822', sha256: sha(Buffer.from('second version')) });
    await store.deleteObject(path);
    await store.deleteObject(path);
    expect(await store.statObject(path)).toBeNull();
    await expect(store.getObject(path)).rejects.toMatchObject({ kind: 'not_found', code: 'not_found' });
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('refuses paths that could leave the storage directory', async () => {
    for (const path of ['../x/y', 'org/../../etc/passwd', '/abs/path', 'org//x', 'org/.hidden', 'single', 'org/a b']) {
      await expect(store.putObject(path, Buffer.from('x'), 'text/plain'), path).rejects.toBeInstanceOf(StorageError);
    }
    expect(existsSync(join(dir, '..', 'x'))).toBe(false);
  });

  it('accepts an upload on a signed URL within its limits, once', async () => {
    const path = 'org/o1/attachments/a1/rate_sheet.csv';
    const upload = await store.createSignedUploadUrl(path, { contentType: 'text/csv', maxBytes: 21, expiresIn: 60 });
    expect(upload.url).toMatch(/^https:\/\/api\.banxway\.test\/api\/storage\/object\?op=put&path=org%2Fo1/);
    expect(upload.headers).toEqual({ 'content-type': 'text/csv' });
    expect(Math.abs(upload.expiresAt.getTime() - (Date.now() + 60_000))).toBeLessThan(1500);

    expect(await status(put(upload.url, 'port,rate\nDEHAM,1450\n', { 'content-type': 'text/plain' }))).toBe(415);
    expect(await status(put(upload.url, 'x'.repeat(22), { 'content-type': 'text/csv' }))).toBe(413);
    expect(await status(put(upload.url, 'x', { 'content-type': 'text/csv', 'content-length': '999' }))).toBe(413);
    expect(await store.statObject(path)).toBeNull();

    const ok = await put(upload.url, 'port,rate\nDEHAM,1450\n', { 'content-type': 'text/csv; charset=utf-8' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ key: path, size: 21, sha256: sha(Buffer.from('port,rate\nDEHAM,1450\n')) });
    expect(await status(put(upload.url, 'port,rate\nDEHAM,9999\n', { 'content-type': 'text/csv' }))).toBe(409);
    expect((await store.getObject(path)).toString()).toBe('port,rate\nDEHAM,1450\n');
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('refuses tampered, misused and expired URLs', async () => {
    const path = 'org/o1/attachments/a2/x.pdf';
    const { url } = await store.createSignedUploadUrl(path, { contentType: 'application/pdf', maxBytes: 10, expiresIn: 60 });
    const tamper = (key: string, value: string | null) => {
      const u = new URL(url);
      if (value === null) u.searchParams.delete(key);
      else u.searchParams.set(key, value);
      return u.toString();
    };
    const pdf = { 'content-type': 'application/pdf' };
    expect(await status(put(tamper('max', '100000'), 'x', pdf))).toBe(403);
    expect(await status(put(tamper('path', 'org/o2/attachments/a2/x.pdf'), 'x', pdf))).toBe(403);
    expect(await status(put(tamper('type', 'text/html'), 'x', { 'content-type': 'text/html' }))).toBe(403);
    expect(await status(put(tamper('exp', String(Math.floor(Date.now() / 1000) + 86_400)), 'x', pdf))).toBe(403);
    expect(await status(put(tamper('sig', null), 'x', pdf))).toBe(403);
    const sig = new URL(url).searchParams.get('sig')!;
    expect(await status(put(tamper('sig', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`), 'x', pdf))).toBe(403);
    // Another spelling of the same bytes (the last character's two spare bits flipped) is refused too.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = `${sig.slice(0, -1)}${alphabet[alphabet.indexOf(sig.at(-1)!) ^ 1]}`;
    expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    expect(await status(put(tamper('sig', respelled), 'x', pdf))).toBe(403);

    const other = new LocalStorage({ dir, secret: 'another-secret-entirely-0123456789', baseUrl: 'https://api.banxway.test' });
    const foreign = await other.createSignedUploadUrl(path, { contentType: 'application/pdf', maxBytes: 10, expiresIn: 60 });
    expect(await status(put(foreign.url, 'x', pdf))).toBe(403);

    const download = await store.createSignedDownloadUrl(path, { expiresIn: 60, filename: 'x.pdf' });
    expect(await status(put(download.url, 'x', pdf))).toBe(403);
    expect(await status(store.serveDownload(new Request(url)))).toBe(403);

    const now = Date.now();
    const spy = vi.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    try {
      const res = await put(url, 'x', pdf).catch((e: AppError) => e);
      expect(res).toBeInstanceOf(AppError);
      expect(statusOf(res as AppError)).toBe(410);
      expect((res as AppError).message).toMatch(/expired/);
    } finally {
      spy.mockRestore();
    }
    expect(await store.statObject(path)).toBeNull();
  });

  it('serves a download as an attachment that is never rendered', async () => {
    const path = 'org/o1/attachments/a3/notice.html';
    await store.putObject(path, Buffer.from('<script>alert(1)</script>'), 'text/html');
    const { url } = await store.createSignedDownloadUrl(path, { expiresIn: 60, filename: 'Arrival notice – Hamburg.html' });
    const res = await store.serveDownload(new Request(url));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('<script>alert(1)</script>');
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="Arrival notice  Hamburg.html"; filename*=UTF-8''Arrival%20notice%20%E2%80%93%20Hamburg.html`,
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain('sandbox');
    await store.deleteObject(path);
    expect(await status(store.serveDownload(new Request(url)))).toBe(404);
  });
});

describe('names and types', () => {
  it('normalises media types', () => {
    expect(mediaType('Application/PDF; charset=binary')).toBe('application/pdf');
    expect(mediaType('pdf')).toBeNull();
    expect(mediaType('text/html\r\nx-evil: 1')).toBeNull();
  });

  it('makes storage-safe path segments from any file name', () => {
    expect(storageSegment('Draft B/L HLXU3002457 (rev 2).PDF')).toBe('Draft_B_L_HLXU3002457_rev_2.pdf');
    expect(storageSegment('Überweisung_Zoll.xlsx')).toBe('Uberweisung_Zoll.xlsx');
    expect(storageSegment('报价单.pdf')).toBe('file.pdf');
    expect(storageSegment('README')).toBe('README');
    expect(storageSegment('x'.repeat(300) + '.docx')).toBe(`${'x'.repeat(120)}.docx`);
  });

  it('blocks executables and scripts by type and by extension', () => {
    expect(blockedReason('setup.bin', 'application/x-msdownload')).toMatch(/application\/x-msdownload/);
    expect(blockedReason('invoice.pdf.exe', 'application/octet-stream')).toMatch(/\.exe/);
    expect(blockedReason('run.PS1', 'text/plain')).toMatch(/\.ps1/);
    expect(blockedReason('tracking.js', 'text/plain')).toMatch(/\.js/);
    expect(blockedReason('invoice.pdf', 'application/pdf')).toBeNull();
    expect(blockedReason('notice.html', 'text/html')).toBeNull();
  });

  it('builds a Content-Disposition every browser understands', () => {
    expect(contentDisposition('a "quoted" name.pdf')).toBe(`attachment; filename="a _quoted_ name.pdf"; filename*=UTF-8''a%20%22quoted%22%20name.pdf`);
  });
});
