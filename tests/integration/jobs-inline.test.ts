// JOBS_ADAPTER=inline: a request's jobs run in its own function after the response, kept alive by
// Vercel's waitUntil (observed here through the request context @vercel/functions reads); what the
// time budget leaves, retries and delayed jobs are run by the per-minute sweeper; /api/health names
// the mode and the queue's lag.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import type { Ctx, QueuedJob } from '../../lib/context.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { enqueue } from '../../lib/jobs/enqueue.js';
import { publishJobs } from '../../lib/jobs/publish.js';
import { defineJob } from '../../lib/jobs/registry.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { fakeResend, TEST_WEBHOOK_SECRET, type FakeResend } from '../helpers/fake-resend.js';

const T1 = '10000001-0000-4000-8000-000000000001';
const REQUEST_CONTEXT = Symbol.for('@vercel/request-context');

let db: TestDatabase;
let resend: FakeResend;
let saved: Config;
/** Promises handed to waitUntil, as Vercel's runtime would keep the function alive for them. */
let kept: Promise<unknown>[] = [];

const slowStarted: string[] = [];
/** Takes longer than the 1 s budget the budget test sets, so the jobs queued after it are left over. */
const slowJob = defineJob({
  name: 'test.inline-slow',
  schema: z.object({ tag: z.string() }),
  async handle({ ctx, payload }) {
    slowStarted.push(payload.tag);
    await new Promise((r) => setTimeout(r, 1_200));
    await ctx.sql`insert into app.notes (org_id, thread_id, body) values (${ctx.orgId}, ${T1}, ${`slow ${payload.tag}`})`;
  },
});
const noteJob = defineJob({
  name: 'test.inline-note',
  schema: z.object({ body: z.string(), then: z.string().optional() }),
  async handle({ ctx, payload }) {
    await ctx.sql`insert into app.notes (org_id, thread_id, body) values (${ctx.orgId}, ${T1}, ${payload.body})`;
    // A job that enqueues another: the second runs in the same inline run.
    if (payload.then) await enqueue(ctx, noteJob, { body: payload.then });
  },
});
let flaky = 0;
const flakyJob = defineJob({
  name: 'test.inline-flaky',
  schema: z.object({ body: z.string() }),
  async handle({ ctx, payload }) {
    if (flaky++ === 0) throw new Error('carrier API timed out');
    await ctx.sql`insert into app.notes (org_id, thread_id, body) values (${ctx.orgId}, ${T1}, ${payload.body})`;
  },
});

/** A budget no test reaches, except the one about the budget, which sets 1 s and a job that takes longer. */
function inlineConfig(extra: Record<string, string> = {}): Config {
  return parseConfig({
    ...process.env,
    JOBS_ADAPTER: 'inline',
    JOBS_INLINE_BUDGET_MS: '30000',
    RESEND_API_KEY: resend.apiKey,
    RESEND_BASE_URL: resend.url,
    RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    ...extra,
  });
}

beforeAll(async () => {
  db = await testDatabase();
  resend = await fakeResend();
  saved = config();
  await db.sql`
    insert into app.channels (org_id, kind, name, address, sending_domain_status)
    values (${SEED_ORG_ID}, 'email', 'Ops mailbox', 'ops@seahawk-logistics.in', 'verified')
    on conflict (org_id, kind, address) do update set name = excluded.name, sending_domain_status = excluded.sending_domain_status`;
});
afterAll(async () => {
  setConfig(saved);
  await resend.close();
  await db.close();
});
beforeEach(() => {
  setConfig(inlineConfig());
  resend.reset();
  kept = [];
  (globalThis as Record<symbol, unknown>)[REQUEST_CONTEXT] = { get: () => ({ waitUntil: (p: Promise<unknown>) => kept.push(p) }) };
});
afterEach(async () => {
  await Promise.allSettled(kept);
  delete (globalThis as Record<symbol, unknown>)[REQUEST_CONTEXT];
});

/** Enqueues jobs in one system transaction and hands them to publishJobs, as a webhook or cron does. */
async function commitJobs(enqueueAll: (ctx: Ctx) => Promise<unknown>): Promise<QueuedJob[]> {
  const jobs: QueuedJob[] = [];
  await withClaims(systemClaims(SEED_ORG_ID), (sql) => enqueueAll({ requestId: 'test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs }));
  await publishJobs(jobs);
  return jobs;
}

const outbox = async (id: string) => (await db.sql<{ status: string; attempts: number }[]>`select status, attempts from app.outbox where id = ${id}`)[0]!;
const notes = async (body: string) => (await db.sql`select id from app.notes where body = ${body}`).length;
const sweep = () => json('GET', '/api/cron/jobs-sweep', { token: null, headers: { authorization: `Bearer ${config().cronSecret}` } });

describe('inline jobs', () => {
  it("runs a reply's email.send after the response, kept alive by waitUntil", async () => {
    const held = resend.hold();
    const res = await json('POST', `/api/threads/${T1}/messages`, { body: { text: 'Karthik, the vessel cut-off moved to Friday.' } });
    // The response came back with the message still queued, and the send handed to waitUntil.
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('queued');
    expect(kept).toHaveLength(1);
    // The job is calling Resend now, after the response: the message is still queued meanwhile.
    await held.arrived;
    const [during] = await db.sql<{ status: string }[]>`select status from app.messages where id = ${res.body.id}`;
    expect(during!.status).toBe('queued');
    held.release();
    await Promise.all(kept);
    expect(resend.emails).toHaveLength(1);
    const [after] = await db.sql<
      { status: string; providerMessageId: string }[]
    >`select status, provider_message_id from app.messages where id = ${res.body.id}`;
    expect(after).toEqual({ status: 'sent', providerMessageId: resend.emails[0]!.id });
    const [job] = await db.sql<{ status: string }[]>`select status from app.outbox where name = 'email.send' and payload->>'messageId' = ${res.body.id}`;
    expect(job!.status).toBe('done');
  });

  it('runs the jobs a job enqueues in the same run', async () => {
    const [job] = await commitJobs((ctx) => enqueue(ctx, noteJob, { body: 'inline first', then: 'inline second' }));
    expect(kept).toHaveLength(1);
    await Promise.all(kept);
    expect(await outbox(job!.id)).toMatchObject({ status: 'done' });
    expect(await notes('inline first')).toBe(1);
    expect(await notes('inline second')).toBe(1);
    // One waitUntil for the whole run: the second job joined the first one's session.
    expect(kept).toHaveLength(1);
  });

  it('leaves what the budget cannot start, retries and delayed jobs to the sweeper', async () => {
    setConfig(inlineConfig({ JOBS_INLINE_BUDGET_MS: '1000' }));
    flaky = 0;
    const [slow, left, retried, delayed] = await commitJobs(async (ctx) => {
      await enqueue(ctx, slowJob, { tag: 'budget' });
      await enqueue(ctx, noteJob, { body: 'after the budget' });
      await enqueue(ctx, flakyJob, { body: 'flaky, second try' });
      await enqueue(ctx, noteJob, { body: 'delayed an hour' }, { runAt: new Date(Date.now() + 3_600_000) });
    });
    await Promise.all(kept);
    // The slow job took the whole budget: nothing else started in this run.
    expect(await outbox(slow!.id)).toMatchObject({ status: 'done' });
    expect(await outbox(left!.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await outbox(retried!.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await outbox(delayed!.id)).toMatchObject({ status: 'pending', attempts: 0 });

    const first = await sweep();
    expect(first.status).toBe(200);
    expect(await outbox(left!.id)).toMatchObject({ status: 'done', attempts: 1 });
    expect(await notes('after the budget')).toBe(1);
    // The flaky job failed once in the sweep: it waits out its backoff, then a later sweep runs it.
    expect(await outbox(retried!.id)).toMatchObject({ status: 'pending', attempts: 1 });
    await db.sql`update app.outbox set run_at = now() where id = ${retried!.id}`;
    await sweep();
    expect(await outbox(retried!.id)).toMatchObject({ status: 'done', attempts: 2 });
    expect(await notes('flaky, second try')).toBe(1);
    // Not due yet: untouched until its time, then the sweeper runs it.
    expect(await outbox(delayed!.id)).toMatchObject({ status: 'pending', attempts: 0 });
    await db.sql`update app.outbox set run_at = now() where id = ${delayed!.id}`;
    const last = await sweep();
    expect(last.body.result).toMatchObject({ ranInline: 1, leftInline: 0 });
    expect(await notes('delayed an hour')).toBe(1);
  });

  it('names the mode and the queue lag in /api/health, degraded while jobs wait', async () => {
    const [job] = await withClaims(systemClaims(SEED_ORG_ID), async (sql) => {
      const ctx: Ctx = { requestId: 'test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] };
      await enqueue(ctx, noteJob, { body: 'waited ten minutes' });
      return ctx.jobs;
    });
    // Committed but never published (a function that died before its response): it waits for the sweeper.
    await db.sql`update app.outbox set run_at = now() - interval '10 minutes' where id = ${job!.id}`;
    const stalled = await json('GET', '/api/health', { token: null });
    expect(stalled.status).toBe(503);
    expect(stalled.body.status).toBe('degraded');
    expect(stalled.body.adapters.jobs).toBe('inline');
    expect(stalled.body.jobs).toMatchObject({ mode: 'inline', ok: false });
    expect(stalled.body.jobs.due).toBeGreaterThanOrEqual(1);
    expect(stalled.body.jobs.oldestDueSeconds).toBeGreaterThanOrEqual(600);

    await sweep();
    expect(await notes('waited ten minutes')).toBe(1);
    const healthy = await json('GET', '/api/health', { token: null });
    expect(healthy.status).toBe(200);
    expect(healthy.body.jobs).toMatchObject({ mode: 'inline', ok: true, oldestDueSeconds: 0 });
  });

  it('publishes nothing to QStash and starts no dispatcher: the committed job runs only through waitUntil', async () => {
    const [job] = await commitJobs((ctx) => enqueue(ctx, noteJob, { body: 'only inline' }));
    expect(kept).toHaveLength(1);
    const [row] = await db.sql<{ publishedAt: Date | null }[]>`select published_at from app.outbox where id = ${job!.id}`;
    expect(row!.publishedAt).toBeNull();
    await Promise.all(kept);
    expect(await outbox(job!.id)).toMatchObject({ status: 'done', attempts: 1 });
    // The cron route answers its usual shape with the inline counters.
    const res = await call('GET', '/api/cron/jobs-sweep', { token: null, headers: { authorization: `Bearer ${config().cronSecret}` } });
    expect((await res.json()).result).toMatchObject({ republished: 0, ranInline: expect.any(Number) });
  });
});
