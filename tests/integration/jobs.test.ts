import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { config, parseConfig, setConfig } from '../../lib/config.js';
import type { Ctx } from '../../lib/context.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { withClaims, systemClaims } from '../../lib/db/client.js';
import { enqueue } from '../../lib/jobs/enqueue.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { runJob } from '../../lib/jobs/run.js';
import { jobUrl, publishJobs } from '../../lib/jobs/publish.js';
import { resetQStashReceiver } from '../../lib/jobs/qstash-receiver.js';
import { defineJob } from '../../lib/jobs/registry.js';
import { sweepJobs } from '../../lib/jobs/sweep.js';
import { setClock } from '../../lib/time.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { CURRENT_KEY, fakeQStash, NEXT_KEY, qstashSignature } from '../helpers/qstash.js';

const T1 = '10000001-0000-4000-8000-000000000001';
let failures = 0;

// Test jobs: one whose effect is a note on a thread, one that always fails.
const addNote = defineJob({
  name: 'test.add-note',
  schema: z.object({ threadId: z.uuid(), body: z.string() }),
  async handle({ ctx, payload }) {
    await ctx.sql`insert into app.notes (org_id, thread_id, body) values (${ctx.orgId}, ${payload.threadId}, ${payload.body})`;
  },
});
const alwaysFails = defineJob({
  name: 'test.always-fails',
  schema: z.object({ n: z.number() }),
  maxAttempts: 3,
  async handle() {
    failures++;
    throw new Error('carrier API is down');
  },
  async onDead({ ctx, payload }) {
    await ctx.sql`insert into app.notes (org_id, thread_id, body) values (${ctx.orgId}, ${T1}, ${`dead ${payload.n}`})`;
  },
});

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
  setConfig(parseConfig({ ...process.env, QSTASH_CURRENT_SIGNING_KEY: CURRENT_KEY, QSTASH_NEXT_SIGNING_KEY: NEXT_KEY }));
  resetQStashReceiver();
});
afterAll(() => db.close());
beforeEach(() => {
  failures = 0;
});

/** Enqueues in a system transaction for the seeded organization, like a request or webhook would. */
async function enqueueFor<S extends z.ZodType>(job: Parameters<typeof enqueue<S>>[1], payload: z.infer<S>, options = {}) {
  return withClaims(systemClaims(SEED_ORG_ID), async (sql) => {
    const ctx: Ctx = { requestId: 'test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] };
    return enqueue(ctx, job, payload, options);
  });
}

async function deliver(name: string, body: string, signature?: string | null) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const sig = signature === undefined ? await qstashSignature(jobUrl(name), body) : signature;
  if (sig) headers['upstash-signature'] = sig;
  return call('POST', `/api/jobs/${name}`, { token: null, rawBody: body, headers });
}

const notes = async (body: string) => (await db.sql`select id from app.notes where body = ${body}`).length;

describe('the job executor route', () => {
  it('runs a job delivered with a valid signature, and its effect happens once when delivered twice', async () => {
    const id = await enqueueFor(addNote, { threadId: T1, body: 'twice' });
    const body = JSON.stringify({ outboxId: id });
    const first = await deliver('test.add-note', body);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ outcome: 'done' });
    const second = await deliver('test.add-note', body);
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ outcome: 'already' });
    expect(await notes('twice')).toBe(1);
  });

  it('accepts the next signing key (rotation)', async () => {
    const id = await enqueueFor(addNote, { threadId: T1, body: 'next-key' });
    const body = JSON.stringify({ outboxId: id });
    const res = await deliver('test.add-note', body, await qstashSignature(jobUrl('test.add-note'), body, { key: NEXT_KEY }));
    expect(res.status).toBe(200);
    expect(await notes('next-key')).toBe(1);
  });

  it('rejects a wrong key, a tampered body, an expired token, a wrong URL or no signature, running nothing', async () => {
    const id = await enqueueFor(addNote, { threadId: T1, body: 'rejected' });
    const body = JSON.stringify({ outboxId: id });
    const url = jobUrl('test.add-note');
    const cases = [
      await qstashSignature(url, body, { key: 'sig_wrong_key_000000000000' }),
      await qstashSignature(url, JSON.stringify({ outboxId: randomUUID() })),
      await qstashSignature(url, body, { expiresInSeconds: -60 }),
      await qstashSignature('https://banxway.test/api/jobs/other', body),
      await qstashSignature(url, body, { issuer: 'NotUpstash' }),
      null,
    ];
    for (const signature of cases) {
      const res = await deliver('test.add-note', body, signature);
      expect(res.status).toBe(401);
    }
    expect(await notes('rejected')).toBe(0);
    const [row] = await db.sql`select status, attempts from app.outbox where id = ${id}`;
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('rejects every delivery when no signing keys are configured', async () => {
    const saved = config();
    setConfig(parseConfig({ ...process.env }));
    resetQStashReceiver();
    try {
      const body = JSON.stringify({ outboxId: randomUUID() });
      expect((await deliver('test.add-note', body)).status).toBe(401);
    } finally {
      setConfig(saved);
      resetQStashReceiver();
    }
  });

  it('retries a throwing handler with 500, then dead-letters it and answers 200', async () => {
    const id = await enqueueFor(alwaysFails, { n: 1 });
    const body = JSON.stringify({ outboxId: id });
    const outcomes: number[] = [];
    for (let i = 0; i < 3; i++) {
      await db.sql`update app.outbox set run_at = now() where id = ${id} and status = 'pending'`;
      outcomes.push((await deliver('test.always-fails', body)).status);
    }
    expect(outcomes).toEqual([500, 500, 200]);
    expect(failures).toBe(3);
    const [row] = await db.sql`select status, attempts, last_error from app.outbox where id = ${id}`;
    expect(row).toMatchObject({ status: 'dead', attempts: 3 });
    expect(row!.lastError).toContain('carrier API is down');
    expect(await notes('dead 1')).toBe(1);
    expect((await deliver('test.always-fails', body)).status).toBe(200);
    expect(failures).toBe(3);

    const dead = await json('GET', '/api/admin/jobs?status=dead', { as: 'admin' });
    expect(dead.body.data.map((j: any) => j.id)).toContain(id);
    expect((await json('GET', '/api/admin/jobs', { as: 'agent' })).status).toBe(403);
    const retried = await json('POST', `/api/admin/jobs/${id}/retry`, { as: 'owner' });
    expect(retried.body).toMatchObject({ id, status: 'pending' });
    const [again] = await db.sql`select status, attempts from app.outbox where id = ${id}`;
    expect(again).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await json('POST', `/api/admin/jobs/${id}/retry`, { as: 'owner' })).status).toBe(404);
  });

  it('does not run a delayed job early, and runs it when due', async () => {
    const id = await enqueueFor(addNote, { threadId: T1, body: 'delayed' }, { runAt: new Date(Date.now() + 3_600_000) });
    const body = JSON.stringify({ outboxId: id });
    const early = await deliver('test.add-note', body);
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBeTruthy();
    await drainJobs();
    expect(await notes('delayed')).toBe(0);
    const [row] = await db.sql`select status, attempts from app.outbox where id = ${id}`;
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
    await db.sql`update app.outbox set run_at = now() where id = ${id}`;
    expect((await deliver('test.add-note', body)).status).toBe(200);
    expect(await notes('delayed')).toBe(1);
  });

  it('acknowledges deliveries that can never succeed', async () => {
    expect(await (await deliver('test.add-note', JSON.stringify({ outboxId: randomUUID() }))).json()).toEqual({ outcome: 'missing' });
    expect((await deliver('test.add-note', '{"nope":1}')).status).toBe(200);
    const bad = await withClaims(systemClaims(SEED_ORG_ID), async (sql) => {
      const [r] = await sql<{ id: string }[]>`select app.enqueue_job('test.add-note', '{"threadId":"x"}'::jsonb) as id`;
      return r!.id;
    });
    const res = await deliver('test.add-note', JSON.stringify({ outboxId: bad }));
    expect(await res.json()).toEqual({ outcome: 'dead' });
    const [row] = await db.sql`select status, last_error from app.outbox where id = ${bad}`;
    expect(row!.status).toBe('dead');
    expect(row!.lastError).toContain('invalid payload');
    const wrongRoute = await enqueueFor(addNote, { threadId: T1, body: 'wrong-route' });
    expect(await (await deliver('test.always-fails', JSON.stringify({ outboxId: wrongRoute }))).json()).toEqual({ outcome: 'dead' });
    expect(await notes('wrong-route')).toBe(0);
  });

  it('stops retrying after the deadline', async () => {
    const id = await enqueueFor(alwaysFails, { n: 2 }, { deadlineAt: new Date(Date.now() + 1000), maxAttempts: 50 });
    expect(await runJob(id)).toBe('dead');
    const [row] = await db.sql`select status from app.outbox where id = ${id}`;
    expect(row!.status).toBe('dead');
  });

  it('takes back the lease of a run that crashed, so the job runs again', async () => {
    const id = await enqueueFor(addNote, { threadId: T1, body: 'after-crash' });
    await db.sql`update app.outbox set status = 'running', attempts = 1, locked_until = now() - interval '1 second' where id = ${id}`;
    const swept = await sweepJobs();
    expect(swept.leasesExpired).toBeGreaterThanOrEqual(1);
    expect(await db.sql`select status, attempts from app.outbox where id = ${id}`).toEqual([{ status: 'pending', attempts: 1 }]);
    // This job only: other tests' jobs may be due too (the suite runs in any order).
    expect(await runJob(id)).toBe('done');
    expect(await notes('after-crash')).toBe(1);
  });
});

describe('the QStash adapter', () => {
  it('publishes committed jobs with the outbox id as deduplication id, the delay and retries, and the sweeper republishes', async () => {
    const qstash = await fakeQStash({ failFirst: 1 });
    const saved = config();
    setConfig(
      parseConfig({
        ...process.env,
        QSTASH_TOKEN: 'qstash-test-token',
        QSTASH_URL: qstash.url,
        QSTASH_CURRENT_SIGNING_KEY: CURRENT_KEY,
        QSTASH_NEXT_SIGNING_KEY: NEXT_KEY,
      }),
    );
    try {
      // A request that snoozes a thread commits an outbox row and publishes it after commit.
      const until = new Date(Date.now() + 3_600_000);
      const res = await json('PATCH', '/api/threads/10000002-0000-4000-8000-000000000002', { body: { snoozedUntil: until.toISOString() } });
      expect(res.status).toBe(200);
      // The first publish failed (500 from our fake): nothing is lost, the row waits for the sweeper.
      expect(qstash.published).toHaveLength(0);
      const [row] = await db.sql<{ id: string; publishedAt: Date | null }[]>`
        select id, published_at from app.outbox where name = 'thread.unsnooze' and payload->>'threadId' = '10000002-0000-4000-8000-000000000002'`;
      expect(row!.publishedAt).toBeNull();
      await db.sql`update app.outbox set run_at = now() where id = ${row!.id}`;
      const swept = await sweepJobs();
      expect(swept.republished).toBeGreaterThanOrEqual(1);
      const msg = qstash.published.find((m) => JSON.parse(m.body).outboxId === row!.id);
      expect(msg!.destination).toBe('https://banxway.test/api/jobs/thread.unsnooze');
      expect(JSON.parse(msg!.body)).toEqual({ outboxId: row!.id });
      expect(msg!.headers['upstash-deduplication-id']).toMatch(new RegExp(`^${row!.id}-\\d+$`));
      expect(msg!.headers['upstash-retries']).toBe('5');
      expect(msg!.headers['content-type']).toBe('application/json');

      const direct = await enqueueFor(addNote, { threadId: T1, body: 'published' }, { runAt: new Date(Date.now() + 120_000) });
      const { publishToQStash } = await import('../../lib/jobs/publish.js');
      const [job] = await db.sql<{ runAt: Date }[]>`select run_at from app.outbox where id = ${direct}`;
      await publishToQStash({ id: direct, name: 'test.add-note', runAt: job!.runAt, maxAttempts: 3 });
      const last = qstash.published.at(-1)!;
      expect(last.headers['upstash-deduplication-id']).toBe(direct);
      expect(last.headers['upstash-retries']).toBe('2');
      expect(Number(last.headers['upstash-not-before'])).toBe(Math.ceil(job!.runAt.getTime() / 1000));
    } finally {
      setConfig(saved);
      await qstash.close();
    }
  });

  it("leaves a job due beyond QStash's longest delay unpublished, and the sweeper publishes it once due", async () => {
    const qstash = await fakeQStash();
    const saved = config();
    setConfig(parseConfig({ ...process.env, QSTASH_TOKEN: 'qstash-test-token', QSTASH_URL: qstash.url }));
    const DAY = 24 * 3_600_000;
    const t0 = new Date();
    setClock(t0);
    try {
      const runAt = new Date(t0.getTime() + 8 * DAY);
      const id = await enqueueFor(addNote, { threadId: T1, body: 'eight-days' }, { runAt });
      // What a request does after its commit: QStash takes no delay past 7 days, so nothing is published.
      await publishJobs([{ id, name: 'test.add-note', runAt, maxAttempts: 8 }]);
      const ours = () => qstash.published.filter((m) => JSON.parse(m.body).outboxId === id);
      expect(qstash.published).toHaveLength(0);
      expect((await db.sql`select published_at from app.outbox where id = ${id}`)[0]!.publishedAt).toBeNull();

      // The minute sweeper leaves it while it is not due, even a minute and a half before its time ...
      for (const at of [t0.getTime() + DAY, t0.getTime() + 7 * DAY + 3_600_000, runAt.getTime() - 90_000]) {
        setClock(new Date(at));
        await sweepJobs();
        expect(ours()).toHaveLength(0);
      }
      // ... and publishes it once it is due, without a delay: its time has come.
      setClock(runAt);
      await sweepJobs();
      const [msg] = ours();
      expect(msg!.destination).toBe('https://banxway.test/api/jobs/test.add-note');
      expect(msg!.headers['upstash-deduplication-id']).toMatch(new RegExp(`^${id}-\\d+$`));
      expect(msg!.headers['upstash-not-before']).toBeUndefined();
      expect((await db.sql`select published_at from app.outbox where id = ${id}`)[0]!.publishedAt).not.toBeNull();
      // Published and not yet acknowledged: the next sweep does not publish it again.
      await sweepJobs();
      expect(ours()).toHaveLength(1);
    } finally {
      setClock(undefined);
      setConfig(saved);
      await qstash.close();
    }
  });
});
