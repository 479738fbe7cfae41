// npm run db:migrate: applies pending migrations (with the local bootstrap on non-Supabase databases).
import { closeDb, db } from '../lib/db/client.js';
import { migrate } from '../lib/db/migrate.js';

const applied = await migrate(await db(), { log: (line) => process.stdout.write(`${line}\n`) });
process.stdout.write(applied.length ? `${applied.length} migration(s) applied\n` : 'database is up to date\n');
await closeDb();
