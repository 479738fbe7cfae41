// The sla-check cron: sla.warning at the policy's share of a target and sla.breached at its due time,
// each exactly once per thread, target and due time (ticks that repeat, overlap or run concurrently),
// sent out through one function (realtime on the organization and thread topics, an audit row, the
// sla.event hook), and the counts agree. Targets here are calendar minutes, so the test's own clock
// (messages dated minutes ago, ticks at chosen instants) decides every time.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../lib/config.js';
import { asSystem } from '../../lib/context.js';
import { ingestEmail } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import { runJob } from '../../lib/jobs/run.js';
import { checkServiceLevels } from '../../lib/sla/check.js';
import { onSlaEvent, type SlaSubscriber } from '../../lib/sla/events.js';
import { setClock } from '../../lib/time.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { mail } from '../helpers/mail.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let org: TestOrg;
const MIN = 60_000;
const cron = { token: null, headers: { authorization: `Bearer ${config().cronSecret}` } };

beforeAll(async () => {
  db = await testDatabase();
  org = await newOrganization(db.sql);
  await db.sql`
    insert into app.channels (org_id, kind, name, address, sending_domain_status)
    values (${org.id}, 'email', 'Ops mailbox', ${`ops@${org.domain}`}, 'verified')`;
  const [policy] = (await org.json('GET', '/api/sla-policies')).body.data;
  // First response in 100 calendar minutes (warning at 75), resolution in 1000.
  const put = await org.json('PATCH', `/api/sla-policies/${policy.id}`, {
    as: 'admin',
    body: { targets: { normal: { firstResponse: { minutes: 100, business: false }, resolution: { minutes: 1000, business: false } } } },
  });
  expect(put.status).toBe(200);
});
afterAll(() => db.close());

/** A customer's mail dated `at`, on a thread of its own. */
async function arrive(at: Date): Promise<string> {
  const raw = mail({ from: `shipper-${randomUUID().slice(0, 8)}@shipper.example`, to: `ops@${org.domain}`, subject: `Booking ${randomUUID()}`, date: at });
  const parsed = await parseEmail(Buffer.from(raw));
  return asSystem(
    org.id,
    `test:${randomUUID()}`,
    [],
    async (ctx) => (await ingestEmail(ctx, parsed, { channelId: null, address: `ops@${org.domain}` })).threadId,
  );
}

const events = (threadId: string) =>
  db.sql<{ target: string; kind: string; dueAt: Date; announcedAt: Date | null }[]>`
    select target, kind, due_at, announced_at from app.sla_events where thread_id = ${threadId} order by kind desc, target`;

const second = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

describe('sla-check', () => {
  it('needs the cron secret', async () => {
    expect((await call('GET', '/api/cron/sla-check', { token: null })).status).toBe(401);
    expect((await call('GET', '/api/cron/sla-check', { token: null, headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('warns at the policy’s share of a target and breaches at its due time, once each, through one announcement', async () => {
    const start = second(new Date(Date.now() - 80 * MIN));
    const threadId = await arrive(start);
    const [t] = await db.sql<{ firstResponseDueAt: Date; firstResponseWarnAt: Date }[]>`
      select first_response_due_at, first_response_warn_at from app.threads where id = ${threadId}`;
    expect(t!.firstResponseDueAt.getTime()).toBe(start.getTime() + 100 * MIN);
    expect(t!.firstResponseWarnAt.getTime()).toBe(start.getTime() + 75 * MIN);

    const since = await broadcastsSince(db.sql);
    const tick = await json('GET', '/api/cron/sla-check', cron);
    expect(tick.status).toBe(200);
    expect(await events(threadId)).toEqual([{ target: 'firstResponse', kind: 'warning', dueAt: t!.firstResponseDueAt, announcedAt: expect.any(Date) }]);
    const sent = (await since()).filter((b) => b.payload.data?.threadId === threadId);
    expect(sent.map((b) => [b.event, b.topic]).sort()).toEqual([
      ['sla.warning', `org:${org.id}`],
      ['sla.warning', `org:${org.id}:thread:${threadId}`],
    ]);
    expect(sent[0]!.payload).toMatchObject({ event: 'sla.warning', orgId: org.id, actorId: null, data: { target: 'firstResponse', kind: 'warning' } });
    const audit = await db.sql`select action, entity_type from app.audit_log where org_id = ${org.id} and entity_id = ${threadId} and action like 'sla.%'`;
    expect(audit).toEqual([{ action: 'sla.warning', entityType: 'thread' }]);

    // The same minute again, and a retry: nothing new.
    await json('GET', '/api/cron/sla-check', cron);
    await checkServiceLevels();
    expect(await events(threadId)).toHaveLength(1);
    expect((await since()).filter((b) => b.payload.data?.threadId === threadId)).toHaveLength(2);

    // Past the due time: the breach, once; the thread is breached in the counts and the hook runs.
    const later = new Date(start.getTime() + 101 * MIN);
    const heard: Parameters<SlaSubscriber>[1][] = [];
    const off = onSlaEvent('test', async (_ctx, e) => {
      heard.push(e);
    });
    try {
      await checkServiceLevels({ now: later });
      await checkServiceLevels({ now: later });
      expect((await events(threadId)).map((e) => e.kind)).toEqual(['warning', 'breached']);
      const [marked] = await db.sql<{ slaBreachedAt: Date }[]>`select sla_breached_at from app.threads where id = ${threadId}`;
      expect(marked!.slaBreachedAt).toEqual(t!.firstResponseDueAt);
      const jobs = await db.sql<{ id: string }[]>`
        select o.id from app.outbox o join app.sla_events e on e.id = (o.payload->>'eventId')::uuid
        where o.name = 'sla.event' and e.thread_id = ${threadId} order by o.created_at`;
      expect(jobs).toHaveLength(2);
      for (const j of jobs) expect(await runJob(j.id)).toBe('done');
      expect(heard.map((e) => [e.threadId, e.target, e.kind])).toEqual([
        [threadId, 'firstResponse', 'warning'],
        [threadId, 'firstResponse', 'breached'],
      ]);
    } finally {
      off();
    }
    const counts = await org.json('GET', '/api/threads/counts');
    expect(counts.body.sla.breached).toBeGreaterThanOrEqual(1);

    // A member's reply satisfies the clock: the thread is no longer breached (the events stay recorded).
    const sentReply = await org.json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'On it.' } });
    expect(sentReply.status).toBe(201);
    const [after] = await db.sql`select sla_breached_at, first_response_due_at from app.threads where id = ${threadId}`;
    expect(after).toEqual({ slaBreachedAt: null, firstResponseDueAt: null });
  });

  it('follows the app’s clock: the minute cron breaches a thread when the clock passes its due time', async () => {
    const start = second(new Date(Date.now() - 10 * MIN));
    const threadId = await arrive(start);
    setClock(new Date(start.getTime() + 80 * MIN));
    try {
      expect((await json('GET', '/api/cron/sla-check', cron)).status).toBe(200);
      expect((await events(threadId)).map((e) => e.kind)).toEqual(['warning']);
      setClock(new Date(start.getTime() + 101 * MIN));
      expect((await json('GET', '/api/cron/sla-check', cron)).status).toBe(200);
      expect((await events(threadId)).map((e) => e.kind)).toEqual(['warning', 'breached']);
      const [t] = await db.sql<{ slaBreachedAt: Date | null }[]>`select sla_breached_at from app.threads where id = ${threadId}`;
      expect(t!.slaBreachedAt).toEqual(new Date(start.getTime() + 100 * MIN));
    } finally {
      setClock(undefined);
    }
  });

  it('raises each event once under concurrent ticks', async () => {
    const start = second(new Date(Date.now() - 50 * MIN));
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await arrive(start));
    const since = await broadcastsSince(db.sql);
    // Past the warning and the due time of every first response: two events per thread.
    const at = new Date(start.getTime() + 120 * MIN);
    // Other tests' threads in this database may fall due too: this test counts its own threads' events.
    await Promise.all(Array.from({ length: 6 }, () => checkServiceLevels({ now: at })));
    const [recorded] = await db.sql<{ n: number; announced: number }[]>`
      select count(*)::int as n, count(announced_at)::int as announced from app.sla_events where thread_id = any(${ids}::uuid[])`;
    expect(recorded).toEqual({ n: 24, announced: 24 });
    const sent = (await since()).filter((b) => ids.includes(b.payload.data?.threadId));
    // Each event once on the organization topic and once on the thread's.
    expect(sent).toHaveLength(48);
    const again = await Promise.all(Array.from({ length: 3 }, () => checkServiceLevels({ now: at })));
    expect(again.reduce((n, t) => n + t.fired, 0)).toBe(0);
  });
});

describe('the inbox list by service level', () => {
  it('filters sla=breached|at_risk|ok as the counts count them, and sorts by the next due time', async () => {
    const other = await newOrganization(db.sql);
    const [policy] = (await other.json('GET', '/api/sla-policies')).body.data;
    await other.json('PATCH', `/api/sla-policies/${policy.id}`, {
      as: 'admin',
      body: { targets: { normal: { firstResponse: { minutes: 100, business: false } } } },
    });
    const arriveIn = async (at: Date) => {
      const raw = mail({ from: `s-${randomUUID().slice(0, 8)}@shipper.example`, to: `ops@${other.domain}`, subject: `Quote ${randomUUID()}`, date: at });
      const parsed = await parseEmail(Buffer.from(raw));
      return asSystem(
        other.id,
        `test:${randomUUID()}`,
        [],
        async (ctx) => (await ingestEmail(ctx, parsed, { channelId: null, address: `ops@${other.domain}` })).threadId,
      );
    };
    const now = Date.now();
    // Due in 90, 70 and 20 minutes, and one past due (breached by the tick below); one pending (paused).
    const ok1 = await arriveIn(new Date(now - 10 * MIN));
    const ok2 = await arriveIn(new Date(now - 30 * MIN));
    const risk = await arriveIn(new Date(now - 80 * MIN));
    const late = await arriveIn(new Date(now - 130 * MIN));
    const paused = await arriveIn(new Date(now - 90 * MIN));
    expect((await other.json('PATCH', `/api/threads/${paused}`, { body: { status: 'pending' } })).status).toBe(200);
    await checkServiceLevels();

    const list = async (query: string) => {
      const res = await other.json('GET', `/api/threads?${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.data.map((t: any) => t.id);
    };
    expect(await list('sla=breached')).toEqual([late]);
    expect(await list('sla=at_risk')).toEqual([risk]);
    expect((await list('sla=ok')).sort()).toEqual([ok1, ok2].sort());
    const counts = (await other.json('GET', '/api/threads/counts')).body.sla;
    expect(counts).toMatchObject({ breached: 1, atRisk: 1 });

    // Earliest due first, page by page; the paused thread is not in the view.
    expect(await list('sort=due')).toEqual([late, risk, ok2, ok1]);
    const first = await other.json('GET', '/api/threads?sort=due&limit=2');
    expect(first.body.data.map((t: any) => t.id)).toEqual([late, risk]);
    const second = await other.json('GET', `/api/threads?sort=due&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.data.map((t: any) => t.id)).toEqual([ok2, ok1]);
    expect(second.body.nextCursor).toBeNull();
    expect(await list('sla=ok&sort=due')).toEqual([ok2, ok1]);

    for (const bad of ['sla=late', 'sort=oldest']) {
      const res = await other.json('GET', `/api/threads?${bad}`);
      expect(res.status).toBe(422);
      expect(res.body.error.details.issues[0].path).toBe(`query.${bad.split('=')[0]}`);
    }
  });
});
