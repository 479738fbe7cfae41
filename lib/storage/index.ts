// Picks the storage adapter from configuration: Supabase Storage when SUPABASE_URL and
// SUPABASE_SERVICE_ROLE_KEY are set, local files under STORAGE_DIR otherwise (never in a deployment:
// a function's file system is neither shared nor durable). Also serves the local signed-URL route.
import { config, type Config } from '../config.js';
import { AppError } from '../errors.js';
import { errorBody } from '../http/errors.js';
import { corsHeaders } from '../http/cors.js';
import { requestIdOf, toErrorResponse } from '../http/route.js';
import { log, redactedPath } from '../log.js';
import { LocalStorage } from './local.js';
import { SupabaseStorage } from './supabase.js';
import type { StorageAdapter } from './types.js';

export { LocalStorage } from './local.js';
export { SupabaseStorage } from './supabase.js';
export * from './types.js';

function create(c: Config): StorageAdapter | AppError {
  if (c.storage.driver === 'supabase' && c.supabase?.serviceRoleKey) {
    return new SupabaseStorage({ url: c.supabase.url, serviceRoleKey: c.supabase.serviceRoleKey, bucket: c.storage.bucket });
  }
  if (c.deployed) {
    return new AppError('unavailable', 'File storage is not configured: set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY');
  }
  return new LocalStorage({ dir: c.storage.dir, secret: c.storageSigningSecret, baseUrl: c.publicBaseUrl });
}

let override: StorageAdapter | undefined;
let cached: { config: Config; adapter: StorageAdapter | AppError } | undefined;

/** The process's storage adapter (follows setConfig; useStorage overrides it). */
export function storage(): StorageAdapter {
  if (override) return override;
  const c = config();
  if (cached?.config !== c) cached = { config: c, adapter: create(c) };
  if (cached.adapter instanceof AppError) throw cached.adapter;
  return cached.adapter;
}

/** Replaces the adapter (tests); undefined returns to the configured one. */
export function useStorage(adapter: StorageAdapter | undefined): void {
  override = adapter;
}

/** Which adapter is active, for /api/health. */
export function storageKind(): 'local' | 'supabase' | 'unconfigured' {
  try {
    return storage().kind;
  } catch {
    return 'unconfigured';
  }
}

/**
 * The local adapter's signed-URL endpoint (api/storage/object.ts): PUT uploads, GET downloads. The
 * signature is the only guard; with Supabase Storage (or in any deployment) the route does not exist.
 */
export async function serveLocalObject(request: Request): Promise<Response> {
  const started = performance.now();
  const requestId = requestIdOf(request);
  const url = new URL(request.url);
  const headers = new Headers(corsHeaders(request));
  headers.set('x-request-id', requestId);
  let response: Response;
  let adapter: StorageAdapter | undefined;
  try {
    adapter = config().deployed && !override ? undefined : storage();
  } catch {
    adapter = undefined;
  }
  if (!(adapter instanceof LocalStorage)) {
    headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(errorBody('not_found', `No route for ${request.method} ${url.pathname}`, requestId)), { status: 404, headers });
  }
  try {
    response = request.method === 'PUT' ? await adapter.receiveUpload(request) : await adapter.serveDownload(request);
    for (const [k, v] of headers) response.headers.set(k, v);
  } catch (error) {
    response = toErrorResponse(error, requestId, request, headers);
  }
  log.info('storage', {
    requestId,
    method: request.method,
    path: redactedPath(url),
    status: response.status,
    ms: Math.round((performance.now() - started) * 10) / 10,
  });
  return response;
}
