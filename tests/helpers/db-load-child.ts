// Runs API load against a database in a child process (forked by tests/postgres/connection-faults.test.ts)
// while the parent kills its backend connections: notes created through the route wrapper with an
// Idempotency-Key each, and pipelined writes through withClaims. A crash of the driver (an exception
// thrown from a timer, out of reach of any await) ends this process, which the parent sees as its exit.
// Messages: parent → child `stop`; child → parent `ready` (first write done), then `report`.
import './setup.js';
import { createPool, useDb, withClaims, type Claims } from '../../lib/db/client.js';
import { SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { json } from './api.js';

export interface LoadReport {
  /** Every answer the API gave during the storm, by status. */
  statuses: Record<string, number>;
  /** Answers that are neither a success nor a 503 (e.g. a 500 for a lost connection). */
  unexpected: { key: string; status: number; body: unknown }[];
  /** withClaims calls that failed with something other than a lost connection. */
  unexpectedErrors: string[];
  withClaimsOk: number;
  withClaimsFailed: number;
  /** Keys whose note the API confirmed (201, first try or on a retry with the same key). */
  confirmed: string[];
  /** The request made after the storm, on the same pool. */
  after: { status: number; body: unknown };
}

const url = process.env.FAULT_DATABASE_URL;
if (!url || !process.send) throw new Error('run me with fork() and FAULT_DATABASE_URL');
const send = (message: unknown) => process.send!(message);

const THREAD = '10000001-0000-4000-8000-000000000001';
const agent: Claims = { sub: SEED_USERS.agent.id, role: 'authenticated', org_id: SEED_ORG_ID, org_role: 'agent' };
const tag = process.env.FAULT_TAG ?? 'fault';
const LOST_CONNECTION = /CONNECTION_|ECONNRESET|ECONNREFUSED|EPIPE|57P01|terminating connection|write after end/;

useDb(createPool(url, { max: 8, prepare: process.env.FAULT_PREPARE !== 'false' }));

let stopping = false;
let readySent = false;
let seq = 0;
const report: LoadReport = {
  statuses: {},
  unexpected: [],
  unexpectedErrors: [],
  withClaimsOk: 0,
  withClaimsFailed: 0,
  confirmed: [],
  after: { status: 0, body: null },
};
const toRetry: string[] = [];

async function createNote(key: string): Promise<number> {
  const res = await json('POST', `/api/threads/${THREAD}/notes`, {
    body: { body: `${tag} ${key}` },
    headers: { 'idempotency-key': key },
  });
  report.statuses[res.status] = (report.statuses[res.status] ?? 0) + 1;
  if (res.status === 201) report.confirmed.push(key);
  else if (res.status === 503) toRetry.push(key);
  else report.unexpected.push({ key, status: res.status, body: res.body });
  return res.status;
}

async function routeLoop(worker: number) {
  while (!stopping) {
    const status = await createNote(`${tag}-${worker}-${seq++}`);
    if (status === 201 && !readySent) {
      readySent = true;
      send({ type: 'ready' });
    }
  }
}

async function pipelinedLoop() {
  while (!stopping) {
    try {
      // Three statements sent in one write, as withClaims and the domain code pipeline them.
      await withClaims(agent, (tx) =>
        Promise.all([
          tx`select count(*) from app.notes where thread_id = ${THREAD}`,
          tx`update app.threads set updated_at = now() where id = ${THREAD}`,
          tx`select pg_sleep(0.005)`,
        ]),
      );
      report.withClaimsOk++;
    } catch (error) {
      report.withClaimsFailed++;
      const text = `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`;
      if (!LOST_CONNECTION.test(text)) report.unexpectedErrors.push(text);
    }
  }
}

const loops = [...Array.from({ length: 4 }, (_, i) => routeLoop(i)), pipelinedLoop(), pipelinedLoop()];

process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'stop') return;
  stopping = true;
  void (async () => {
    await Promise.all(loops);
    // A client retries what answered 503 with the same key: the note then exists exactly once.
    for (let attempt = 0; attempt < 20 && toRetry.length > 0; attempt++) {
      const keys = toRetry.splice(0);
      for (const key of keys) await createNote(key);
      if (toRetry.length > 0) await new Promise((r) => setTimeout(r, 250));
    }
    const after = await json('POST', `/api/threads/${THREAD}/notes`, {
      body: { body: `${tag} after the storm` },
      headers: { 'idempotency-key': `${tag}-after` },
    });
    report.after = { status: after.status, body: after.body };
    send({ type: 'report', report });
    process.exit(0);
  })();
});
