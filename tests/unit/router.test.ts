import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { asBehindPlatform, createRouter, routeTable } from '../../lib/dev/router.js';

const dir = fileURLToPath(new URL('../fixtures/api-routes/', import.meta.url));
const router = createRouter(dir);
const get = async (path: string, init?: RequestInit) => {
  const res = await router.fetch(new Request(`http://localhost${path}`, init));
  return { status: res.status, headers: res.headers, text: await res.text() };
};

describe('the Vercel-style router', () => {
  it('derives the route table from the files, static segments before dynamic ones, ignoring _ files', () => {
    expect(routeTable(dir).map((r) => r.pattern)).toEqual(['/api/things/special', '/api/things/[id]/parts', '/api/things/[id]', '/api/things', '/api']);
  });

  it('maps index files and files to paths', async () => {
    expect(JSON.parse((await get('/api')).text)).toMatchObject({ route: '/api' });
    expect(JSON.parse((await get('/api/things')).text)).toMatchObject({ route: '/api/things' });
    expect(JSON.parse((await get('/api/things/special')).text)).toMatchObject({ route: '/api/things/special' });
  });

  it('passes a [param] segment as a query parameter, one path part only', async () => {
    expect(JSON.parse((await get('/api/things/abc%20def')).text)).toMatchObject({ id: 'abc def' });
    const nested = await router.fetch(
      new Request('http://localhost/api/things/42/parts?q=x', { method: 'PUT', body: '{"a":1}', headers: { 'content-type': 'application/json' } }),
    );
    expect(await nested.json()).toEqual({ route: '/api/things/[id]/parts', id: '42', q: 'x', body: { a: 1 } });
    expect((await get('/api/things/1/2/3')).status).toBe(404);
  });

  it('passes a malformed percent-encoding on as it is, as Vercel does, instead of failing', async () => {
    const res = await get('/api/things/%ZZ');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ id: '%ZZ' });
  });

  it('answers an unexported method with 405 and Allow, and HEAD from GET without a body', async () => {
    const res = await get('/api/things/1', { method: 'PATCH' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, DELETE, HEAD');
    expect(JSON.parse(res.text).error.code).toBe('method_not_allowed');
    const head = await get('/api/things/1', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect((await get('/api/things/_private/hidden')).status).toBe(404);
  });

  it('answers unknown paths with 404 in the JSON error shape', async () => {
    const res = await get('/api/nothing/here');
    expect(res.status).toBe(404);
    const body = JSON.parse(res.text);
    expect(body.error).toMatchObject({ code: 'not_found' });
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
  });
});

describe('the dev server as the platform', () => {
  it("reports the socket's address in X-Real-IP and drops the client's own X-Forwarded-For and X-Real-IP", async () => {
    let seen: { rawHeaders: string[]; headers: IncomingMessage['headers'] } | undefined;
    const server = createServer((req, res) => {
      asBehindPlatform(req);
      seen = { rawHeaders: [...req.rawHeaders], headers: { ...req.headers } };
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await fetch(`http://127.0.0.1:${port}/`, { headers: { 'X-Forwarded-For': '203.0.113.9', 'x-real-ip': '198.51.100.4', 'x-other': 'kept' } });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const pairs = Array.from({ length: seen!.rawHeaders.length / 2 }, (_, i) => [seen!.rawHeaders[2 * i]!.toLowerCase(), seen!.rawHeaders[2 * i + 1]]);
    expect(pairs.filter(([n]) => n === 'x-real-ip' || n === 'x-forwarded-for')).toEqual([['x-real-ip', '127.0.0.1']]);
    expect(seen!.headers).toMatchObject({ 'x-real-ip': '127.0.0.1', 'x-other': 'kept' });
    expect(seen!.headers['x-forwarded-for']).toBeUndefined();
  });
});
