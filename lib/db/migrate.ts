// Applies supabase/migrations/*.sql in order, each in its own transaction, recording them in the same
// table the Supabase CLI uses, so `supabase db push` and this runner agree on what is applied. On a
// database that is not Supabase, supabase/local/bootstrap.sql first creates what Supabase provides.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Sql } from './client.js';

const root = fileURLToPath(new URL('../../supabase/', import.meta.url));
export const migrationsDir = `${root}migrations`;
export const bootstrapFile = `${root}local/bootstrap.sql`;

export interface Migration {
  version: string;
  name: string;
  file: string;
}

/** The migration files, oldest first. */
export function listMigrations(dir = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{14}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({ version: file.slice(0, 14), name: file.slice(15, -4), file: `${dir}/${file}` }));
}

const LOCK_ID = 72_435_001;

async function isSupabase(sql: Sql): Promise<boolean> {
  const [row] = await sql`select exists (select 1 from pg_roles where rolname = 'supabase_admin') as supabase`;
  return Boolean(row?.supabase);
}

/** Applies the local bootstrap (unless this is Supabase) and every pending migration. */
export async function migrate(sql: Sql, options: { dir?: string; log?: (line: string) => void } = {}): Promise<string[]> {
  const log = options.log ?? (() => {});
  if (!(await isSupabase(sql))) {
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_ID})`;
      await tx.unsafe(readFileSync(bootstrapFile, 'utf8'));
    });
  }
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_ID})`;
    await tx.unsafe(`create schema if not exists supabase_migrations;
      create table if not exists supabase_migrations.schema_migrations (version text primary key, statements text[], name text)`);
  });
  const applied: string[] = [];
  for (const m of listMigrations(options.dir)) {
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_ID})`;
      const [done] = await tx`select 1 from supabase_migrations.schema_migrations where version = ${m.version}`;
      if (done) return;
      const text = readFileSync(m.file, 'utf8');
      await tx.unsafe(text);
      await tx`insert into supabase_migrations.schema_migrations (version, name, statements) values (${m.version}, ${m.name}, ${[text]})`;
      applied.push(m.version);
      log(`applied ${m.version}_${m.name}`);
    });
  }
  return applied;
}

/** Versions on disk that the database has not applied (empty when current). */
export async function pendingMigrations(sql: Sql, dir = migrationsDir): Promise<string[]> {
  const rows = await sql`
    select version from supabase_migrations.schema_migrations
  `.catch(() => [] as { version: string }[]);
  const done = new Set(rows.map((r) => String(r.version)));
  return listMigrations(dir)
    .map((m) => m.version)
    .filter((v) => !done.has(v));
}
