// What every domain function receives: who acts (a member with a role, or the system actor), for which
// organization, and the transaction that runs under that organization's RLS claims.
import type postgres from 'postgres';
import { systemClaims, withClaims, type Tx } from './db/client.js';
import type { Role } from './http/permissions.js';

export interface QueuedJob {
  id: string;
  name: string;
  runAt: Date;
  maxAttempts: number;
}

export interface Ctx {
  requestId: string;
  /** The acting member's user id; null for the system actor (jobs, webhooks, cron). */
  userId: string | null;
  orgId: string;
  role: Role | 'system';
  /** Set when an API key acts (userId is then null): its id and scopes (null: all its role allows). */
  apiKey?: { id: string; scopes: readonly string[] | null };
  sql: Tx;
  /** Jobs written to the outbox in this transaction, published to the job system after commit. */
  jobs: QueuedJob[];
  /**
   * Set while a workflow step acts (lib/workflows/engine.ts): the events it causes carry it, so the
   * workflow never triggers itself on the thread and chains across workflows stop at a depth.
   */
  automation?: Automation;
}

/** The workflow run behind a change, and how many runs led to it (1 for a run a person or the world started). */
export interface Automation {
  workflowId: string;
  runId: string;
  depth: number;
}

/** The system actor (jobs, webhooks, cron, imports) working for one organization in the transaction `sql`. */
function systemContext(orgId: string, requestId: string, sql: Tx, jobs: QueuedJob[] = []): Ctx {
  return { requestId, userId: null, orgId, role: 'system', sql, jobs };
}

/**
 * Runs fn in one transaction as the organization's system actor, under its RLS claims. Jobs fn queues
 * land in `jobs` (the caller's array), for the caller to publish once the transaction has committed.
 */
export function asSystem<T>(orgId: string, requestId: string, jobs: QueuedJob[], fn: (ctx: Ctx) => Promise<T>): Promise<T> {
  return withClaims(systemClaims(orgId), (sql) => fn(systemContext(orgId, requestId, sql, jobs)));
}

/** Runs fn in a savepoint of ctx's transaction: an error rolls back fn's work only, and the transaction goes on. */
export function savepoint<T>(ctx: Ctx, fn: (ctx: Ctx) => Promise<T>): Promise<T> {
  return (ctx.sql as postgres.TransactionSql<Record<string, unknown>>).savepoint((sp) => fn({ ...ctx, sql: sp as unknown as Tx })) as Promise<T>;
}
