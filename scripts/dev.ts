// npm run dev: the whole system on one port. Serves api/ by Vercel's rules, on embedded PGlite under
// .data/ unless DATABASE_URL is set; applies migrations, seeds demo data once, fires the vercel.json
// crons locally and runs jobs by JOBS_ADAPTER: the in-process dispatcher by default, QStash, or inline
// after each response (the local cron then plays the sweeper), and serves Supabase Realtime's endpoints
// (lib/dev/realtime) so supabase-js pointed here gets the events, presence and typing.
import { config } from '../lib/config.js';
import { closeDb, db } from '../lib/db/client.js';
import { migrate } from '../lib/db/migrate.js';
import { startLocalCron } from '../lib/dev/cron.js';
import { seed } from '../lib/dev/seed.js';
import { startDevServer } from '../lib/dev/server.js';
import { startLocalDispatcher } from '../lib/jobs/local-dispatcher.js';
import { log } from '../lib/log.js';

async function main() {
  const cfg = config();
  const sql = await db();
  await migrate(sql, { log: (line) => log.info(line) });
  if (await seed(sql)) log.info('seeded demo data (npm run token -- --role agent)');

  // Loopback only unless HOST says otherwise: the development secrets are public, so anyone who can
  // reach this port could mint tokens and storage URLs.
  const dev = await startDevServer({ sql, engine: cfg.database.kind, port: cfg.port, host: cfg.host });
  const { router, port } = dev;
  // Where this process reaches itself (the local cron), whatever interface it listens on.
  const wildcard = cfg.host === '0.0.0.0' || cfg.host === '::';
  const base = `http://${wildcard ? '127.0.0.1' : cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;

  const cron = cfg.dev.cron ? startLocalCron(base, cfg.cronSecret) : undefined;
  const dispatcher = cfg.dev.jobs && cfg.jobs.adapter === 'local' ? startLocalDispatcher() : undefined;
  const jobs = cfg.jobs.adapter === 'local' && !dispatcher ? 'local, dispatcher off (DEV_JOBS=false)' : cfg.jobs.adapter;
  process.stdout.write(
    `Banxway API on ${base} (database: ${cfg.database.kind}, jobs: ${jobs}, ${router.routes.length} routes, realtime: ws://${base.slice('http://'.length)}/realtime/v1)\n`,
  );

  const stop = async () => {
    cron?.stop();
    await dispatcher?.stop();
    await dev.close();
    await closeDb();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
