import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRouter, routeTable } from '../../lib/dev/router.js';

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
