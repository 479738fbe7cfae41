import { defineConfig } from 'vitest/config';

// Unit tests run once; integration tests run on embedded PGlite and, when TEST_DATABASE_URL names a
// PostgreSQL server, again on it (each test file in its own fresh database). CI sets
// TEST_REQUIRE_SERVERS=1 so the server-backed tiers can never silently skip there.
const postgresUrl = process.env.TEST_DATABASE_URL;
if (!postgresUrl) {
  if (process.env.TEST_REQUIRE_SERVERS === '1') throw new Error('TEST_REQUIRE_SERVERS=1 but TEST_DATABASE_URL is not set');
  console.warn('[banxway] TEST_DATABASE_URL is not set: the real-PostgreSQL tier is skipped (PGlite only).');
}

const shared = { setupFiles: ['tests/helpers/setup.ts'], testTimeout: 30_000, hookTimeout: 60_000 };
// The integration tiers validate every answer against the OpenAPI document, generated once per run.
const contract = { globalSetup: ['tests/helpers/openapi-setup.ts'] };

export default defineConfig({
  test: {
    // Vitest runs one file at a time per core but one (a single file on a 2-core machine). Most of a
    // file's time here is spent waiting on PostgreSQL, Dovecot, local HTTP servers and timers, not on
    // this process's CPU: three files at once measured 69 s against 199 s for one at a time. Every
    // file owns its database, servers and ports, so files running side by side never share state.
    maxWorkers: 3,
    projects: [
      { test: { ...shared, name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      { test: { ...shared, ...contract, name: 'pglite', include: ['tests/integration/**/*.test.ts'], env: { TEST_ENGINE: 'pglite' } } },
      ...(postgresUrl
        ? [
            {
              test: {
                ...shared,
                ...contract,
                name: 'postgres',
                include: ['tests/integration/**/*.test.ts', 'tests/postgres/**/*.test.ts'],
                env: { TEST_ENGINE: 'postgres' },
              },
            },
            // The functions as `npm run build:vercel` built them, on the pinned Node.js (tests/deploy).
            { test: { ...shared, name: 'deploy', include: ['tests/deploy/**/*.test.ts'], env: { TEST_ENGINE: 'postgres' } } },
          ]
        : []),
    ],
  },
});
