// Access-token verification: what the per-instance cache of verified tokens may and may not skip.
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { config } from '../../lib/config.js';
import { resetAuthCache, signAccessToken, verifyAccessToken } from '../../lib/http/auth.js';
import { SEED_USERS } from '../../lib/dev/seed.js';

afterEach(() => {
  vi.useRealTimers();
  resetAuthCache();
});

describe('verifyAccessToken', () => {
  it('accepts a token again from the cache, and refuses it from the moment it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-26T10:00:00Z'));
    const token = await signAccessToken(SEED_USERS.agent, { expiresIn: '60s' });
    expect((await verifyAccessToken(token)).userId).toBe(SEED_USERS.agent.id);
    vi.setSystemTime(new Date('2026-11-26T10:00:30Z'));
    expect((await verifyAccessToken(token)).userId).toBe(SEED_USERS.agent.id);
    vi.setSystemTime(new Date('2026-11-26T10:01:10Z'));
    await expect(verifyAccessToken(token)).rejects.toMatchObject({ code: 'unauthorized', message: 'The access token has expired' });
  });

  it('never caches a refusal: a wrongly signed token stays refused, a good one for the same user passes', async () => {
    const forged = await signAccessToken(SEED_USERS.agent, { secret: 'another-secret-that-is-long-enough-0123456789' });
    for (let i = 0; i < 2; i++) await expect(verifyAccessToken(forged)).rejects.toMatchObject({ code: 'unauthorized' });
    expect((await verifyAccessToken(await signAccessToken(SEED_USERS.agent))).userId).toBe(SEED_USERS.agent.id);
  });

  it('does not accept a token changed in any part after a good one was cached', async () => {
    const token = await signAccessToken(SEED_USERS.agent);
    await verifyAccessToken(token);
    const [h, p, s] = token.split('.') as [string, string, string];
    const otherPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: SEED_USERS.owner.id })).toString('base64url');
    await expect(verifyAccessToken(`${h}.${otherPayload}.${s}`)).rejects.toMatchObject({ code: 'unauthorized' });
  });
});

describe('the claims a token must carry', () => {
  const secret = () => new TextEncoder().encode(config().auth.secret!);
  const base = () => new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'HS256' }).setSubject(SEED_USERS.agent.id).setAudience('authenticated');

  it('refuses a token without exp, which would never expire', async () => {
    const token = await base().setIssuedAt().sign(secret());
    await expect(verifyAccessToken(token)).rejects.toMatchObject({ code: 'unauthorized', message: "The access token's exp claim is not accepted" });
  });

  it('refuses a token issued or valid from later than now beyond the clock skew, and allows a few seconds of skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const future = await base()
      .setIssuedAt(now + 120)
      .setExpirationTime(now + 3600)
      .sign(secret());
    await expect(verifyAccessToken(future)).rejects.toMatchObject({ code: 'unauthorized', message: "The access token's iat claim is in the future" });
    const notYet = await base()
      .setIssuedAt(now)
      .setNotBefore(now + 120)
      .setExpirationTime(now + 3600)
      .sign(secret());
    await expect(verifyAccessToken(notYet)).rejects.toMatchObject({ code: 'unauthorized' });
    const skewed = await base()
      .setIssuedAt(now + 2)
      .setExpirationTime(now + 3600)
      .sign(secret());
    expect((await verifyAccessToken(skewed)).userId).toBe(SEED_USERS.agent.id);
  });
});
