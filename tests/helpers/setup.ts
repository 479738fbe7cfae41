// Test process defaults: quiet logs, a fixed public URL, generous rate limits, no dev timers.
process.env.LOG_LEVEL ??= 'silent';
process.env.PUBLIC_BASE_URL ??= 'https://banxway.test';
process.env.RATE_LIMIT_PER_USER_PER_MINUTE ??= '100000';
process.env.RATE_LIMIT_PER_IP_PER_MINUTE ??= '100000';
process.env.CORS_ORIGINS ??= 'https://app.banxway.test';
delete process.env.DATABASE_URL;
delete process.env.QSTASH_TOKEN;
delete process.env.UPSTASH_REDIS_REST_URL;
