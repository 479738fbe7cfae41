import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_DEFAULTS, parseConfig } from '../../lib/config.js';

const production = {
  APP_ENV: 'production',
  DATABASE_URL: 'postgres://postgres.ref:pw@aws-0-ap-south-1.pooler.supabase.com:6543/postgres',
  PUBLIC_BASE_URL: 'https://api.banxway.example',
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  CRON_SECRET: 'a-real-cron-secret-of-length',
  SUPABASE_URL: 'https://ref.supabase.co',
  SUPABASE_SERVICE_ROLE_KEY: 'service-role-key',
  JOBS_ADAPTER: 'inline',
};

describe('configuration', () => {
  it('runs with no variables at all on the embedded defaults', () => {
    const c = parseConfig({});
    expect(c.deployed).toBe(false);
    expect(c.database).toMatchObject({ kind: 'pglite', dataDir: '.data/pglite' });
    expect(c.publicBaseUrl).toBe('http://localhost:3000');
    expect(c.auth.secret).toBe(DEV_DEFAULTS.AUTH_JWT_SECRET);
    expect(c.qstash).toBeUndefined();
  });

  it('names every missing or bad variable at once', () => {
    try {
      parseConfig({ PORT: 'eighty', DATABASE_URL: 'not a url', ENCRYPTION_KEY: 'short', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      for (const name of ['PORT', 'DATABASE_URL', 'ENCRYPTION_KEY', 'LOG_LEVEL']) expect(message).toContain(name);
    }
  });

  it('refuses the embedded defaults in a deployment', () => {
    expect(() => parseConfig({ VERCEL: '1' })).toThrow(/DATABASE_URL is required[\s\S]*PUBLIC_BASE_URL[\s\S]*ENCRYPTION_KEY[\s\S]*CRON_SECRET/);
    expect(() => parseConfig({ ...production, CRON_SECRET: DEV_DEFAULTS.CRON_SECRET })).toThrow(/CRON_SECRET is the public development default/);
    expect(() => parseConfig({ ...production, QSTASH_TOKEN: 't' })).toThrow(/QSTASH_CURRENT_SIGNING_KEY/);
  });

  it('requires a token issuer in a deployment: AUTH_JWT_ISSUER, or SUPABASE_URL it is derived from', () => {
    const secretOnly = { ...production, SUPABASE_URL: undefined, AUTH_JWT_SECRET: 'a-project-jwt-secret-of-at-least-32-chars' };
    expect(() => parseConfig(secretOnly)).toThrow(/AUTH_JWT_ISSUER is required in a deployment/);
    expect(parseConfig({ ...secretOnly, AUTH_JWT_ISSUER: 'https://ref.supabase.co/auth/v1' }).auth.issuer).toBe('https://ref.supabase.co/auth/v1');
    expect(parseConfig(production).auth.issuer).toBe('https://ref.supabase.co/auth/v1');
  });

  it('configures Supabase: JWKS and issuer from the project URL, no prepared statements on the pooler', () => {
    const c = parseConfig(production);
    expect(c.auth).toMatchObject({
      jwksUrl: 'https://ref.supabase.co/auth/v1/.well-known/jwks.json',
      issuer: 'https://ref.supabase.co/auth/v1',
      audience: 'authenticated',
      secret: undefined,
    });
    expect(c.database).toMatchObject({ kind: 'postgres', prepare: false, poolMax: 3 });
    expect(parseConfig({ DATABASE_URL: 'postgres://localhost:5432/db' }).database).toMatchObject({ prepare: true, poolMax: 10 });
  });

  it('treats empty strings as unset and parses rotation keys', () => {
    const c = parseConfig({ DATABASE_URL: '', ENCRYPTION_PREVIOUS_KEYS: `k0:${Buffer.alloc(32, 1).toString('base64')}` });
    expect(c.database.kind).toBe('pglite');
    expect(c.encryption.previous.get('k0')).toHaveLength(32);
  });
});
