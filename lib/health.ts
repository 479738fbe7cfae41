// What /api/health reports: database reachable, migrations current, which adapters are active.
import { config } from './config.js';
import { db } from './db/client.js';
import { migrationState, type MigrationState } from './db/migrate.js';
import { outboundKind } from './email/outbound.js';
import { storageKind } from './storage/index.js';

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
  try {
    const sql = await db();
    const started = performance.now();
    await sql`select 1`;
    database = { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    const state = await migrationState(sql);
    migrations = { ok: state.pending.length === 0 && state.edited.length === 0, ...state };
  } catch (error) {
    database = { ok: false, error: (error as { code?: string }).code ?? 'unreachable' };
  }
  const ok = database.ok && migrations.ok;
  return { status: ok ? 'ok' : 'degraded', env: c.env, database, migrations, adapters };
}
