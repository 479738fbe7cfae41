// The postgres.js pool every query goes through, and transactions that act for one organization under
// RLS. With DATABASE_URL unset the pool talks to embedded PGlite through pglite-socket (loaded lazily,
// so production bundles never carry PGlite).
import postgres from 'postgres';
import { config } from '../config.js';

export type Sql = postgres.Sql<Record<string, unknown>>;
export type Tx = postgres.TransactionSql<Record<string, unknown>> | Sql;

/** The claims a transaction runs under: a member acting for one organization, or the system actor. */
export interface Claims {
  sub?: string;
  role: 'authenticated';
  /** The acting organization; none for a user acting outside any (their invitations, userRoute). */
  org_id?: string;
  org_role?: string;
  actor?: 'system';
  email?: string;
}

/**
 * Seconds to open a connection (TCP, TLS, startup, auth) before giving up: during an outage a request
 * answers 503 after this long instead of hanging (PostgreSQL or Supavisor nearby connect in milliseconds).
 */
export const CONNECT_TIMEOUT_SECONDS = 3;
/** The longest pause between reconnection attempts; meanwhile queries fail at once instead of waiting. */
export const MAX_RECONNECT_DELAY_SECONDS = 2;

/** postgres.js's backoff (exponential with jitter), capped so the pool notices a recovered database soon. */
function reconnectDelay(attempt: number): number {
  return (0.5 + Math.random() / 2) * Math.min(3 ** attempt / 100, MAX_RECONNECT_DELAY_SECONDS);
}

type NotificationListener = (channel: string, payload: string) => void;
const notificationListeners = new Set<NotificationListener>();

/**
 * Hears NOTIFY payloads that arrive on the pools' own connections. Embedded PGlite is one database
 * session behind its socket, so a LISTEN issued through the pool lands there (the dev server's local
 * Realtime); on PostgreSQL pooled connections never LISTEN and a dedicated `sql.listen` is used.
 */
export function onPoolNotification(listener: NotificationListener): () => void {
  notificationListeners.add(listener);
  return () => notificationListeners.delete(listener);
}

export function createPool(url: string, options: { max: number; prepare: boolean }): Sql {
  return postgres(url, {
    max: options.max,
    prepare: options.prepare,
    idle_timeout: 20,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    backoff: reconnectDelay,
    onnotice: () => {},
    onnotify: (channel: string, payload: string) => {
      for (const listener of notificationListeners) listener(channel, payload);
    },
    transform: { ...postgres.camel, undefined: null },
    connection: { application_name: 'banxway' },
  }) as unknown as Sql;
}

let pool: Promise<Sql> | undefined;
let embedded: { stop(): Promise<void> } | undefined;

async function connect(): Promise<Sql> {
  const c = config().database;
  if (c.kind === 'postgres') return createPool(c.url, { max: c.poolMax, prepare: c.prepare });
  // A variable specifier keeps bundlers (and Vercel's file tracing) from pulling PGlite into functions.
  const modulePath = './embedded.js';
  const { startEmbedded } = (await import(modulePath)) as typeof import('./embedded.js');
  const server = await startEmbedded({ dataDir: c.dataDir, maxConnections: c.poolMax });
  embedded = server;
  // One connection: pglite-socket interleaves the protocol messages of concurrent connections
  // (seen as `portal "" does not exist` under load), and PGlite runs one statement at a time anyway.
  return createPool(server.url, { max: c.poolMax, prepare: false });
}

/** The shared pool (created on first use). */
export function db(): Promise<Sql> {
  pool ??= connect().catch((error: unknown) => {
    pool = undefined;
    throw error;
  });
  return pool;
}

/** Points the process at an existing pool (tests). */
export function useDb(sql: Sql): void {
  pool = Promise.resolve(sql);
}

/** Closes the pool and any embedded server. */
export async function closeDb(): Promise<void> {
  const current = pool;
  pool = undefined;
  if (current) await (await current).end({ timeout: 5 });
  if (embedded) await embedded.stop();
  embedded = undefined;
}

/**
 * The settings every transaction that acts for an organization starts with, as set_config(..., true)
 * columns of the select that sets its claims (no extra round trip). JIT off: PostgreSQL compiles a
 * statement whose estimated cost passes jit_above_cost, and on the 1M-message bench set a search
 * statement spent 18-35 ms of database CPU per request compiling (more than it took to run); the API's
 * statements are bounded by their indexes and limits, so compiling never pays for itself. Custom plans
 * for the routes that ask for them (plan_cache_mode, see lib/http/route.ts).
 */
export function transactionSettings(sql: Tx, customPlans = false) {
  return sql`set_config('jit', 'off', true) as jit${customPlans ? sql`, set_config('plan_cache_mode', 'force_custom_plan', true) as plans` : sql``}`;
}

/**
 * Runs fn in one transaction as `authenticated` with the given claims, so RLS policies hold even if a
 * query forgets its organization filter. The claims are transaction-local (set_config(..., true)).
 */
export async function withClaims<T>(claims: Claims, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const sql = await db();
  return sql.begin(async (tx) => {
    // Queued now (execute(): postgres.js queries are otherwise sent when first awaited), so it goes out
    // with fn's first statement in one write and runs before it.
    const claimsSet = tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('role', 'authenticated', true),
      ${transactionSettings(tx as unknown as Tx)}`.execute();
    const [, result] = await Promise.all([claimsSet, fn(tx as unknown as Tx)]);
    return result;
  }) as Promise<T>;
}

/** Claims for jobs and webhooks: the system actor, scoped to the one organization it works for. */
export function systemClaims(orgId: string): Claims {
  return { role: 'authenticated', org_id: orgId, actor: 'system' };
}
