// The migration runner keeps migrations additive: a pending migration older than the newest applied
// one, or an applied migration whose file was edited, stops it before it applies anything, and
// health reports both.
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Sql } from '../../lib/db/client.js';
import { listMigrations, migrate, MigrationError, migrationFingerprint, migrationState, migrationsDir } from '../../lib/db/migrate.js';
import { emptyDatabase } from '../helpers/database.js';

let database: { url: string; drop(): Promise<void> };
let sql: Sql;
let dir: string;

beforeAll(async () => {
  database = await emptyDatabase();
  sql = createPool(database.url, { max: 1, prepare: false });
  dir = mkdtempSync(join(tmpdir(), 'banxway-migrations-'));
  cpSync(migrationsDir, dir, { recursive: true });
  await migrate(sql, { dir });
});
afterAll(async () => {
  await sql.end();
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

const newest = () => listMigrations(dir).at(-1)!.version;
// Below every file on disk, so no other test's migration (the later one below adds newest + 1) can
// share its version, whatever order the tests run in.
const oldest = () => listMigrations(dir)[0]!.version;

describe('the migration runner', () => {
  it('refuses a new migration older than the newest applied one, and applies nothing', async () => {
    const late = `${String(BigInt(oldest()) - 1n)}_late_addition.sql`;
    writeFileSync(join(dir, late), 'create table app.late_addition (id int);');
    try {
      await expect(migrate(sql, { dir })).rejects.toThrow(MigrationError);
      await expect(migrate(sql, { dir })).rejects.toThrow(/older than the newest applied migration/);
      expect(await migrationState(sql, dir)).toMatchObject({ outOfOrder: [late.slice(0, 14)] });
      const [table] = await sql`select to_regclass('app.late_addition') as t`;
      expect(table!.t).toBeNull();
    } finally {
      rmSync(join(dir, late));
    }
  });

  it('refuses an applied migration whose statements were edited, but not a changed comment', async () => {
    const file = listMigrations(dir)[1]!.file;
    const original = readFileSync(file, 'utf8');
    try {
      appendFileSync(file, '\n-- a note added later\n');
      expect((await migrationState(sql, dir)).edited).toEqual([]);
      appendFileSync(file, 'alter table app.threads add column later int;\n');
      expect((await migrationState(sql, dir)).edited).toEqual([listMigrations(dir)[1]!.version]);
      await expect(migrate(sql, { dir })).rejects.toThrow(/was edited after it was applied/);
    } finally {
      writeFileSync(file, original);
    }
    expect(await migrationState(sql, dir)).toEqual({ pending: [], outOfOrder: [], edited: [] });
  });

  it('compares alike what this runner recorded and what the Supabase CLI records (one entry per statement)', () => {
    const text = 'create table a (id int);\n-- why\ncreate index on a (id);\n';
    const cliRecord = ['create table a (id int)', '-- why\ncreate index on a (id)'];
    expect(migrationFingerprint(cliRecord.join('\n'))).toBe(migrationFingerprint(text));
    expect(migrationFingerprint('create index on a (id, x);')).not.toBe(migrationFingerprint('create index on a (id);'));
  });

  it('applies a new migration with a later version', async () => {
    const next = `${String(BigInt(newest()) + 1n)}_next.sql`;
    writeFileSync(join(dir, next), 'create table app.next_one (id int);');
    expect(await migrate(sql, { dir })).toEqual([next.slice(0, 14)]);
  });
});
