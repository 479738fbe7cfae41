// A fresh, migrated, seeded database for one test file: in-memory PGlite by default, or a new
// database on the server named by TEST_DATABASE_URL (dropped afterwards) for the postgres project.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createPool, useDb, closeDb, type Sql } from '../../lib/db/client.js';
import { migrate } from '../../lib/db/migrate.js';
import { seed } from '../../lib/dev/seed.js';

export type Engine = 'pglite' | 'postgres';

export const engine: Engine = process.env.TEST_ENGINE === 'postgres' ? 'postgres' : 'pglite';

export interface TestDatabase {
  engine: Engine;
  sql: Sql;
  url: string;
  close(): Promise<void>;
}

/** Creates an empty database (no migrations) and returns its URL and a cleanup. */
export async function emptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (engine === 'pglite') {
    const { startEmbedded } = await import('../../lib/db/embedded.js');
    const server = await startEmbedded({ dataDir: 'memory://', maxConnections: 12 });
    return { url: server.url, drop: () => server.stop() };
  }
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error('TEST_DATABASE_URL is required for the postgres test project');
  const name = `banxway_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const root = postgres(admin, { max: 1, onnotice: () => {} });
  await root.unsafe(`create database ${name}`);
  await root.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const r = postgres(admin, { max: 1, onnotice: () => {} });
      await r.unsafe(`drop database if exists ${name} with (force)`);
      await r.end();
    },
  };
}

/** A migrated and seeded database, installed as the process pool (db()). */
export async function testDatabase(options: { seed?: boolean } = {}): Promise<TestDatabase> {
  const { url, drop } = await emptyDatabase();
  // PGlite behind its socket takes one connection (see lib/db/client.ts); PostgreSQL a real pool.
  const sql = createPool(url, { max: engine === 'postgres' ? 10 : 1, prepare: engine === 'postgres' });
  await migrate(sql);
  if (options.seed ?? true) await seed(sql);
  useDb(sql);
  return {
    engine,
    sql,
    url,
    async close() {
      await closeDb();
      await drop();
    },
  };
}
