// Plays QStash in tests: mints Upstash-Signature JWTs as QStash documents them, and runs a local HTTP
// server that accepts publish requests the way QStash's /v2/publish endpoint does.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';

export const CURRENT_KEY = 'sig_test_current_0123456789abcdef';
export const NEXT_KEY = 'sig_test_next_fedcba9876543210';

export async function qstashSignature(url: string, body: string, options: { key?: string; expiresInSeconds?: number; issuer?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ body: createHash('sha256').update(body).digest('base64url') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(options.issuer ?? 'Upstash')
    .setSubject(url)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 300))
    .setJti(`jwt_${randomUUID()}`)
    .sign(new TextEncoder().encode(options.key ?? CURRENT_KEY));
}

export interface PublishedMessage {
  destination: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local server answering POST /v2/publish/<destination> like QStash, recording each request. */
export async function fakeQStash(options: { failFirst?: number } = {}) {
  const published: PublishedMessage[] = [];
  let failures = options.failFirst ?? 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const prefix = '/v2/publish/';
      if (req.method !== 'POST' || !req.url?.startsWith(prefix)) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
        return;
      }
      if (req.headers.authorization !== 'Bearer qstash-test-token') {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized' }));
        return;
      }
      if (failures > 0) {
        failures--;
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'temporarily unavailable' }));
        return;
      }
      const destination = decodeURIComponent(req.url.slice(prefix.length));
      published.push({ destination, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ messageId: `msg_${randomUUID()}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    published,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
