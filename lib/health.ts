// What /api/health reports: database reachable, migrations current, which adapters are active.
import { config } from './config.js';
import { db } from './db/client.js';
import { migrationState, type MigrationState } from './db/migrate.js';
import { outboundKind } from './email/outbound.js';
import { storageKind } from './storage/index.js';

/** How long the database check may take before health answers without it. */
const DATABASE_CHECK_MS = 3000;

export async function health() {
  const c = config();
  const adapters = {
    database: c.database.kind,
    auth: c.auth.jwksUrl ? (c.auth.secret ? 'supabase-jwks+hs256' : 'supabase-jwks') : 'hs256',
    jobs: c.qstash ? 'qstash' : 'local',
    rateLimit: c.redis ? 'upstash' : 'memory',
    realtime: c.database.kind === 'postgres' ? 'realtime.send' : 'realtime.send (local bootstrap)',
    storage: storageKind(),
    emailOut: outboundKind(),
    ai: c.ai.apiKey ? 'openai-compatible' : 'offline',
  };
  let database: { ok: boolean; latencyMs?: number; error?: string } = { ok: false };
  let migrations: { ok: boolean } & MigrationState = { ok: false, pending: [], outOfOrder: [], edited: [] };
  let timer: NodeJS.Timeout | undefined;
  try {
    const check = async () => {
      const sql = await db();
      const started = performance.now();
      await sql`select 1`;
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      return { latencyMs, state: await migrationState(sql) };
    };
    // A database or network gone silent must not hold the answer (connect_timeout bounds only connecting).
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('database check timed out'), { code: 'timeout' })), DATABASE_CHECK_MS);
    });
    const { latencyMs, state } = await Promise.race([check(), deadline]);
    database = { ok: true, latencyMs };
    migrations = { ok: state.pending.length === 0 && state.edited.length === 0, ...state };
  } catch (error) {
    database = { ok: false, error: (error as { code?: string }).code ?? 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
  const ok = database.ok && migrations.ok;
  return { status: ok ? 'ok' : 'degraded', env: c.env, database, migrations, adapters };
}
