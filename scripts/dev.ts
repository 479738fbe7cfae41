// npm run dev: the whole system on one port. Serves api/ by Vercel's rules, on embedded PGlite under
// .data/ unless DATABASE_URL is set; applies migrations, seeds demo data once, fires the vercel.json
// crons locally and runs jobs by JOBS_ADAPTER: the in-process dispatcher by default, QStash, or inline
// after each response (the local cron then plays the sweeper).
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { config } from '../lib/config.js';
import { closeDb, db } from '../lib/db/client.js';
import { migrate } from '../lib/db/migrate.js';
import { startLocalCron } from '../lib/dev/cron.js';
import { asBehindPlatform, createRouter } from '../lib/dev/router.js';
import { seed } from '../lib/dev/seed.js';
import { startLocalDispatcher } from '../lib/jobs/local-dispatcher.js';
import { log } from '../lib/log.js';

async function main() {
  const cfg = config();
  const sql = await db();
  await migrate(sql, { log: (line) => log.info(line) });
  if (await seed(sql)) log.info('seeded demo data (npm run token -- --role agent)');

  const router = createRouter();
  const listener = getRequestListener((request) => router.fetch(request));
  const server = createServer((req, res) => {
    asBehindPlatform(req);
    // The listener answers errors itself; a rejection here would only be an unanswerable socket.
    listener(req, res).catch((error: unknown) => log.error('request failed', { error }));
  });
  // Loopback only unless HOST says otherwise: the development secrets are public, so anyone who can
  // reach this port could mint tokens and storage URLs.
  await new Promise<void>((resolve) => server.listen(cfg.port, cfg.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  // Where this process reaches itself (the local cron), whatever interface it listens on.
  const wildcard = cfg.host === '0.0.0.0' || cfg.host === '::';
  const base = `http://${wildcard ? '127.0.0.1' : cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;

  const cron = cfg.dev.cron ? startLocalCron(base, cfg.cronSecret) : undefined;
  const dispatcher = cfg.dev.jobs && cfg.jobs.adapter === 'local' ? startLocalDispatcher() : undefined;
  const jobs = cfg.jobs.adapter === 'local' && !dispatcher ? 'local, dispatcher off (DEV_JOBS=false)' : cfg.jobs.adapter;
  process.stdout.write(`Banxway API on ${base} (database: ${cfg.database.kind}, jobs: ${jobs}, ${router.routes.length} routes)\n`);

  const stop = async () => {
    cron?.stop();
    await dispatcher?.stop();
    server.close();
    await closeDb();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
