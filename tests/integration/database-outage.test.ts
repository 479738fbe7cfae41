// A database outage, simulated by a fault proxy between the pool and the database (the shared server
// keeps running): every edge (routes, webhooks, cron, job deliveries, health) answers 503 with
// Retry-After instead of hanging and answering 500; a write whose COMMIT was sent when the connection
// was lost answers 503 "outcome unknown" and a retry with its Idempotency-Key is safe; and nothing that
// runs after COMMIT can turn a saved change into an error.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import { createPool, useDb, type Sql } from '../../lib/db/client.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { DATABASE_RETRY_AFTER_SECONDS } from '../../lib/http/errors.js';
import { route } from '../../lib/http/route.js';
import { jobUrl, onLocalJobs } from '../../lib/jobs/publish.js';
import { resetQStashReceiver } from '../../lib/jobs/qstash-receiver.js';
import { call, json, tokenFor } from '../helpers/api.js';
import { engine, testDatabase, type TestDatabase } from '../helpers/database.js';
import { COMMIT_MESSAGE, startFaultProxy, type FaultProxy, type ProxyMode } from '../helpers/fault-proxy.js';
import { signResendWebhook, TEST_WEBHOOK_SECRET } from '../helpers/fake-resend.js';
import { CURRENT_KEY, NEXT_KEY, qstashSignature } from '../helpers/qstash.js';

let db: TestDatabase;
let proxy: FaultProxy;
let proxied: Sql;
let saved: Config;

beforeAll(async () => {
  db = await testDatabase();
  saved = config();
  setConfig(
    parseConfig({
      ...process.env,
      QSTASH_CURRENT_SIGNING_KEY: CURRENT_KEY,
      QSTASH_NEXT_SIGNING_KEY: NEXT_KEY,
      RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    }),
  );
  resetQStashReceiver();
  proxy = await startFaultProxy(db.url);
  // The process pool goes through the proxy; db.sql (direct) checks what the database really holds.
  proxied = createPool(proxy.url, { max: engine === 'postgres' ? 4 : 1, prepare: engine === 'postgres' });
  useDb(proxied);
});

afterEach(async () => {
  onLocalJobs(undefined);
  await proxy.setMode({ kind: 'pass' });
  proxy.resetAll();
  await recovered();
});

afterAll(async () => {
  await proxied.end({ timeout: 1 });
  useDb(db.sql);
  await proxy.close();
  setConfig(saved);
  resetQStashReceiver();
  await db.close();
});

/** Waits until a request gets through again (the pool retries connecting at most every 2 s). */
async function recovered(): Promise<void> {
  for (let attempt = 0; attempt < 60; attempt++) {
    if ((await call('GET', '/api/threads?limit=1')).status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the API did not recover after the outage');
}

/** Open connections die and new ones meet `mode`: the database went away. */
async function outage(mode: ProxyMode): Promise<void> {
  await proxy.setMode(mode);
  proxy.resetAll();
}

async function newThread(): Promise<string> {
  const res = await json('POST', '/api/threads', { body: { subject: `Outage ${randomUUID()}` } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const notesWithBody = async (body: string) => (await db.sql`select id from app.notes where body = ${body}`).map((r) => r.id as string);

function expectUnavailable(res: { status: number; headers: Headers; body: any }) {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
  expect(res.body.error.code).toBe('unavailable');
}

/** One request to each kind of edge: a read and a write route, a webhook, a cron run, a job delivery. */
async function everyEdge() {
  const thread = '10000001-0000-4000-8000-000000000001';
  const resendBody = JSON.stringify({ type: 'email.delivered', created_at: new Date().toISOString(), data: { email_id: randomUUID() } });
  const jobBody = JSON.stringify({ outboxId: randomUUID() });
  return {
    read: await json('GET', '/api/threads?limit=5'),
    write: await json('POST', `/api/threads/${thread}/notes`, { body: { body: `during the outage ${randomUUID()}` } }),
    webhook: await json('POST', '/api/webhooks/resend', { token: null, rawBody: resendBody, headers: signResendWebhook(resendBody) }),
    cron: await json('GET', '/api/cron/jobs-sweep', { token: null, headers: { authorization: `Bearer ${config().cronSecret}` } }),
    job: await json('POST', '/api/jobs/thread.unsnooze', {
      token: null,
      rawBody: jobBody,
      headers: { 'content-type': 'application/json', 'upstash-signature': await qstashSignature(jobUrl('thread.unsnooze'), jobBody) },
    }),
  };
}

describe('during a database outage', () => {
  it.each<[string, ProxyMode]>([
    ['refuses connections (stopped)', { kind: 'refuse' }],
    ['resets connections', { kind: 'reset' }],
    ['answers "too many connections" (53300)', { kind: 'startup-error', code: '53300', message: 'sorry, too many clients already' }],
    ['is starting up (57P03)', { kind: 'startup-error', code: '57P03', message: 'the database system is starting up' }],
  ])('every edge answers 503 with Retry-After when the database %s, and the API recovers after', async (_, mode) => {
    await outage(mode);
    const edges = await everyEdge();
    for (const res of Object.values(edges)) expectUnavailable(res);
    // Refused before anything was sent: the write is not "outcome unknown".
    expect(edges.write.body.error.details).toBeUndefined();
    const health = await call('GET', '/api/health');
    expect(health.status).toBe(503);
    expect((await health.json()).database.ok).toBe(false);

    await proxy.setMode({ kind: 'pass' });
    await recovered();
    const after = await json('POST', `/api/threads/${await newThread()}/notes`, { body: { body: 'after the outage' } });
    expect(after.status).toBe(201);
  });

  it('answers 503 after the connect timeout when connections are black-holed, not after the platform kills the request', async () => {
    await outage({ kind: 'blackhole' });
    const edges = await everyEdge();
    for (const res of Object.values(edges)) expectUnavailable(res);
  });

  it('keeps health answering when open connections go silent', async () => {
    await call('GET', '/api/health'); // a connection is open
    proxy.silenceAll();
    const health = await call('GET', '/api/health');
    expect(health.status).toBe(503);
    expect((await health.json()).database).toMatchObject({ ok: false, error: 'timeout' });
  });
});

describe('a connection lost around COMMIT', () => {
  it('answers 503 "outcome unknown" when COMMIT was sent, and the retry with the same Idempotency-Key replays the saved note', async () => {
    const thread = await newThread();
    const body = `lost at commit ${randomUUID()}`;
    const headers = { 'idempotency-key': `commit-${randomUUID()}` };
    proxy.resetAll(); // fresh connections, so the cut meets this request's COMMIT
    const cut = proxy.cutAfter(COMMIT_MESSAGE);
    const lost = await json('POST', `/api/threads/${thread}/notes`, { body: { body }, headers });
    await cut;
    expectUnavailable(lost);
    expect(lost.body.error.details).toEqual({ outcome: 'unknown' });
    expect(lost.body.error.message).toMatch(/may or may not have been saved.*same Idempotency-Key/);
    // The database committed it: the server reads the COMMIT the proxy forwarded and commits, on its
    // own time after the client's connection was cut.
    await vi.waitFor(async () => expect(await notesWithBody(body)).toHaveLength(1), { timeout: 10_000, interval: 50 });

    await recovered();
    const retry = await json('POST', `/api/threads/${thread}/notes`, { body: { body }, headers });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await notesWithBody(body)).toEqual([retry.body.id]);
  });

  it('says how to retry safely when the request had no Idempotency-Key', async () => {
    const thread = await newThread();
    proxy.resetAll();
    const cut = proxy.cutAfter(COMMIT_MESSAGE);
    const lost = await json('POST', `/api/threads/${thread}/notes`, { body: { body: `no key ${randomUUID()}` } });
    await cut;
    expectUnavailable(lost);
    expect(lost.body.error.details).toEqual({ outcome: 'unknown' });
    expect(lost.body.error.message).toMatch(/Check whether it was saved before retrying/);
  });

  it('rolls back when the connection is lost before COMMIT: 503, nothing saved, and the retry creates the note once', async () => {
    const thread = await newThread();
    const body = `lost mid-transaction ${randomUUID()}`;
    const headers = { 'idempotency-key': `mid-${randomUUID()}` };
    proxy.resetAll();
    const cut = proxy.cutAfter(/insert into app\.notes/);
    const lost = await json('POST', `/api/threads/${thread}/notes`, { body: { body }, headers });
    await cut;
    expectUnavailable(lost);
    expect(lost.body.error.details).toBeUndefined();
    expect(await notesWithBody(body)).toEqual([]);

    await recovered();
    const retry = await json('POST', `/api/threads/${thread}/notes`, { body: { body }, headers });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(await notesWithBody(body)).toEqual([retry.body.id]);
  });
});

describe('after COMMIT', () => {
  it('a failure to publish the jobs a request enqueued does not fail the saved change', async () => {
    const thread = await newThread();
    onLocalJobs(() => {
      throw new Error('the dispatcher broke');
    });
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const res = await json('PATCH', `/api/threads/${thread}`, { body: { status: 'snoozed', snoozedUntil: until } });
    expect(res.status).toBe(200);
    const [row] = await db.sql`select status from app.threads where id = ${thread}`;
    expect(row!.status).toBe('snoozed');
    const [job] = await db.sql`select status from app.outbox where name = 'thread.unsnooze' and payload->>'threadId' = ${thread}`;
    expect(job!.status).toBe('pending'); // the sweeper or the next dispatch runs it
  });

  it('an answer that cannot be built fails before COMMIT, so the write is rolled back rather than saved behind a 500', async () => {
    const body = `unserialisable ${randomUUID()}`;
    const handler = route({ action: 'threads.write', body: z.object({ body: z.string() }), status: 201 }, async ({ ctx, body: input }) => {
      await ctx.sql`insert into app.notes (org_id, thread_id, author_id, body) values (${ctx.orgId}, ${'10000001-0000-4000-8000-000000000001'}, ${ctx.userId}, ${input.body})`;
      return { id: 1n }; // JSON.stringify throws on a bigint
    });
    const res = await handler(
      new Request('http://localhost/api/test', {
        method: 'POST',
        headers: { authorization: `Bearer ${await tokenFor('agent')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ body }),
      }),
    );
    expect(res.status).toBe(500);
    expect(await notesWithBody(body)).toEqual([]);
  });

  it("a handler's own Response with immutable headers still gets the request id, after the change is saved", async () => {
    const body = `redirect ${randomUUID()}`;
    const handler = route({ action: 'threads.write', body: z.object({ body: z.string() }) }, async ({ ctx, body: input }) => {
      await ctx.sql`insert into app.notes (org_id, thread_id, author_id, body) values (${SEED_ORG_ID}, ${'10000001-0000-4000-8000-000000000001'}, ${ctx.userId}, ${input.body})`;
      return Response.redirect('https://app.banxway.test/notes', 303);
    });
    const res = await handler(
      new Request('http://localhost/api/test', {
        method: 'POST',
        headers: { authorization: `Bearer ${await tokenFor('agent')}`, 'content-type': 'application/json', 'x-request-id': 'redirect-request-1' },
        body: JSON.stringify({ body }),
      }),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('https://app.banxway.test/notes');
    expect(res.headers.get('x-request-id')).toBe('redirect-request-1');
    expect(await notesWithBody(body)).toHaveLength(1);
  });
});
