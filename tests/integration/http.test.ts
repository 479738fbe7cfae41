// Cross-cutting HTTP behaviour of real routes: CORS, request ids, 405/HEAD, logs without secrets,
// health, and the cron guard.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { config, parseConfig, setConfig } from '../../lib/config.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

describe('HTTP conventions', () => {
  it('answers CORS for configured origins only', async () => {
    const pre = await call('OPTIONS', '/api/threads', {
      token: null,
      headers: { origin: 'https://app.banxway.test', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.banxway.test');
    expect(pre.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    const get = await call('GET', '/api/threads?limit=1', { headers: { origin: 'https://app.banxway.test' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('https://app.banxway.test');
    const evil = await call('GET', '/api/threads?limit=1', { headers: { origin: 'https://evil.example' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('echoes a sane X-Request-Id and makes one otherwise', async () => {
    const mine = await call('GET', '/api/threads?limit=1', { headers: { 'x-request-id': 'web-1234-abcd' } });
    expect(mine.headers.get('x-request-id')).toBe('web-1234-abcd');
    const junk = await call('GET', '/api/threads?limit=1', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(junk.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 405 with Allow on a real route, and HEAD like GET without a body', async () => {
    const res = await json('DELETE', '/api/threads');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST, OPTIONS, HEAD');
    const head = await call('HEAD', '/api/threads?limit=1');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('logs one JSON line per request, with the query string redacted', async () => {
    const saved = config();
    setConfig(parseConfig({ ...process.env, LOG_LEVEL: 'info' }));
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await call('GET', '/api/threads?q=secret-token-123&limit=1');
    } finally {
      spy.mockRestore();
      setConfig(saved);
    }
    const entry = JSON.parse(lines.find((l) => l.includes('"msg":"request"'))!);
    expect(entry).toMatchObject({ level: 'info', method: 'GET', path: '/api/threads?[redacted]', status: 200 });
    expect(entry.ms).toBeTypeOf('number');
    expect(lines.join('')).not.toContain('secret-token-123');
  });

  it('reports health without secrets', async () => {
    const res = await json('GET', '/api/health', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', database: { ok: true }, migrations: { ok: true, pending: [] } });
    expect(JSON.stringify(res.body)).not.toMatch(/secret|password|postgres:\/\//i);
  });

  it('guards cron routes with the cron secret, in every environment', async () => {
    expect((await call('GET', '/api/cron/jobs-sweep', { token: null })).status).toBe(401);
    expect((await call('GET', '/api/cron/jobs-sweep', { token: null, headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await json('GET', '/api/cron/jobs-sweep', { token: null, headers: { authorization: `Bearer ${config().cronSecret}` } });
    expect(ok.status).toBe(200);
    expect(ok.body.result).toMatchObject({ leasesExpired: 0 });
  });
});
