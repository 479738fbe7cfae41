// Production storage: Supabase Storage through its REST API (the same requests @supabase/storage-js
// makes; that package now requires Node 22, so this speaks the protocol with fetch). The bucket is
// private; the service role key never leaves the server, clients only ever get signed URLs.
//
//   signed upload    POST /storage/v1/object/upload/sign/{bucket}/{path}        -> { url, token? }
//   client upload    PUT  /storage/v1/object/upload/sign/{bucket}/{path}?token= (the client does this)
//   signed download  POST /storage/v1/object/sign/{bucket}/{path} { expiresIn }   -> { signedURL }
//   server upload    POST /storage/v1/object/{bucket}/{path}  (x-upsert: true)    -> { Key, Id }
//   download         GET  /storage/v1/object/authenticated/{bucket}/{path}
//   info             GET  /storage/v1/object/info/authenticated/{bucket}/{path}   -> { size, content_type, ... }
//   delete           DELETE /storage/v1/object/{bucket}/{path}
import {
  assertObjectPath,
  mediaType,
  StorageError,
  type ObjectInfo,
  type SignedDownload,
  type SignedDownloadOptions,
  type SignedUpload,
  type SignedUploadOptions,
  type StorageAdapter,
  type StorageErrorKind,
} from './types.js';

export interface SupabaseStorageOptions {
  /** Project URL, e.g. https://<ref>.supabase.co */
  url: string;
  serviceRoleKey: string;
  bucket: string;
  /** Per-request timeout in milliseconds (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Supabase's default lifetime of a signed upload URL (uploadSignedUrlExpirationTime), when the token does not say. */
const DEFAULT_UPLOAD_URL_SECONDS = 7200;

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/** The `exp` claim of a JWT, without verifying it (Supabase signed it; we only report it). */
function tokenExpiry(token: string | null | undefined): Date | null {
  const payload = token?.split('.')[1];
  if (!payload) return null;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? new Date(exp * 1000) : null;
  } catch {
    return null;
  }
}

export class SupabaseStorage implements StorageAdapter {
  readonly kind = 'supabase' as const;
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: SupabaseStorageOptions) {
    this.base = `${options.url.replace(/\/$/, '')}/storage/v1`;
    this.fetch = options.fetch ?? fetch;
  }

  private objectUrl(prefix: string, path: string): string {
    return `${this.base}/${prefix}/${encodeURIComponent(this.options.bucket)}/${encodePath(assertObjectPath(path))}`;
  }

  private async request(what: string, url: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetch(url, {
        ...init,
        headers: { authorization: `Bearer ${this.options.serviceRoleKey}`, apikey: this.options.serviceRoleKey, ...init.headers },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new StorageError('unavailable', `Supabase Storage is unreachable (${what}): ${(error as Error).message}`);
    }
    if (!res.ok) throw await this.failure(what, res);
    return res;
  }

  /** Maps an error answer to a StorageError. Storage answers `{ statusCode, error, message }`, where
   * statusCode (a string) can differ from the HTTP status (older servers send 400 with statusCode 404). */
  private async failure(what: string, res: Response): Promise<StorageError> {
    let body: { statusCode?: string | number; error?: string; message?: string } = {};
    try {
      body = (await res.json()) as typeof body;
    } catch {
      // not JSON
    }
    const code = Number(body.statusCode ?? res.status) || res.status;
    const detail = body.message ?? body.error ?? res.statusText;
    const kind: StorageErrorKind =
      code === 404 || /not.?found/i.test(body.error ?? '')
        ? 'not_found'
        : code === 409 || /duplicate|already exists/i.test(`${body.error ?? ''} ${body.message ?? ''}`)
          ? 'conflict'
          : code === 413
            ? 'too_large'
            : code === 400 || code === 415 || code === 422
              ? 'invalid'
              : 'unavailable';
    const message =
      kind === 'not_found'
        ? 'The stored object does not exist'
        : code === 401 || code === 403
          ? `Supabase Storage refused the service credentials (${what}): check SUPABASE_SERVICE_ROLE_KEY and STORAGE_BUCKET`
          : `Supabase Storage ${what} failed (${code}): ${detail}`;
    return new StorageError(kind, message, res.status);
  }

  async putObject(path: string, bytes: Uint8Array, contentType: string): Promise<void> {
    await this.request('upload', this.objectUrl('object', path), {
      method: 'POST',
      body: bytes as Uint8Array<ArrayBuffer>,
      headers: {
        'content-type': mediaType(contentType) ?? 'application/octet-stream',
        'cache-control': 'max-age=3600',
        'x-upsert': 'true',
      },
    });
  }

  async getObject(path: string): Promise<Buffer> {
    const res = await this.request('download', this.objectUrl('object/authenticated', path), { method: 'GET' });
    return Buffer.from(await res.arrayBuffer());
  }

  async statObject(path: string): Promise<ObjectInfo | null> {
    try {
      const res = await this.request('info', this.objectUrl('object/info/authenticated', path), { method: 'GET' });
      const info = (await res.json()) as { size?: number | string | null; content_type?: string | null };
      const size = Number(info.size);
      if (!Number.isFinite(size)) throw new StorageError('unavailable', 'Supabase Storage info has no size');
      return { size, contentType: mediaType(info.content_type), sha256: null };
    } catch (error) {
      if (error instanceof StorageError && error.kind === 'not_found') return null;
      throw error;
    }
  }

  async deleteObject(path: string): Promise<void> {
    try {
      await this.request('delete', this.objectUrl('object', path), { method: 'DELETE' });
    } catch (error) {
      if (error instanceof StorageError && error.kind === 'not_found') return;
      throw error;
    }
  }

  async createSignedUploadUrl(path: string, options: SignedUploadOptions): Promise<SignedUpload> {
    const type = mediaType(options.contentType);
    if (!type) throw new StorageError('invalid', 'Not a media type');
    const res = await this.request('signed upload URL', this.objectUrl('object/upload/sign', path), {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    const data = (await res.json()) as { url?: string; signedUrl?: string; token?: string };
    const relative = data.url ?? data.signedUrl;
    if (!relative) throw new StorageError('unavailable', 'Supabase Storage returned no signed upload URL');
    const url = new URL(/^https?:\/\//.test(relative) ? relative : `${this.base}${relative.startsWith('/') ? '' : '/'}${relative}`);
    const token = url.searchParams.get('token') ?? data.token;
    if (!token) throw new StorageError('unavailable', 'Supabase Storage returned no upload token');
    url.searchParams.set('token', token);
    return {
      url: url.toString(),
      method: 'PUT',
      headers: { 'content-type': type, 'x-upsert': 'false' },
      expiresAt: tokenExpiry(token) ?? new Date(Date.now() + DEFAULT_UPLOAD_URL_SECONDS * 1000),
    };
  }

  async createSignedDownloadUrl(path: string, options: SignedDownloadOptions): Promise<SignedDownload> {
    const expiresIn = Math.max(1, Math.floor(options.expiresIn));
    const res = await this.request('signed download URL', this.objectUrl('object/sign', path), {
      method: 'POST',
      body: JSON.stringify({ expiresIn }),
      headers: { 'content-type': 'application/json' },
    });
    const data = (await res.json()) as { signedURL?: string; signedUrl?: string };
    const relative = data.signedURL ?? data.signedUrl;
    if (!relative) throw new StorageError('unavailable', 'Supabase Storage returned no signed URL');
    const url = new URL(/^https?:\/\//.test(relative) ? relative : `${this.base}${relative.startsWith('/') ? '' : '/'}${relative}`);
    // `download=<name>` makes Storage answer with Content-Disposition: attachment; filename=<name>.
    url.searchParams.set('download', options.filename);
    const token = url.searchParams.get('token');
    return { url: url.toString(), expiresAt: tokenExpiry(token) ?? new Date(Date.now() + expiresIn * 1000) };
  }
}
