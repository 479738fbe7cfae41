// The one storage interface the whole app uses (attachments, raw email sources): a production adapter
// (Supabase Storage) and a local default (files under STORAGE_DIR), picked by lib/storage/index.ts.
// Files never pass through a function body: clients upload and download with signed URLs.
import { AppError, type ErrorCode } from '../errors.js';

export interface ObjectInfo {
  size: number;
  /** The content type the object was stored with, when the backend knows it. */
  contentType: string | null;
  /** Hex SHA-256 when the backend can compute or report it cheaply (local: yes; Supabase: no). */
  sha256: string | null;
}

export interface SignedUpload {
  url: string;
  method: 'PUT';
  /** Headers the client must send with the PUT (at least Content-Type). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface SignedDownload {
  url: string;
  expiresAt: Date;
}

export interface SignedUploadOptions {
  contentType: string;
  /** Largest body the URL accepts (enforced by the local route; Supabase enforces its bucket limit). */
  maxBytes: number;
  /** Seconds (Supabase fixes its own lifetime, two hours by default; the URL's token says when). */
  expiresIn: number;
}

export interface SignedDownloadOptions {
  expiresIn: number;
  /** The name the browser saves the file as (Content-Disposition: attachment). */
  filename: string;
}

export interface StorageAdapter {
  readonly kind: 'local' | 'supabase';
  /** Server-side upload; writing the same path again replaces the object (idempotent for the same bytes). */
  putObject(path: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** The object's bytes; StorageError not_found when absent. */
  getObject(path: string): Promise<Buffer>;
  createSignedUploadUrl(path: string, options: SignedUploadOptions): Promise<SignedUpload>;
  createSignedDownloadUrl(path: string, options: SignedDownloadOptions): Promise<SignedDownload>;
  /** Size, content type and (where computable) SHA-256; null when there is no such object. */
  statObject(path: string): Promise<ObjectInfo | null>;
  /** Removes the object; removing an absent object is not an error. */
  deleteObject(path: string): Promise<void>;
}

export type StorageErrorKind = 'not_found' | 'conflict' | 'too_large' | 'invalid' | 'unavailable';

const CODES: Record<StorageErrorKind, ErrorCode> = {
  not_found: 'not_found',
  conflict: 'conflict',
  too_large: 'payload_too_large',
  invalid: 'bad_request',
  unavailable: 'unavailable',
};

/** A storage failure, already carrying the API status it should answer with. */
export class StorageError extends AppError {
  constructor(
    readonly kind: StorageErrorKind,
    message: string,
    /** The backend's HTTP status, when there was one. */
    readonly upstreamStatus?: number,
  ) {
    super(CODES[kind], message);
    this.name = 'StorageError';
  }
}

/** Object paths: `/`-separated segments of letters, digits, `.`, `_`, `-`, none starting with a dot. */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

export function assertObjectPath(path: string): string {
  const segments = path.split('/');
  if (path.length > 1000 || segments.length < 2 || !segments.every((s) => SEGMENT.test(s))) {
    throw new StorageError('invalid', `Not a valid object path: ${JSON.stringify(path.slice(0, 200))}`);
  }
  return path;
}

/** Lower-cased `type/subtype` without parameters, or null when it is not a media type. */
export function mediaType(value: string | null | undefined): string | null {
  const essence = value?.split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(essence) ? essence : null;
}

/** `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266), for any name. */
export function contentDisposition(filename: string): string {
  const ascii =
    filename
      .normalize('NFKD')
      .replace(/[^\x20-\x7e]/g, '')
      .replace(/["\\]/g, '_')
      .trim() || 'download';
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
