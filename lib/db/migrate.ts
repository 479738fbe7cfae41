// Applies supabase/migrations/*.sql in order, each in its own transaction, recording them in the same
// table the Supabase CLI uses, so `supabase db push` and this runner agree on what is applied. On a
// database that is not Supabase, supabase/local/bootstrap.sql first creates what Supabase provides.
// Migrations only ever add: the runner refuses a pending migration older than the newest applied one
// (it would run on some databases before, on others after, the ones around it) and an applied one
// whose file no longer says what was applied (its change would reach no database that had it).
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

/**
 * Added after a later version had landed: 20261126000450 before this rule existed; the 2026-12-05
 * three came with a merge after 20261205005500 was on main (the rule then read commit times, not
 * main's line). A database that applied the later one takes them as they come.
 */
export const OUT_OF_ORDER_ALLOWED = new Set(['20261126000450', '20261205005000', '20261205005200', '20261205005300']);

/**
 * A migration's text as compared with what was applied: without comments, whitespace and statement
 * separators, so the runner's record (the whole file) and the Supabase CLI's (one entry per
 * statement) compare alike, and an edited comment is not a change.
 */
export function migrationFingerprint(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/--[^\n]*/g, '')
    .replace(/[\s;]+/g, '');
}

export interface MigrationState {
  /** On disk, not applied. */
  pending: string[];
  /** Pending but older than the newest applied version. */
  outOfOrder: string[];
  /** Applied, but the file now differs from the statements recorded when it was applied. */
  edited: string[];
}

/** Compares the migration files with what the database recorded applying. */
export async function migrationState(sql: Sql, dir = migrationsDir): Promise<MigrationState> {
  const rows = await sql<{ version: string; statements: string[] | null }[]>`
    select version, statements from supabase_migrations.schema_migrations
  `.catch(() => [] as { version: string; statements: string[] | null }[]);
  const applied = new Map(rows.map((r) => [String(r.version), r.statements]));
  const newest = [...applied.keys()].sort().at(-1) ?? '';
  const state: MigrationState = { pending: [], outOfOrder: [], edited: [] };
  for (const m of listMigrations(dir)) {
    if (!applied.has(m.version)) {
      state.pending.push(m.version);
      if (m.version < newest && !OUT_OF_ORDER_ALLOWED.has(m.version)) state.outOfOrder.push(m.version);
      continue;
    }
    const statements = applied.get(m.version);
    if (statements && migrationFingerprint(statements.join('\n')) !== migrationFingerprint(readFileSync(m.file, 'utf8'))) {
      state.edited.push(m.version);
    }
  }
  return state;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

function refuseBroken(state: MigrationState): void {
  const problems = [
    ...state.outOfOrder.map((v) => `${v} is older than the newest applied migration: give it a new version`),
    ...state.edited.map((v) => `${v} was edited after it was applied: revert it and add a new migration`),
  ];
  if (problems.length) throw new MigrationError(`Migrations refused:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

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
  refuseBroken(await migrationState(sql, options.dir));
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
