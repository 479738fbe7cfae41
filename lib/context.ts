// What every domain function receives: who acts (a member with a role, or the system actor), for which
// organization, and the transaction that runs under that organization's RLS claims.
import type { Tx } from './db/client.js';
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
  sql: Tx;
  /** Jobs written to the outbox in this transaction, published to the job system after commit. */
  jobs: QueuedJob[];
}
