// The clocks on threads (lib/sla/clock.ts) through the real ways in: customer mail ingested with its
// own Date (the controllable clock: deadlines count from the message's time, not the test's), replies
// through the API, status changes through PATCH, policy changes through /api/sla-policies (recomputed
// by a job). Business hours are the seeded default calendar: Asia/Kolkata, Monday to Friday
// 09:30–18:30, Saturday 10:00–14:00.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../lib/context.js';
import { ingestEmail } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import { markSendFailed } from '../../lib/email/send-job.js';
import type { Transact } from '../../lib/jobs/registry.js';
import { runJob } from '../../lib/jobs/run.js';
import { reply } from '../../lib/messages/service.js';
import { SEED_ORG_ID, seedThreadId } from '../../lib/dev/seed.js';
import { applyServiceLevels, recomputeRun } from '../../lib/sla/clock.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { mail } from '../helpers/mail.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const MIN = 60_000;

async function setUp(): Promise<TestOrg> {
  const org = await newOrganization(db.sql);
  await db.sql`
    insert into app.channels (org_id, kind, name, address, sending_domain_status)
    values (${org.id}, 'email', 'Ops mailbox', ${`ops@${org.domain}`}, 'verified')`;
  return org;
}

/** A customer's (or anyone's) mail into the organization's mailbox, dated `at`; its thread and Message-ID. */
async function arrive(org: TestOrg, at: Date, opts: { from?: string; headers?: Record<string, string>; inReplyTo?: string; subject?: string } = {}) {
  const messageId = `${randomUUID()}@shipper.example`;
  const raw = mail({
    from: opts.from ?? 'Karthik <karthik@shipper.example>',
    to: `ops@${org.domain}`,
    subject: opts.subject ?? 'Booking 2x40HC Nhava Sheva',
    date: at,
    messageId,
    inReplyTo: opts.inReplyTo,
    headers: opts.headers,
  });
  const parsed = await parseEmail(Buffer.from(raw));
  const threadId = await asSystem(
    org.id,
    `test:${randomUUID()}`,
    [],
    async (ctx) => (await ingestEmail(ctx, parsed, { channelId: null, address: `ops@${org.domain}` })).threadId,
  );
  return { threadId, messageId };
}

async function clocks(id: string) {
  const [t] = await db.sql<
    { firstResponseDueAt: Date | null; nextResponseDueAt: Date | null; resolutionDueAt: Date | null; slaPolicyId: string | null; slaPausedSince: Date | null }[]
  >`select first_response_due_at, next_response_due_at, resolution_due_at, sla_policy_id, sla_paused_since from app.threads where id = ${id}`;
  return t!;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** Runs the recompute jobs a policy change queued (in production the dispatcher runs them after the response). */
async function recompute(org: TestOrg) {
  const jobs = await db.sql<{ id: string }[]>`select id from app.outbox where org_id = ${org.id} and name = 'sla.recompute' and status = 'pending'`;
  expect(jobs.length).toBeGreaterThan(0);
  for (const j of jobs) expect(await runJob(j.id)).toBe('done');
}

describe('clocks on threads', () => {
  let org: TestOrg;
  let defaultPolicy: string;
  beforeAll(async () => {
    org = await setUp();
    defaultPolicy = (await org.json('GET', '/api/sla-policies')).body.data[0].id;
  });

  it('counts business hours from the first customer message, overnight and over the weekend', async () => {
    // Friday 27 November 2026, 17:30 in Kolkata: one hour left that day, Saturday is a half-day.
    const { threadId } = await arrive(org, new Date('2026-11-27T12:00:00Z'));
    const t = await clocks(threadId);
    expect(t.slaPolicyId).toBe(defaultPolicy);
    // Normal priority, first response 240 business minutes: 60 on Friday, 180 on Saturday from 10:00.
    expect(iso(t.firstResponseDueAt)).toBe('2026-11-28T07:30:00.000Z');
    // Resolution 2880 (48 h): Fri 1 h, Sat 4 h, Mon–Thu 36 h, then 7 h on Friday 4 December to 16:30.
    expect(iso(t.resolutionDueAt)).toBe('2026-12-04T11:00:00.000Z');
    expect(t.nextResponseDueAt).toBeNull();
    const api = await org.json('GET', `/api/threads/${threadId}`);
    expect(api.body).toMatchObject({ firstResponseDueAt: '2026-11-28T07:30:00.000Z', resolutionDueAt: '2026-12-04T11:00:00.000Z', slaPolicyId: defaultPolicy });
  });

  it('recomputes when the priority changes, and drops the clocks of a thread marked spam', async () => {
    const { threadId } = await arrive(org, new Date('2026-11-27T12:00:00Z'), {
      from: 'Night desk <desk@reefer-depot.example>',
      subject: 'Urgent: reefer alarm',
    });
    const urgent = await org.json('PATCH', `/api/threads/${threadId}`, { body: { priority: 'urgent' } });
    expect(urgent.status).toBe(200);
    // Urgent first response: 30 business minutes from 17:30 Friday, 18:00 Kolkata.
    expect(urgent.body.firstResponseDueAt).toBe('2026-11-27T12:30:00.000Z');
    expect(iso((await clocks(threadId)).resolutionDueAt)).toBe('2026-11-30T07:00:00.000Z'); // 480: Fri 1 h, Sat 4 h, Mon 3 h to 12:30
    const spam = await org.json('POST', `/api/threads/${threadId}/spam`, { as: 'agent' });
    expect(spam.status).toBe(200);
    expect(await clocks(threadId)).toMatchObject({ firstResponseDueAt: null, resolutionDueAt: null, slaPolicyId: null });
  });

  it('a member’s reply satisfies first response; the first unanswered customer message starts next response', async () => {
    const { threadId, messageId } = await arrive(org, new Date(Date.now() - 60 * MIN), { subject: 'BL draft for SHK-4411' });
    expect((await clocks(threadId)).firstResponseDueAt).not.toBeNull();
    const sent = await org.json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'Draft BL attached.' } });
    expect(sent.status).toBe(201);
    expect(await clocks(threadId)).toMatchObject({ firstResponseDueAt: null, nextResponseDueAt: null });

    const firstFollowUp = new Date(Date.now() + MIN);
    const again = await arrive(org, firstFollowUp, { inReplyTo: messageId, subject: 'Re: BL draft for SHK-4411' });
    expect(again.threadId).toBe(threadId);
    const waiting = await clocks(threadId);
    expect(waiting.nextResponseDueAt).not.toBeNull();
    const calendar = (await org.json('GET', '/api/business-calendars')).body.data[0];
    const { businessCalendarOf } = await import('../../lib/sla/calendars.js');
    expect(iso(waiting.nextResponseDueAt)).toBe(
      new Date(businessCalendarOf(calendar).addMinutes(Math.floor(firstFollowUp.getTime() / 1000) * 1000, 480)).toISOString(),
    );
    // A second message while still unanswered does not push the deadline later.
    await arrive(org, new Date(Date.now() + 2 * MIN), { inReplyTo: messageId, subject: 'Re: BL draft for SHK-4411' });
    expect(iso((await clocks(threadId)).nextResponseDueAt)).toBe(iso(waiting.nextResponseDueAt));
    // The resolution clock still runs from the first message.
    expect(iso((await clocks(threadId)).resolutionDueAt)).toBe(iso(waiting.resolutionDueAt));
  });

  it('auto-replies and bounces never start, stop or satisfy a clock', async () => {
    const ooo = await arrive(org, new Date('2026-11-27T12:00:00Z'), {
      from: 'Meera <meera@consignee.example>',
      subject: 'Out of office until Monday',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    expect(await clocks(ooo.threadId)).toMatchObject({ firstResponseDueAt: null, resolutionDueAt: null });

    const customer = await arrive(org, new Date('2026-11-27T12:00:00Z'), { from: 'Meera <meera@consignee.example>', subject: 'Delivery order' });
    const before = await clocks(customer.threadId);
    expect(before.firstResponseDueAt).not.toBeNull();
    await arrive(org, new Date('2026-11-27T12:10:00Z'), {
      from: 'Meera <meera@consignee.example>',
      subject: 'Automatic reply: Delivery order',
      inReplyTo: customer.messageId,
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    expect(iso((await clocks(customer.threadId)).firstResponseDueAt)).toBe(iso(before.firstResponseDueAt));
  });

  it('an automation’s reply counts only when the policy says so, and a policy change recomputes open threads', async () => {
    // The policy changes below are this test's own: an organization of its own keeps them from the others.
    const org = await setUp();
    const defaultPolicy = (await org.json('GET', '/api/sla-policies')).body.data[0].id;
    const { threadId } = await arrive(org, new Date('2026-11-27T12:00:00Z'), { from: 'ops@forwarder-partner.example', subject: 'Rate request' });
    await asSystem(org.id, `test:${randomUUID()}`, [], (ctx) => reply(ctx, threadId, { text: 'We received your request.' } as never));
    expect(iso((await clocks(threadId)).firstResponseDueAt)).toBe('2026-11-28T07:30:00.000Z');

    const on = await org.json('PATCH', `/api/sla-policies/${defaultPolicy}`, { as: 'admin', body: { automationRepliesCount: true } });
    expect(on.status).toBe(200);
    await recompute(org);
    expect((await clocks(threadId)).firstResponseDueAt).toBeNull();

    // Mid-flight: a shorter resolution target, in calendar minutes, moves the due time of the open thread.
    const targets = { ...on.body.targets, normal: { ...on.body.targets.normal, resolution: { minutes: 600, business: false } } };
    const shorter = await org.json('PATCH', `/api/sla-policies/${defaultPolicy}`, { as: 'admin', body: { targets } });
    expect(shorter.status).toBe(200);
    await recompute(org);
    expect(iso((await clocks(threadId)).resolutionDueAt)).toBe('2026-11-27T22:00:00.000Z');
  });
});

describe('the demo data', () => {
  it('has its clocks, as the rule computes them for threads that came in through the API', async () => {
    const booking = seedThreadId(1);
    const [t] = await db.sql<{ firstResponseDueAt: Date | null; nextResponseDueAt: Date | null; slaPolicyId: string | null; lastInboundAt: Date }[]>`
      select first_response_due_at, next_response_due_at, sla_policy_id, last_inbound_at from app.threads where id = ${booking}`;
    const [policy] = await db.sql<{ id: string }[]>`select id from app.sla_policies where org_id = ${SEED_ORG_ID} and is_default`;
    // Answered once by a member, then the customer wrote again: next response runs, first response is met.
    expect(t).toMatchObject({ firstResponseDueAt: null, slaPolicyId: policy!.id });
    expect(t!.nextResponseDueAt!.getTime()).toBeGreaterThan(t!.lastInboundAt.getTime());
    const [paused] = await db.sql<{ slaPausedSince: Date | null }[]>`select sla_paused_since from app.threads where id = ${seedThreadId(2)}`;
    expect(paused!.slaPausedSince).toBeInstanceOf(Date);
    const [answered] = await db.sql<{ n: number }[]>`select count(*)::int as n from app.message_responses where thread_id = ${booking}`;
    expect(answered!.n).toBe(1);
    // Recomputing the open thread changes nothing: the seed ran the same rule.
    expect(await asSystem(SEED_ORG_ID, `test:${randomUUID()}`, [], (ctx) => applyServiceLevels(ctx, [booking]))).toBe(0);
  });
});

describe('a long recompute', () => {
  it('stops at its time limit and queues the rest, which the next run finishes', async () => {
    const org = await setUp();
    const defaultPolicy = (await org.json('GET', '/api/sla-policies')).body.data[0].id;
    const at = new Date('2026-11-27T12:00:00Z');
    const threads = [];
    for (const from of ['a@shipper-one.example', 'b@shipper-two.example', 'c@shipper-three.example']) threads.push((await arrive(org, at, { from })).threadId);
    const ordered = [...threads].sort();
    // A calendar-minute resolution target the recompute must bring to every open thread.
    const policy = await org.json('GET', `/api/sla-policies/${defaultPolicy}`);
    const targets = { ...policy.body.targets, normal: { ...policy.body.targets.normal, resolution: { minutes: 600, business: false } } };
    expect((await org.json('PATCH', `/api/sla-policies/${defaultPolicy}`, { as: 'admin', body: { targets } })).status).toBe(200);
    const target = '2026-11-27T22:00:00.000Z';

    // A run already past its time limit does one batch (two threads here), then hands over.
    const transact: Transact = (fn) => asSystem(org.id, `test:${randomUUID()}`, [], fn);
    await recomputeRun(transact, null, { stopAt: 0, limit: 2 });
    expect(iso((await clocks(ordered[0]!)).resolutionDueAt)).toBe(target);
    expect(iso((await clocks(ordered[1]!)).resolutionDueAt)).toBe(target);
    expect(iso((await clocks(ordered[2]!)).resolutionDueAt)).not.toBe(target);
    const next = await db.sql<{ id: string }[]>`
      select id from app.outbox where org_id = ${org.id} and name = 'sla.recompute' and status = 'pending' and payload->>'after' = ${ordered[1]!}`;
    expect(next).toHaveLength(1);

    expect(await runJob(next[0]!.id)).toBe('done');
    expect(iso((await clocks(ordered[2]!)).resolutionDueAt)).toBe(target);
  });
});

describe('pausing', () => {
  it('pauses while pending or snoozed and resumes with the paused time added back', async () => {
    const org = await setUp();
    const [policy] = (await org.json('GET', '/api/sla-policies')).body.data;
    // Calendar minutes, so the paused time counts whatever the hour the test runs at.
    const cal = { minutes: 240, business: false };
    const put = await org.json('PATCH', `/api/sla-policies/${policy.id}`, {
      as: 'admin',
      body: { targets: { normal: { firstResponse: cal, resolution: { minutes: 2880, business: false } } } },
    });
    expect(put.status).toBe(200);
    const start = new Date(Math.floor((Date.now() - 120 * MIN) / 1000) * 1000);
    const { threadId, messageId } = await arrive(org, start, { subject: 'Customs hold at JNPT' });
    expect(iso((await clocks(threadId)).firstResponseDueAt)).toBe(new Date(start.getTime() + 240 * MIN).toISOString());

    const pending = await org.json('PATCH', `/api/threads/${threadId}`, { body: { status: 'pending' } });
    expect(pending.status).toBe(200);
    const paused = await clocks(threadId);
    expect(paused.slaPausedSince).not.toBeNull();
    expect(pending.body.slaPausedSince).toBe(paused.slaPausedSince!.toISOString());
    // Ninety minutes pass while pending.
    await db.sql`update app.threads set sla_paused_since = sla_paused_since - interval '90 minutes' where id = ${threadId}`;
    const resumed = await org.json('PATCH', `/api/threads/${threadId}`, { body: { status: 'open' } });
    expect(resumed.body).toMatchObject({ status: 'open', slaPausedSince: null });
    const after = await clocks(threadId);
    expect(after.slaPausedSince).toBeNull();
    const added = after.firstResponseDueAt!.getTime() - (start.getTime() + 240 * MIN);
    expect(added).toBeGreaterThanOrEqual(90 * MIN);
    expect(added).toBeLessThan(91 * MIN);
    expect(after.resolutionDueAt!.getTime() - (start.getTime() + 2880 * MIN)).toBe(added);

    // Snoozed, then the customer writes: the thread reopens and the clock runs again, the snooze added back.
    const snoozed = await org.json('PATCH', `/api/threads/${threadId}`, { body: { snoozedUntil: new Date(Date.now() + 86_400_000).toISOString() } });
    expect(snoozed.body.status).toBe('snoozed');
    await db.sql`update app.threads set sla_paused_since = sla_paused_since - interval '30 minutes' where id = ${threadId}`;
    await arrive(org, new Date(), { inReplyTo: messageId, subject: 'Re: Customs hold at JNPT' });
    const reopened = await clocks(threadId);
    expect(reopened.slaPausedSince).toBeNull();
    const more = reopened.firstResponseDueAt!.getTime() - after.firstResponseDueAt!.getTime();
    expect(more).toBeGreaterThanOrEqual(30 * MIN);
    expect(more).toBeLessThan(31 * MIN);
  });
});

describe('outcomes', () => {
  it('records each target met or missed on resolution, with its time less the pauses', async () => {
    const org = await setUp();
    const [policy] = (await org.json('GET', '/api/sla-policies')).body.data;
    const put = await org.json('PATCH', `/api/sla-policies/${policy.id}`, {
      as: 'admin',
      body: { targets: { normal: { firstResponse: { minutes: 30, business: false }, resolution: { minutes: 2880, business: false } } } },
    });
    expect(put.status).toBe(200);
    const start = new Date(Math.floor((Date.now() - 100 * MIN) / 1000) * 1000);
    const { threadId } = await arrive(org, start, { subject: 'Detention charges at Mundra' });
    const sent = await org.json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'Checking with the line.' } });
    expect(sent.status).toBe(201);
    // The reply went out 35 minutes after the customer wrote.
    await db.sql`update app.messages set occurred_at = ${new Date(start.getTime() + 35 * MIN)} where id = ${sent.body.id}`;
    await org.json('PATCH', `/api/threads/${threadId}`, { body: { status: 'pending' } });
    // Sixty minutes pending, then resolved.
    await db.sql`update app.threads set sla_paused_since = sla_paused_since - interval '60 minutes' where id = ${threadId}`;
    const resolved = await org.json('PATCH', `/api/threads/${threadId}`, { body: { status: 'resolved' } });
    expect(resolved.status).toBe(200);
    const rows = await db.sql<{ target: string; met: boolean; elapsedMs: string; targetMinutes: number; business: boolean; policyId: string }[]>`
      select target, met, elapsed_ms::text as elapsed_ms, target_minutes, business, policy_id from app.sla_outcomes where thread_id = ${threadId} order by target`;
    expect(rows.map((r) => [r.target, r.met, r.targetMinutes, r.business, r.policyId])).toEqual([
      ['firstResponse', false, 30, false, policy.id],
      ['resolution', true, 2880, false, policy.id],
    ]);
    // First response: 35 minutes to the reply (missed); resolution: about 100 minutes less the 60 pending.
    const [first, resolution] = rows.map((r) => Number(r.elapsedMs) / MIN);
    expect(first).toBe(35);
    expect(resolution).toBeGreaterThanOrEqual(40);
    expect(resolution).toBeLessThan(41);
    // Closing the resolved thread records nothing more; the clocks are stopped.
    await org.json('PATCH', `/api/threads/${threadId}`, { body: { status: 'closed' } });
    const [n] = await db.sql<{ n: number }[]>`select count(*)::int as n from app.sla_outcomes where thread_id = ${threadId}`;
    expect(n!.n).toBe(2);
    expect(await clocks(threadId)).toMatchObject({ firstResponseDueAt: null, resolutionDueAt: null, slaPolicyId: null });
  });
});

describe('the policy a thread follows', () => {
  it('changes with its customer’s tier', async () => {
    const org = await setUp();
    const customer = await org.json('POST', '/api/customers', { body: { name: 'Reliance Retail', domains: ['reliance-retail.example'] } });
    expect(customer.status, JSON.stringify(customer.body)).toBe(201);
    const key = await org.json('POST', '/api/sla-policies', {
      as: 'admin',
      body: { name: 'Key accounts', conditions: { customerTiers: ['key'] }, targets: { normal: { firstResponse: { minutes: 15, business: false } } } },
    });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    const start = new Date('2026-11-27T12:00:00Z');
    const { threadId } = await arrive(org, start, { from: 'Asha <asha@reliance-retail.example>', subject: 'PO 7781 pickup' });
    const before = await clocks(threadId);
    expect(before.slaPolicyId).not.toBe(key.body.id);
    const tiered = await org.json('PATCH', `/api/customers/${customer.body.id}`, { body: { tier: 'key' } });
    expect(tiered.status).toBe(200);
    const after = await clocks(threadId);
    expect(after.slaPolicyId).toBe(key.body.id);
    expect(iso(after.firstResponseDueAt)).toBe('2026-11-27T12:15:00.000Z');
    // The key policy sets no resolution target.
    expect(after.resolutionDueAt).toBeNull();
  });
});

describe('a reply that fails', () => {
  it('no longer satisfies the first response: the clock runs again', async () => {
    const org = await setUp();
    const { threadId } = await arrive(org, new Date('2026-11-27T12:00:00Z'), { subject: 'Shipping bill copy' });
    const sent = await org.json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'Sending it now.' } });
    expect(sent.status).toBe(201);
    expect((await clocks(threadId)).firstResponseDueAt).toBeNull();
    // The send job gives up (its dead-letter hook marks the message failed).
    const failed = await asSystem(org.id, `test:${randomUUID()}`, [], (ctx) =>
      markSendFailed(ctx, sent.body.id, { code: 'send_attempts_exhausted', message: 'Not sent' }),
    );
    expect(failed).toBe(true);
    expect(iso((await clocks(threadId)).firstResponseDueAt)).toBe('2026-11-28T07:30:00.000Z');
  });
});
