// npm run db:seed: migrates, then inserts the demo organization, users, customers, threads (once).
import { closeDb, db } from '../lib/db/client.js';
import { migrate } from '../lib/db/migrate.js';
import { seed } from '../lib/dev/seed.js';

const sql = await db();
await migrate(sql);
process.stdout.write((await seed(sql)) ? 'seeded demo data\n' : 'demo data already present\n');
await closeDb();
