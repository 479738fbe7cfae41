// Per-user and per-IP rate limits: @upstash/ratelimit (sliding window) when Upstash Redis is
// configured, an in-memory fixed window otherwise (one process: the dev server, tests).
import { ipAddress } from '@vercel/functions/headers';
import { config } from '../config.js';
import { log } from '../log.js';
import { bearerToken, verifyAccessToken, type Principal } from './auth.js';
import { AppError } from '../errors.js';
import { authenticateApiKey, isApiKey, type ApiKeyPrincipal } from '../api-keys/authenticate.js';

export interface Limiter {
  limit(key: string, max: number): Promise<{ success: boolean; reset: number }>;
}

class MemoryLimiter implements Limiter {
  private windows = new Map<string, { count: number; reset: number }>();
  constructor(private windowMs = 60_000) {}

  async limit(key: string, max: number) {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || w.reset <= now) {
      if (this.windows.size > 50_000) this.sweep(now);
      w = { count: 0, reset: now + this.windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { success: w.count <= max, reset: w.reset };
  }

  private sweep(now: number) {
    for (const [k, w] of this.windows) if (w.reset <= now) this.windows.delete(k);
  }
}

class UpstashLimiter implements Limiter {
  private limiters = new Map<number, Promise<{ limit(id: string): Promise<{ success: boolean; reset: number }> }>>();
  constructor(private redis: { url: string; token: string }) {}

  private get(max: number) {
    let l = this.limiters.get(max);
    if (!l) {
      l = (async () => {
        const [{ Ratelimit }, { Redis }] = await Promise.all([import('@upstash/ratelimit'), import('@upstash/redis')]);
        const redis = new Redis({ url: this.redis.url, token: this.redis.token });
        return new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(max, '1 m'), prefix: `banxway:rl:${max}` });
      })();
      this.limiters.set(max, l);
    }
    return l;
  }

  async limit(key: string, max: number) {
    try {
      const { success, reset } = await (await this.get(max)).limit(key);
      return { success, reset };
    } catch (error) {
      // A rate limiter that is down must not take the API down with it: fail open, loudly.
      log.warn('rate limiter unavailable; request allowed', { error });
      return { success: true, reset: Date.now() };
    }
  }
}

let limiter: Limiter | undefined;

export function rateLimiter(): Limiter {
  const redis = config().redis;
  limiter ??= redis ? new UpstashLimiter(redis) : new MemoryLimiter();
  return limiter;
}

export function resetRateLimiter(next?: Limiter): void {
  limiter = next;
}

/** Throws a 429 with Retry-After when the key is over its per-minute budget. */
export async function enforceRateLimit(key: string, max: number): Promise<void> {
  const { success, reset } = await rateLimiter().limit(key, max);
  if (!success) {
    const retryAfter = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
    throw new AppError('rate_limited', 'Too many requests; slow down', undefined, { 'retry-after': String(retryAfter) });
  }
}

/**
 * The caller's address as the platform reports it: Vercel sets X-Real-IP at its edge (ipAddress()),
 * and the dev server sets it from the socket, both overwriting whatever the client sent. Never
 * X-Forwarded-For, which a client writes as it likes. Undefined when nobody reported one.
 */
export function clientIp(request: Request): string | undefined {
  return ipAddress(request) || undefined;
}

/**
 * Who calls a user-facing route: the per-address budget, then the bearer token, then the user's
 * budget (route() and userRoute() both start here).
 */
export async function rateLimitedPrincipal(request: Request): Promise<Principal> {
  const caller = await rateLimitedCaller(request);
  if (caller.kind === 'api_key') throw new AppError('forbidden', "API keys act for an organization, not a person: this route needs a member's access token");
  return caller.principal;
}

/** A member (by access token) or an API key (bx_live_...), each with its own per-minute budget. */
export type Caller = { kind: 'user'; principal: Principal } | { kind: 'api_key'; key: ApiKeyPrincipal };

/** Who calls an organization's route: the per-address budget, the token or key, then its own budget. */
export async function rateLimitedCaller(request: Request): Promise<Caller> {
  await enforceIpRateLimit(request);
  const token = bearerToken(request);
  if (isApiKey(token)) {
    const key = await authenticateApiKey(token);
    await enforceRateLimit(`api_key:${key.keyId}`, config().rateLimit.perApiKeyPerMinute);
    return { kind: 'api_key', key };
  }
  const principal = await verifyAccessToken(token);
  await enforceRateLimit(`user:${principal.userId}`, config().rateLimit.perUserPerMinute);
  return { kind: 'user', principal };
}

/** The per-address budget; a request with no known address is limited per user only, never in a shared bucket. */
export async function enforceIpRateLimit(request: Request): Promise<void> {
  const ip = clientIp(request);
  if (ip) await enforceRateLimit(`ip:${ip}`, config().rateLimit.perIpPerMinute);
}
