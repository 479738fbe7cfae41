// npm run import -- --dir <folder of .eml> [--mbox <file>] [--address <mailbox address>] [--org <id>] [--memory] [--json]
// Feeds an archive through the same pipeline as the IMAP poller (parse, dedupe, thread, contacts,
// shipment links). --memory imports into a fresh in-memory database; --json prints one object per
// message in input order: { file, messageId, threadId, direction, references: { containers, awbs, bls, bookings } }.
import { parseArgs } from 'node:util';
import { config, parseConfig, setConfig } from '../lib/config.js';
import { closeDb } from '../lib/db/client.js';
import { importArchive } from '../lib/email/import.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    mbox: { type: 'string' },
    address: { type: 'string' },
    org: { type: 'string' },
    memory: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

if (!values.dir && !values.mbox) {
  process.stderr.write('Usage: npm run import -- --dir <folder of .eml> [--mbox <file>] [--address <mailbox>] [--org <id>] [--memory] [--json]\n');
  process.exit(2);
}
// Logs go to stderr and only when asked: with --json, stdout carries the JSON alone.
setConfig(
  parseConfig({
    ...process.env,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...(values.memory ? { DATABASE_URL: '', PGLITE_DATA_DIR: 'memory://' } : {}),
  }),
);
void config();

try {
  const results = await importArchive({
    dir: values.dir,
    mbox: values.mbox,
    address: values.address?.toLowerCase(),
    orgId: values.org,
    fresh: values.memory,
    onProgress: values.json ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } else {
    const stored = results.filter((r) => r.outcome === 'stored').length;
    const threads = new Set(results.map((r) => r.threadId).filter(Boolean)).size;
    process.stdout.write(`${results.length} messages: ${stored} stored, ${results.length - stored} duplicate or quarantined, ${threads} threads\n`);
  }
  await closeDb();
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  await closeDb().catch(() => undefined);
  process.exit(1);
}
