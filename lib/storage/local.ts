// The local default: objects as files under STORAGE_DIR (objects/<path>, with meta/<path>.json holding
// the content type), and signed URLs on PUBLIC_BASE_URL/api/storage/object that carry an expiry, the
// operation, the path, the size and content-type limits and an HMAC-SHA256 over all of them.
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as z from 'zod';
import { AppError } from '../errors.js';
import {
  assertObjectPath,
  contentDisposition,
  mediaType,
  StorageError,
  type ObjectInfo,
  type SignedDownload,
  type SignedDownloadOptions,
  type SignedUpload,
  type SignedUploadOptions,
  type StorageAdapter,
} from './types.js';

export interface LocalStorageOptions {
  /** Root directory (objects/, meta/ and tmp/ live under it). */
  dir: string;
  /** HMAC key for signed URLs. */
  secret: string;
  /** Origin the signed URLs point at (PUBLIC_BASE_URL). */
  baseUrl: string;
}

interface Meta {
  contentType: string;
}

type Op = 'put' | 'get';

/** What a signed URL grants; every field is covered by the signature. */
interface Grant {
  op: Op;
  path: string;
  /** Unix seconds. */
  exp: number;
  /** put: largest accepted body. */
  max: number;
  /** put: the content type the body must declare. */
  type: string;
  /** get: download file name. */
  name: string;
}

const grantQuery = z.object({
  op: z.enum(['put', 'get']),
  path: z.string().min(1).max(1000),
  exp: z.coerce.number().int().positive(),
  max: z.coerce.number().int().min(0).default(0),
  type: z.string().max(255).default(''),
  name: z.string().max(1000).default(''),
  sig: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});

const isMissing = (error: unknown) => (error as { code?: string }).code === 'ENOENT';

export class LocalStorage implements StorageAdapter {
  readonly kind = 'local' as const;

  /** Directories this process made or found: creating them again is a syscall per path segment. */
  private readonly dirs = new Set<string>();

  constructor(private readonly options: LocalStorageOptions) {}

  private async ensureDir(dir: string) {
    if (this.dirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.dirs.add(dir);
  }

  /**
   * Puts a finished temporary file in place (rename, or link when an existing object must not be
   * replaced), making its directory again if it vanished since it was remembered.
   */
  private async moveIntoPlace(tmp: string, file: string, put: (from: string, to: string) => Promise<void> = rename) {
    await this.ensureDir(dirname(file));
    try {
      await put(tmp, file);
    } catch (error) {
      if (!isMissing(error)) throw error;
      this.dirs.clear();
      await mkdir(dirname(file), { recursive: true });
      await put(tmp, file);
    }
  }

  private objectFile(path: string) {
    return join(this.options.dir, 'objects', assertObjectPath(path));
  }

  private metaFile(path: string) {
    return join(this.options.dir, 'meta', `${assertObjectPath(path)}.json`);
  }

  private async tmpFile() {
    const dir = join(this.options.dir, 'tmp');
    await this.ensureDir(dir);
    return join(dir, randomUUID());
  }

  private async writeMeta(path: string, meta: Meta) {
    const tmp = await this.tmpFile();
    await writeFile(tmp, JSON.stringify(meta));
    await this.moveIntoPlace(tmp, this.metaFile(path));
  }

  private async readMeta(path: string): Promise<Meta | null> {
    try {
      return JSON.parse(await readFile(this.metaFile(path), 'utf8')) as Meta;
    } catch {
      return null;
    }
  }

  async putObject(path: string, bytes: Uint8Array, contentType: string): Promise<void> {
    const file = this.objectFile(path);
    const tmp = await this.tmpFile();
    await writeFile(tmp, bytes);
    await this.moveIntoPlace(tmp, file);
    await this.writeMeta(path, { contentType: mediaType(contentType) ?? 'application/octet-stream' });
  }

  async getObject(path: string): Promise<Buffer> {
    try {
      return await readFile(this.objectFile(path));
    } catch (error) {
      if (isMissing(error)) throw new StorageError('not_found', 'The stored object does not exist');
      throw error;
    }
  }

  async statObject(path: string): Promise<ObjectInfo | null> {
    const file = this.objectFile(path);
    try {
      const info = await stat(file);
      const hash = createHash('sha256');
      await pipeline(createReadStream(file), hash);
      const meta = await this.readMeta(path);
      return { size: info.size, contentType: meta?.contentType ?? null, sha256: hash.digest('hex') };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async deleteObject(path: string): Promise<void> {
    await rm(this.objectFile(path), { force: true });
    await rm(this.metaFile(path), { force: true });
  }

  async createSignedUploadUrl(path: string, options: SignedUploadOptions): Promise<SignedUpload> {
    const type = mediaType(options.contentType);
    if (!type) throw new StorageError('invalid', 'Not a media type');
    const grant = this.grant('put', path, options.expiresIn, { max: options.maxBytes, type });
    return { url: this.url(grant), method: 'PUT', headers: { 'content-type': type }, expiresAt: new Date(grant.exp * 1000) };
  }

  async createSignedDownloadUrl(path: string, options: SignedDownloadOptions): Promise<SignedDownload> {
    const grant = this.grant('get', path, options.expiresIn, { name: options.filename });
    return { url: this.url(grant), expiresAt: new Date(grant.exp * 1000) };
  }

  private grant(op: Op, path: string, expiresIn: number, rest: Partial<Grant>): Grant {
    assertObjectPath(path);
    const exp = Math.floor(Date.now() / 1000) + Math.max(1, Math.floor(expiresIn));
    return { op, path, exp, max: 0, type: '', name: '', ...rest };
  }

  private signature(g: Grant): Buffer {
    const canonical = ['banxway-storage-v1', g.op, g.path, g.exp, g.max, g.type, g.name].join('\n');
    return createHmac('sha256', this.options.secret).update(canonical).digest();
  }

  private url(g: Grant): string {
    const q = new URLSearchParams({ op: g.op, path: g.path, exp: String(g.exp) });
    if (g.op === 'put') {
      q.set('max', String(g.max));
      q.set('type', g.type);
    } else {
      q.set('name', g.name);
    }
    q.set('sig', this.signature(g).toString('base64url'));
    return `${this.options.baseUrl}/api/storage/object?${q}`;
  }

  /** Checks a request's signed query: signature (constant time), operation and expiry. */
  verify(url: URL, op: Op): Grant {
    const parsed = grantQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) throw new AppError('forbidden', 'This is not a signed storage URL (missing or malformed signature fields)');
    const { sig, ...grant } = parsed.data;
    // The canonical encoding only: base64url's last character has spare bits, so decoding alone
    // would let several spellings of one signature pass.
    const given = Buffer.from(sig);
    const expected = Buffer.from(this.signature(grant).toString('base64url'));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AppError('forbidden', 'The storage URL signature is not valid');
    }
    if (grant.op !== op) throw new AppError('forbidden', `This signed URL is for ${grant.op === 'put' ? 'PUT' : 'GET'} only`);
    if (grant.exp * 1000 < Date.now()) {
      throw new AppError('gone', `The signed URL expired at ${new Date(grant.exp * 1000).toISOString()}; ask for a new one`);
    }
    return grant;
  }

  /** PUT on a signed upload URL: the body is streamed to a file, refused beyond the limit or type. */
  async receiveUpload(request: Request): Promise<Response> {
    const grant = this.verify(new URL(request.url), 'put');
    const declared = mediaType(request.headers.get('content-type'));
    if (declared !== grant.type) {
      throw new AppError('unsupported_media_type', `This upload must be sent with Content-Type: ${grant.type}`);
    }
    const length = request.headers.get('content-length');
    if (length !== null && Number(length) > grant.max) {
      throw new AppError('payload_too_large', `The file is larger than the ${grant.max} bytes this upload allows`);
    }
    const file = this.objectFile(grant.path);
    const tmp = await this.tmpFile();
    const hash = createHash('sha256');
    let size = 0;
    try {
      const handle = await open(tmp, 'wx');
      try {
        if (request.body) {
          const reader = request.body.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            size += value.byteLength;
            if (size > grant.max) {
              await reader.cancel();
              throw new AppError('payload_too_large', `The file is larger than the ${grant.max} bytes this upload allows`);
            }
            hash.update(value);
            await handle.write(value);
          }
        }
      } finally {
        await handle.close();
      }
      try {
        // link() fails when the object exists: a signed upload never replaces an object.
        await this.moveIntoPlace(tmp, file, link);
      } catch (error) {
        if ((error as { code?: string }).code === 'EEXIST') throw new AppError('conflict', 'This object was already uploaded');
        throw error;
      }
    } finally {
      await rm(tmp, { force: true });
    }
    await this.writeMeta(grant.path, { contentType: grant.type });
    return Response.json({ key: grant.path, size, sha256: hash.digest('hex') });
  }

  /** GET on a signed download URL: the file as an attachment that browsers never render or sniff. */
  async serveDownload(request: Request): Promise<Response> {
    const grant = this.verify(new URL(request.url), 'get');
    const file = this.objectFile(grant.path);
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (error) {
      if (isMissing(error)) throw new AppError('not_found', 'The stored object does not exist');
      throw error;
    }
    const meta = await this.readMeta(grant.path);
    const body = request.method === 'HEAD' ? null : (Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>);
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': meta?.contentType ?? 'application/octet-stream',
        'content-length': String(size),
        'content-disposition': contentDisposition(grant.name || grant.path.split('/').pop()!),
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; sandbox",
        'cache-control': 'private, no-store',
      },
    });
  }
}
