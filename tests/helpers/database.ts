// A fresh, migrated, seeded database for one test file: in-memory PGlite by default, or a new
// database on the server named by TEST_DATABASE_URL (dropped afterwards) for the postgres project.
// Migrating from nothing costs seconds per file (PGlite's initdb alone about three), so each engine
// migrates once per set of migrations and every file starts from a copy: a PGlite data-directory
// tarball in the temp directory, a template database on the server. Both are named by a hash of
// what migrating reads, so a changed migration never reuses a stale copy. Seeding stays per file:
// the seed is relative to the clock.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { createPool, useDb, closeDb, type Sql } from '../../lib/db/client.js';
import { bootstrapFile, listMigrations, migrate } from '../../lib/db/migrate.js';
import { seed } from '../../lib/dev/seed.js';

export type Engine = 'pglite' | 'postgres';

export const engine: Engine = process.env.TEST_ENGINE === 'postgres' ? 'postgres' : 'pglite';

export interface TestDatabase {
  engine: Engine;
  sql: Sql;
  url: string;
  close(): Promise<void>;
}

/** Creates an empty database (no migrations), or a copy of `template`, and returns its URL and a cleanup. */
export async function emptyDatabase(options: { template?: string } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  if (engine === 'pglite') {
    const { startEmbedded } = await import('../../lib/db/embedded.js');
    const from = options.template ? new Blob([readFileSync(options.template)]) : undefined;
    const server = await startEmbedded({ dataDir: 'memory://', maxConnections: 12, from });
    return { url: server.url, drop: () => server.stop() };
  }
  const admin = adminUrl();
  const name = `banxway_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const root = postgres(admin, { max: 1, onnotice: () => {} });
  await root.unsafe(`create database ${name}${options.template ? ` template ${options.template}` : ''}`);
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

function adminUrl(): string {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error('TEST_DATABASE_URL is required for the postgres test project');
  return admin;
}

/** Names what `migrate` would build: the bootstrap, every migration and the runner itself (and the PGlite release). */
function migrationsHash(): string {
  // PGlite's data directory is read by the same PGlite release only.
  const pglite = new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url);
  const hash = createHash('sha256')
    .update(engine)
    .update(engine === 'pglite' ? readFileSync(pglite) : '');
  for (const file of [bootstrapFile, new URL('../../lib/db/migrate.ts', import.meta.url).pathname, ...listMigrations().map((m) => m.file)]) {
    hash.update(file.split('/').pop()!).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/** The migrated copy every test file starts from, made by the first file that needs it. */
async function migratedTemplate(): Promise<string> {
  const hash = migrationsHash();
  if (engine === 'pglite') {
    const file = join(tmpdir(), `banxway-pglite-${hash}.tar`);
    if (existsSync(file)) return file;
    const { startEmbedded } = await import('../../lib/db/embedded.js');
    const server = await startEmbedded({ dataDir: 'memory://', maxConnections: 1 });
    const sql = createPool(server.url, { max: 1, prepare: false });
    await migrate(sql);
    await sql.end();
    // Written aside and renamed, so a file racing this one never reads half a tarball.
    const part = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(part, Buffer.from(await (await server.dump()).arrayBuffer()));
    await server.stop();
    renameSync(part, file);
    return file;
  }
  const name = `banxway_template_${hash}`;
  const root = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    // One file builds it while the others wait; a crash mid-way leaves only the `_building` copy.
    await root`select pg_advisory_lock(72435099)`;
    const [found] = await root`select 1 from pg_database where datname = ${name}`;
    if (!found) {
      const building = `${name}_building`;
      await root.unsafe(`drop database if exists ${building} with (force)`);
      await root.unsafe(`create database ${building}`);
      const url = new URL(adminUrl());
      url.pathname = `/${building}`;
      const sql = createPool(url.toString(), { max: 1, prepare: true });
      await migrate(sql);
      await sql.end();
      await root.unsafe(`alter database ${building} rename to ${name}`);
    }
    return name;
  } finally {
    await root`select pg_advisory_unlock(72435099)`;
    await root.end();
  }
}

/** A migrated and seeded database, installed as the process pool (db()). */
export async function testDatabase(options: { seed?: boolean } = {}): Promise<TestDatabase> {
  const { url, drop } = await emptyDatabase({ template: await migratedTemplate() });
  // PGlite behind its socket takes one connection (see lib/db/client.ts); PostgreSQL a real pool.
  const sql = createPool(url, { max: engine === 'postgres' ? 10 : 1, prepare: engine === 'postgres' });
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
