// Where jobs run (JOBS_ADAPTER): never silently nowhere. A deployment without QStash must say inline
// explicitly, and the development dispatcher is refused there.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config.js';

const deployed = {
  VERCEL: '1',
  DATABASE_URL: 'postgres://postgres.ref:pw@aws-0-ap-south-1.pooler.supabase.com:6543/postgres',
  PUBLIC_BASE_URL: 'https://api.banxway.example',
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  CRON_SECRET: 'a-real-cron-secret-of-length',
  SUPABASE_URL: 'https://ref.supabase.co',
  SUPABASE_SERVICE_ROLE_KEY: 'service-role-key',
};
const qstash = { QSTASH_TOKEN: 'qstash-token', QSTASH_CURRENT_SIGNING_KEY: 'sig_current', QSTASH_NEXT_SIGNING_KEY: 'sig_next' };

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}

describe('JOBS_ADAPTER', () => {
  it('refuses a deployment with no way to run jobs, naming the variable', () => {
    const found = problems(deployed);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^JOBS_ADAPTER is required in a deployment without QSTASH_TOKEN/);
    expect(found[0]).toContain('JOBS_ADAPTER=inline');
    // The same on Vercel's marker alone and with APP_ENV=production.
    const { VERCEL: _, ...production } = deployed;
    expect(problems({ ...production, APP_ENV: 'production' })[0]).toMatch(/^JOBS_ADAPTER/);
  });

  it('refuses the in-process dispatcher in a deployment', () => {
    expect(problems({ ...deployed, JOBS_ADAPTER: 'local' })).toEqual([
      'JOBS_ADAPTER local (the in-process dispatcher of npm run dev) cannot run jobs in a deployment: use qstash or inline',
    ]);
    expect(problems({ ...deployed, ...qstash, JOBS_ADAPTER: 'local' })[0]).toMatch(/^JOBS_ADAPTER local/);
  });

  it('uses QStash when its token is set, inline when asked, the dispatcher in development', () => {
    expect(parseConfig({ ...deployed, ...qstash }).jobs).toEqual({ adapter: 'qstash', inlineBudgetMs: 15_000 });
    expect(parseConfig({ ...deployed, JOBS_ADAPTER: 'inline', JOBS_INLINE_BUDGET_MS: '20000' }).jobs).toEqual({ adapter: 'inline', inlineBudgetMs: 20_000 });
    // Inline wins over a configured QStash when it is asked for.
    expect(parseConfig({ ...deployed, ...qstash, JOBS_ADAPTER: 'inline' }).jobs.adapter).toBe('inline');
    expect(parseConfig({}).jobs.adapter).toBe('local');
    expect(parseConfig({ JOBS_ADAPTER: 'inline' }).jobs.adapter).toBe('inline');
    expect(parseConfig({ QSTASH_TOKEN: 'qstash-token' }).jobs.adapter).toBe('qstash');
  });

  it('needs the token for qstash and a budget well inside a function', () => {
    expect(problems({ JOBS_ADAPTER: 'qstash' })).toEqual(['QSTASH_TOKEN is required with JOBS_ADAPTER=qstash']);
    expect(problems({ JOBS_ADAPTER: 'sometimes' })[0]).toMatch(/^JOBS_ADAPTER /);
    expect(problems({ JOBS_ADAPTER: 'inline', JOBS_INLINE_BUDGET_MS: '120000' })[0]).toMatch(/^JOBS_INLINE_BUDGET_MS /);
    expect(problems({ JOBS_ADAPTER: 'inline', JOBS_INLINE_BUDGET_MS: '10' })[0]).toMatch(/^JOBS_INLINE_BUDGET_MS /);
  });
});
