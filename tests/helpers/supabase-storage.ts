// Plays Supabase Storage in tests: a local HTTP server answering the REST routes the production adapter
// uses, the way supabase/storage does (service-role auth on the authenticated routes, HS256 tokens on
// signed upload and download URLs, bucket size and type limits, `{ statusCode, error, message }`
// errors), recording every request so tests can check method, path, headers and body.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify, SignJWT } from 'jose';

export const SERVICE_ROLE_KEY = 'service-role-key-for-tests-0123456789';
const TOKEN_SECRET = new TextEncoder().encode('fake-storage-jwt-secret-0123456789abcdef');

export interface RecordedRequest {
  method: string;
  /** Decoded path without the query, e.g. /storage/v1/object/sign/attachments/org/... */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface StoredObject {
  bytes: Buffer;
  contentType: string;
  id: string;
  createdAt: Date;
}

export interface FakeStorageOptions {
  bucket?: string;
  /** The bucket's file_size_limit in bytes (default 25 MiB). */
  fileSizeLimit?: number;
  allowedMimeTypes?: string[];
  /** Seconds a signed upload URL lives (Supabase: uploadSignedUrlExpirationTime, 7200). */
  uploadUrlSeconds?: number;
  /** HTTP status of "object not found" (older servers answer 400 with statusCode "404" in the body). */
  notFoundStatus?: 400 | 404;
}

export async function fakeSupabaseStorage(options: FakeStorageOptions = {}) {
  const bucket = options.bucket ?? 'attachments';
  const limit = options.fileSizeLimit ?? 26_214_400;
  const notFoundStatus = options.notFoundStatus ?? 400;
  const objects = new Map<string, StoredObject>();
  const requests: RecordedRequest[] = [];
  const failures: { status: number; body: unknown }[] = [];

  const sign = (claims: Record<string, unknown>, seconds: number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
      .sign(TOKEN_SECRET);

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://storage.local');
        const path = url.pathname.split('/').map(decodeURIComponent).join('/');
        const body = Buffer.concat(chunks);
        requests.push({ method: req.method ?? '', path, query: url.searchParams, headers: req.headers, body });
        const send = (status: number, data: unknown, headers: Record<string, string> = {}) => {
          if (Buffer.isBuffer(data)) res.writeHead(status, headers).end(data);
          else res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(data));
        };
        const fail = (status: number, statusCode: string, error: string, message: string) => send(status, { statusCode, error, message });
        const notFound = () => fail(notFoundStatus, '404', 'Not found', 'The resource was not found');

        const injected = failures.shift();
        if (injected) return send(injected.status, injected.body);

        const m = /^\/storage\/v1\/object\/(?:(upload\/sign|sign|info\/authenticated|authenticated)\/)?([^/]+)\/(.+)$/.exec(path);
        if (!m) return fail(404, '404', 'not_found', 'Route not found');
        const [, kind = '', bucketId, name] = m as unknown as [string, string | undefined, string, string];
        const key = `${bucketId}/${name}`;
        const signedRoute = (kind === 'upload/sign' && req.method === 'PUT') || (kind === 'sign' && req.method === 'GET');
        if (!signedRoute) {
          if (req.headers.authorization !== `Bearer ${SERVICE_ROLE_KEY}` || req.headers.apikey !== SERVICE_ROLE_KEY) {
            return fail(403, '403', 'Unauthorized', 'invalid signature');
          }
        }
        if (bucketId !== bucket) return fail(404, '404', 'Bucket not found', 'Bucket not found');

        const store = (bytes: Buffer, contentType: string | undefined, upsert: boolean) => {
          if (bytes.length > limit) return fail(413, '413', 'Payload too large', 'The object exceeded the maximum allowed size');
          const type = contentType ?? 'text/plain;charset=UTF-8';
          if (options.allowedMimeTypes && !options.allowedMimeTypes.includes(type.split(';')[0]!)) {
            return fail(415, '415', 'invalid_mime_type', `mime type ${type} is not supported`);
          }
          if (objects.has(key) && !upsert) return fail(400, '409', 'Duplicate', 'The resource already exists');
          const id = objects.get(key)?.id ?? randomUUID();
          objects.set(key, { bytes, contentType: type, id, createdAt: new Date() });
          return send(200, { Key: key, Id: id });
        };
        const verified = async (): Promise<{ url: string; upsert?: boolean } | undefined> => {
          const token = url.searchParams.get('token');
          if (!token) {
            fail(400, '400', 'Missing token', 'querystring must have required property token');
            return undefined;
          }
          try {
            const { payload } = await jwtVerify(token, TOKEN_SECRET);
            if (payload.url !== key) {
              fail(400, '400', 'InvalidSignature', 'The url do not match the signature');
              return undefined;
            }
            return payload as { url: string; upsert?: boolean };
          } catch (error) {
            const expired = (error as { code?: string }).code === 'ERR_JWT_EXPIRED';
            fail(400, '400', expired ? 'ExpiredSignature' : 'Invalid JWT', expired ? 'The signature has expired' : 'invalid signature');
            return undefined;
          }
        };

        const object = objects.get(key);
        switch (`${req.method} ${kind}`) {
          case 'POST upload/sign': {
            const token = await sign({ url: key, upsert: req.headers['x-upsert'] === 'true' }, options.uploadUrlSeconds ?? 7200);
            return send(200, { url: `/object/upload/sign/${key}?token=${token}`, token });
          }
          case 'PUT upload/sign': {
            const claims = await verified();
            if (!claims) return;
            return store(body, req.headers['content-type'], claims.upsert === true);
          }
          case 'POST ':
            return store(body, req.headers['content-type'], req.headers['x-upsert'] === 'true');
          case 'GET authenticated':
            if (!object) return notFound();
            return send(200, object.bytes, { 'content-type': object.contentType, 'content-length': String(object.bytes.length) });
          case 'GET info/authenticated':
            if (!object) return notFound();
            return send(200, {
              id: object.id,
              name,
              version: object.id,
              bucket_id: bucketId,
              size: object.bytes.length,
              content_type: object.contentType,
              cache_control: 'max-age=3600',
              etag: `"${object.id}"`,
              metadata: {},
              last_modified: object.createdAt.toISOString(),
              created_at: object.createdAt.toISOString(),
            });
          case 'POST sign': {
            const { expiresIn } = JSON.parse(body.toString('utf8') || '{}') as { expiresIn?: unknown };
            if (typeof expiresIn !== 'number' || !Number.isInteger(expiresIn) || expiresIn < 1) {
              return fail(400, '400', 'Bad Request', 'body/expiresIn must be integer');
            }
            if (!object) return notFound();
            const token = await sign({ url: key }, expiresIn);
            return send(200, { signedURL: `/object/sign/${key}?token=${token}` });
          }
          case 'GET sign': {
            if (!(await verified())) return;
            if (!object) return notFound();
            const download = url.searchParams.get('download');
            return send(200, object.bytes, {
              'content-type': object.contentType,
              // As Storage's renderer does: the name percent-encoded in both parameters.
              ...(download !== null
                ? {
                    'content-disposition': download
                      ? `attachment; filename=${encodeURIComponent(download)}; filename*=UTF-8''${encodeURIComponent(download)};`
                      : 'attachment;',
                  }
                : {}),
            });
          }
          case 'DELETE ':
            if (!object) return notFound();
            objects.delete(key);
            return send(200, { message: 'Successfully deleted' });
          default:
            return fail(404, '404', 'not_found', `Route ${req.method} ${path} not found`);
        }
      })().catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: '500', error: 'internal', message: String(error) }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bucket,
    objects,
    requests,
    /** The next request answers this instead (e.g. a 500 or a 401). */
    failNext(status: number, body: unknown) {
      failures.push({ status, body });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FakeSupabaseStorage = Awaited<ReturnType<typeof fakeSupabaseStorage>>;
