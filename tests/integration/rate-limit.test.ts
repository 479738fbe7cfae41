// Rate limits: in memory by default, and @upstash/ratelimit against a local server speaking Upstash's
// REST protocol in front of a real Redis (TEST_REDIS_URL; CI sets it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig } from '../../lib/config.js';
import { resetRateLimiter } from '../../lib/http/rate-limit.js';
import { json } from '../helpers/api.js';
import { engine, testDatabase, type TestDatabase } from '../helpers/database.js';
import { fakeUpstashRedis } from '../helpers/upstash-redis.js';

let db: TestDatabase;
const saved = config();
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(async () => {
  setConfig(saved);
  resetRateLimiter();
  await db.close();
});

async function hammer(n: number, headers: Record<string, string> = {}) {
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < n; i++) {
    const res = await json('GET', '/api/threads?limit=1', { headers });
    statuses.push(res.status);
    if (res.status === 429) {
      retryAfter = res.headers.get('retry-after');
      expect(res.body.error.code).toBe('rate_limited');
    }
  }
  return { statuses, retryAfter };
}

describe('rate limits', () => {
  it('limits per user in memory, with Retry-After', async () => {
    setConfig(parseConfig({ ...process.env, RATE_LIMIT_PER_USER_PER_MINUTE: '3' }));
    resetRateLimiter();
    const { statuses, retryAfter } = await hammer(5);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect((await json('GET', '/api/threads?limit=1', { as: 'manager' })).status).toBe(200);
  });

  it('limits per IP (the address the platform reports in X-Real-IP) before looking at the token', async () => {
    setConfig(parseConfig({ ...process.env, RATE_LIMIT_PER_IP_PER_MINUTE: '2' }));
    resetRateLimiter();
    const { statuses } = await hammer(3, { 'x-real-ip': '203.0.113.7' });
    expect(statuses).toEqual([200, 200, 429]);
    expect((await json('GET', '/api/threads', { token: null, headers: { 'x-real-ip': '203.0.113.7' } })).status).toBe(429);
    // A client cannot step out of its budget with an X-Forwarded-For of its own making.
    for (const spoof of ['198.51.100.1', '198.51.100.2, 10.0.0.1']) {
      expect((await json('GET', '/api/threads?limit=1', { headers: { 'x-real-ip': '203.0.113.7', 'x-forwarded-for': spoof } })).status).toBe(429);
    }
    expect((await json('GET', '/api/threads?limit=1', { headers: { 'x-real-ip': '198.51.100.1' } })).status).toBe(200);
  });

  it('never puts requests with no reported address into one shared bucket', async () => {
    setConfig(parseConfig({ ...process.env, RATE_LIMIT_PER_IP_PER_MINUTE: '2' }));
    resetRateLimiter();
    const { statuses } = await hammer(4);
    expect(statuses).toEqual([200, 200, 200, 200]);
  });

  const redisUrl = process.env.TEST_REDIS_URL;
  it.skipIf(!redisUrl || engine !== 'pglite')('uses @upstash/ratelimit over the Upstash REST protocol when configured', async () => {
    const upstash = await fakeUpstashRedis(redisUrl!);
    try {
      setConfig(
        parseConfig({ ...process.env, UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token, RATE_LIMIT_PER_USER_PER_MINUTE: '3' }),
      );
      resetRateLimiter();
      const { statuses, retryAfter } = await hammer(4, { 'x-forwarded-for': `192.0.2.${Math.floor(Math.random() * 200)}` });
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(Number(retryAfter)).toBeGreaterThan(0);
      // The limiter's Lua ran in the real Redis (EVALSHA, falling back to EVAL on NOSCRIPT).
      expect(upstash.commands.some((c) => c[0]!.toUpperCase().startsWith('EVAL'))).toBe(true);
    } finally {
      await upstash.close();
    }
  });
});
