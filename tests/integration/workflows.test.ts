// The workflow engine end to end on a controllable clock: definitions and versions through the API,
// triggers from real ingest, conditions, macro steps, round robin, notify, waits that an event or a
// timeout ends, the run log, loop guards, dry runs, retry and cancel, schedules, and outgoing
// webhooks. The test owns the clock (lib/time.ts setClock) on a timeline days in the past, so every
// delayed job is already due for the outbox; it runs the organization's jobs itself as that clock
// reaches their time (runDue).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useModelForTests } from '../../lib/ai/context.js';
import { config, parseConfig, setConfig } from '../../lib/config.js';
import { asSystem } from '../../lib/context.js';
import { ingestEmail } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import { runJob } from '../../lib/jobs/run.js';
import { checkServiceLevels } from '../../lib/sla/check.js';
import { setClock } from '../../lib/time.js';
import { AUTO_REPLIES_PER_DAY, fireSchedules, MAX_DEPTH } from '../../lib/workflows/engine.js';
import { call } from '../helpers/api.js';
import { captureOutbound } from '../helpers/captured-mail.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { mail } from '../helpers/mail.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
let captured: ReturnType<typeof captureOutbound>;
let clock: Date | null = null;
/** Jobs queued on the system clock (not the test's) have run_at from here on. */
const realStart = new Date();

beforeAll(async () => {
  db = await testDatabase();
  setConfig(parseConfig({ ...process.env, ALLOW_PRIVATE_NETWORK_HOSTS: 'true' }));
  captured = captureOutbound();
  setClock(() => (clock ? new Date(clock.getTime()) : new Date()));
});
afterEach(() => {
  useModelForTests();
  clock = null;
});
afterAll(async () => {
  captured.release();
  setClock(undefined);
  setConfig(parseConfig(process.env));
  await db.close();
});

/** Monday 10:00 in Asia/Kolkata (04:30 UTC), two to three weeks ago: inside the default business hours. */
function monday(): Date {
  const d = new Date(Date.now() - 14 * DAY);
  d.setUTCHours(4, 30, 0, 0);
  while (d.getUTCDay() !== 1) d.setUTCDate(d.getUTCDate() - 1);
  return d;
}

/** Runs the organization's jobs that are due on the test's clock (and those queued on the system clock), until none is left. */
async function runDue(org: TestOrg): Promise<void> {
  for (let round = 0; round < 40; round++) {
    const due = await db.sql<{ id: string }[]>`
      select id from app.outbox where org_id = ${org.id} and status = 'pending'
        and (run_at <= ${clock ?? new Date()} or (run_at >= ${realStart} and run_at <= now()))
      order by run_at, id`;
    if (due.length === 0) return;
    for (const { id } of due) await runJob(id);
  }
  throw new Error('jobs kept coming');
}

interface Setup {
  org: TestOrg;
  ops: string;
  teamId: string;
  templateId: string;
}

async function setup(): Promise<Setup> {
  const org = await newOrganization(db.sql);
  const ops = `ops@${org.domain}`;
  await db.sql`insert into app.channels (org_id, kind, name, address, sending_domain_status) values (${org.id}, 'email', 'Ops', ${ops}, 'verified')`;
  const [team] = await db.sql<{ id: string }[]>`insert into app.teams (org_id, name) values (${org.id}, 'Booking desk') returning id`;
  await db.sql`
    insert into app.team_members (org_id, team_id, user_id, role) values
      (${org.id}, ${team!.id}, ${org.users.agent.id}, 'member'), (${org.id}, ${team!.id}, ${org.users.manager.id}, 'member'),
      (${org.id}, ${team!.id}, ${org.users.admin.id}, 'lead')`;
  const [template] = await db.sql<{ id: string }[]>`
    insert into app.reply_templates (org_id, owner_id, name, channels, body)
    values (${org.id}, null, 'Booking acknowledgement', '{email}', 'Thank you, we received your booking request and will confirm shortly.') returning id`;
  return { org, ops, teamId: team!.id, templateId: template!.id };
}

async function receive(
  s: Setup,
  spec: { from: string; subject: string; body?: string; headers?: Record<string, string>; inReplyTo?: string; messageId?: string },
) {
  const raw = mail({ ...spec, to: s.ops, date: clock ?? new Date(), messageId: spec.messageId ?? `${randomUUID()}@shipper.example` });
  return asSystem(s.org.id, `test:${randomUUID()}`, [], async (ctx) =>
    ingestEmail(ctx, await parseEmail(Buffer.from(raw)), { channelId: null, address: s.ops }),
  );
}

async function createWorkflow(org: TestOrg, body: Record<string, unknown>) {
  const res = await org.json('POST', '/api/workflows', { as: 'manager', body: { name: `W ${randomUUID().slice(0, 8)}`, enabled: true, ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; version: number };
}

const runsOf = (workflowId: string) =>
  db.sql<{ id: string; status: string; threadId: string; error: string | null; depth: number }[]>`
    select id, status, thread_id, error, depth from app.workflow_runs where workflow_id = ${workflowId} order by started_at, id`;

const bookingWorkflow = (s: Setup) => ({
  trigger: { type: 'message.received', channels: ['email'] },
  conditions: {
    all: [
      {
        any: [
          { field: 'intent', op: 'is', value: 'booking_request' },
          { field: 'subject', op: 'matches', value: '\\bbook(ing)?\\b' },
        ],
      },
      // Once per booking thread: not for the customer's later messages.
      { field: 'tags', op: 'hasNone', value: ['booking-desk'] },
    ],
  },
  steps: [
    { type: 'tags', add: ['booking-desk'] },
    { type: 'assign_auto', teamId: s.teamId, strategy: 'round_robin' },
    { type: 'reply', templateId: s.templateId },
    {
      type: 'wait',
      for: { businessMinutes: 2 * 540 },
      event: { types: ['message.received'] },
      onTimeout: [
        { type: 'notify', teamId: s.teamId, teamLeads: true, title: 'No answer to the booking acknowledgement for 2 business days' },
        { type: 'tags', add: ['chase'] },
      ],
    },
  ],
});

describe('a booking request end to end', () => {
  it('tags, assigns round robin, acknowledges once, waits 2 business days, notifies the lead; SLA warns; redelivery changes nothing', async () => {
    const s = await setup();
    clock = monday();
    const wf = await createWorkflow(s.org, bookingWorkflow(s));
    const slaWf = await createWorkflow(s.org, {
      trigger: { type: 'sla.warning' },
      steps: [{ type: 'notify', teamId: s.teamId, teamLeads: true, title: 'SLA about to break' }],
    });
    const breachWf = await createWorkflow(s.org, { trigger: { type: 'sla.breached' }, steps: [{ type: 'tags', add: ['sla-breached'] }] });
    const customer = `shipper-${randomUUID().slice(0, 8)}@shipper.example`;
    const since = await broadcastsSince(db.sql);
    const stored = await receive(s, { from: customer, subject: 'Booking request 2x40HC Nhava Sheva to Jebel Ali', body: 'Please book 2x40HC for next week.' });
    await runDue(s.org);

    const [run] = await runsOf(wf.id);
    expect(run).toMatchObject({ status: 'waiting', threadId: stored.threadId, depth: 1 });
    const [thread] = await db.sql<
      { tags: string[]; assigneeId: string; teamId: string }[]
    >`select tags, assignee_id, team_id from app.threads where id = ${stored.threadId}`;
    expect(thread!.tags).toContain('booking-desk');
    expect([s.org.users.agent.id, s.org.users.manager.id, s.org.users.admin.id]).toContain(thread!.assigneeId);
    expect(thread!.teamId).toBe(s.teamId);
    const acks = captured.sent.filter((m) => m.email.to.some((t) => t.address === customer));
    expect(acks).toHaveLength(1);
    expect(acks[0]!.email.headers?.['Auto-Submitted']).toBe('auto-replied');

    // The run's record: every step with its outcome, the wait with its end.
    const detail = await s.org.json('GET', `/api/workflow-runs/${run!.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.steps.map((x: { stepKey: string; status: string }) => `${x.stepKey}:${x.status}`)).toEqual([
      '0:succeeded',
      '1:succeeded',
      '2:succeeded',
      '3:waiting',
    ]);
    const expiresAt = new Date(detail.body.steps[3].input.expiresAt);
    // Two business days of 09:30-18:30: Wednesday 10:00 in Kolkata.
    expect(expiresAt.getTime() - clock.getTime()).toBe(2 * DAY);
    const history = await s.org.json('GET', `/api/threads/${stored.threadId}/workflow-runs`);
    expect(history.body.data.map((r: { id: string }) => r.id)).toEqual([run!.id]);
    expect((await since()).some((b) => b.event === 'workflow_run.updated' && b.topic.endsWith(stored.threadId))).toBe(true);

    // A redelivery of the reply step (its outbox row delivered again) changes nothing.
    const [replyJob] = await db.sql<{ id: string }[]>`
      select id from app.outbox where org_id = ${s.org.id} and name = 'workflow.step' and payload ->> 'runId' = ${run!.id} and payload ->> 'stepKey' = '2'`;
    await db.sql`update app.outbox set status = 'pending', attempts = 0, lease_id = null where id = ${replyJob!.id}`;
    expect(await runJob(replyJob!.id)).toBe('done');
    await runDue(s.org);
    const outbound = await db.sql`select id from app.messages where thread_id = ${stored.threadId} and direction = 'outbound'`;
    expect(outbound).toHaveLength(1);
    expect(captured.sent.filter((m) => m.email.to.some((t) => t.address === customer))).toHaveLength(1);

    // Nobody answers: a day later nothing happened; after two business days the lead hears of it.
    clock = new Date(clock.getTime() + DAY);
    await runDue(s.org);
    expect((await runsOf(wf.id))[0]!.status).toBe('waiting');
    clock = new Date(expiresAt.getTime() + MIN);
    await runDue(s.org);
    expect((await runsOf(wf.id))[0]!.status).toBe('completed');
    const leadNotes = await db.sql<{ title: string }[]>`
      select title from app.notifications where org_id = ${s.org.id} and user_id = ${s.org.users.admin.id} and type = 'automation' order by created_at`;
    expect(leadNotes.map((n) => n.title)).toEqual(['No answer to the booking acknowledgement for 2 business days']);
    const [after] = await db.sql<{ tags: string[] }[]>`select tags from app.threads where id = ${stored.threadId}`;
    expect(after!.tags).toEqual(expect.arrayContaining(['booking-desk', 'chase']));

    // The SLA warns: the sla.warning workflow tells the team lead.
    const [due] = await db.sql<{ warnAt: Date }[]>`
      select least(first_response_warn_at, next_response_warn_at, resolution_warn_at) as warn_at from app.threads where id = ${stored.threadId}`;
    expect(due!.warnAt).not.toBeNull();
    clock = new Date(due!.warnAt.getTime() + MIN);
    await checkServiceLevels({ now: clock });
    await runDue(s.org);
    expect((await runsOf(slaWf.id)).map((r) => r.status)).toEqual(['completed']);
    const slaNotes = await db.sql`
      select 1 from app.notifications where org_id = ${s.org.id} and user_id = ${s.org.users.admin.id} and title = 'SLA about to break'`;
    expect(slaNotes).toHaveLength(1);
    expect(await runsOf(breachWf.id)).toEqual([]);

    // The SLA breaks: the sla.breached workflow tags the thread, once however often the check runs.
    const [breach] = await db.sql<{ dueAt: Date }[]>`
      select least(first_response_due_at, next_response_due_at, resolution_due_at) as due_at from app.threads where id = ${stored.threadId}`;
    expect(breach!.dueAt).not.toBeNull();
    clock = new Date(breach!.dueAt.getTime() + MIN);
    await checkServiceLevels({ now: clock });
    await checkServiceLevels({ now: clock });
    await runDue(s.org);
    expect((await runsOf(breachWf.id)).map((r) => [r.status, r.threadId])).toEqual([['completed', stored.threadId]]);
    const [breached] = await db.sql<{ tags: string[] }[]>`select tags from app.threads where id = ${stored.threadId}`;
    expect(breached!.tags).toContain('sla-breached');
  });

  it('the customer answering ends the wait on its event branch, and round robin takes turns', async () => {
    const s = await setup();
    clock = monday();
    const def = bookingWorkflow(s);
    const wait = def.steps[3] as Record<string, unknown>;
    wait.onEvent = [{ type: 'tags', add: ['answered'] }];
    const wf = await createWorkflow(s.org, def);
    const firstId = `${randomUUID()}@shipper.example`;
    const first = await receive(s, { from: `a-${randomUUID().slice(0, 6)}@shipper.example`, subject: 'Booking 1x20GP', messageId: firstId });
    const second = await receive(s, { from: `b-${randomUUID().slice(0, 6)}@shipper.example`, subject: 'Booking 3x40HC' });
    await runDue(s.org);
    const assignees = await db.sql<{ assigneeId: string }[]>`select assignee_id from app.threads where id in (${first.threadId}, ${second.threadId})`;
    expect(new Set(assignees.map((a) => a.assigneeId)).size).toBe(2);

    clock = new Date(clock.getTime() + 2 * 60 * MIN);
    const [firstThread] = await db.sql<{ counterpart: string }[]>`select counterpart from app.threads where id = ${first.threadId}`;
    const answer = await receive(s, { from: firstThread!.counterpart, subject: 'Re: Booking 1x20GP', body: 'Here are the details.', inReplyTo: firstId });
    expect(answer.threadId).toBe(first.threadId);
    await runDue(s.org);
    const runs = await runsOf(wf.id);
    const byThread = new Map(runs.map((r) => [r.threadId, r]));
    expect(byThread.get(first.threadId)!.status).toBe('completed');
    expect(byThread.get(second.threadId)!.status).toBe('waiting');
    const [tagged] = await db.sql<{ tags: string[] }[]>`select tags from app.threads where id = ${first.threadId}`;
    expect(tagged!.tags).toContain('answered');
    expect(await db.sql`select 1 from app.workflow_waits where run_id = ${byThread.get(first.threadId)!.id}`).toHaveLength(0);
    // The timeout job of the ended wait later does nothing.
    clock = new Date(clock.getTime() + 5 * DAY);
    await runDue(s.org);
    const [again] = await db.sql<{ tags: string[] }[]>`select tags from app.threads where id = ${first.threadId}`;
    expect(again!.tags).not.toContain('chase');
  });
});

describe('loop guards', () => {
  it('a workflow that edits its thread does not trigger itself', async () => {
    const s = await setup();
    const wf = await createWorkflow(s.org, {
      trigger: { type: 'thread.updated' },
      conditions: { field: 'changed', op: 'hasAny', value: ['status', 'tags', 'priority'] },
      steps: [
        { type: 'tags', add: ['touched'] },
        { type: 'priority', priority: 'high' },
      ],
    });
    const thread = (await s.org.json('POST', '/api/threads', { body: { subject: 'Self edit' } })).body;
    await runDue(s.org);
    expect(await runsOf(wf.id)).toHaveLength(0);
    const res = await s.org.json('PATCH', `/api/threads/${thread.id}`, { body: { status: 'pending' } });
    expect(res.status).toBe(200);
    await runDue(s.org);
    const runs = await runsOf(wf.id);
    expect(runs.map((r) => r.status)).toEqual(['completed']);
    const [t] = await db.sql<{ tags: string[]; priority: string }[]>`select tags, priority from app.threads where id = ${thread.id}`;
    expect(t).toMatchObject({ tags: ['touched'], priority: 'high' });
  });

  it(`chains across workflows stop at depth ${MAX_DEPTH}, recorded`, async () => {
    const s = await setup();
    const a = await createWorkflow(s.org, {
      trigger: { type: 'thread.updated' },
      conditions: { field: 'changed', op: 'hasAny', value: ['priority'] },
      steps: [{ type: 'tags', add: [`t-${randomUUID().slice(0, 6)}`] }],
    });
    // B changes the priority whenever the tags change; A changes the tags (a new one each run of a new thread state) whenever the priority changes.
    const b = await createWorkflow(s.org, {
      trigger: { type: 'thread.updated' },
      conditions: { field: 'changed', op: 'hasAny', value: ['tags'] },
      steps: [{ type: 'priority', priority: 'urgent' }],
    });
    const c = await createWorkflow(s.org, {
      trigger: { type: 'thread.updated' },
      conditions: {
        all: [
          { field: 'changed', op: 'hasAny', value: ['priority'] },
          { field: 'priority', op: 'is', value: 'urgent' },
        ],
      },
      steps: [{ type: 'priority', priority: 'low' }],
    });
    const d = await createWorkflow(s.org, {
      trigger: { type: 'thread.updated' },
      conditions: {
        all: [
          { field: 'changed', op: 'hasAny', value: ['priority'] },
          { field: 'priority', op: 'is', value: 'low' },
        ],
      },
      steps: [{ type: 'priority', priority: 'urgent' }],
    });
    const thread = (await s.org.json('POST', '/api/threads', { body: { subject: 'Ping pong' } })).body;
    await s.org.json('PATCH', `/api/threads/${thread.id}`, { body: { priority: 'high' } });
    await runDue(s.org);
    const all = await db.sql<{ status: string; depth: number; error: string | null }[]>`
      select status, depth, error from app.workflow_runs where workflow_id in (${a.id}, ${b.id}, ${c.id}, ${d.id})`;
    expect(Math.max(...all.filter((r) => r.status === 'completed').map((r) => r.depth))).toBe(MAX_DEPTH);
    const refused = all.filter((r) => r.status === 'skipped');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.depth === MAX_DEPTH + 1 && r.error?.includes('loop guard'))).toBe(true);
  });

  it('two autoresponders do not ping-pong, and automated replies stay within the daily budget', async () => {
    const s = await setup();
    clock = monday();
    const wf = await createWorkflow(s.org, {
      trigger: { type: 'message.received', includeAutomated: true },
      steps: [{ type: 'reply', templateId: s.templateId }],
    });
    const robot = `robot-${randomUUID().slice(0, 6)}@shipper.example`;
    const first = await receive(s, { from: robot, subject: 'Rate request' });
    await runDue(s.org);
    expect(captured.sent.filter((m) => m.email.to.some((t) => t.address === robot))).toHaveLength(1);
    // Their autoresponder answers our acknowledgement, and again: no reply goes to an auto-reply.
    for (let i = 0; i < 3; i++) {
      await receive(s, { from: robot, subject: 'Auto: Out of office', headers: { 'Auto-Submitted': 'auto-replied' }, body: 'I am away.' });
      await runDue(s.org);
    }
    expect(captured.sent.filter((m) => m.email.to.some((t) => t.address === robot))).toHaveLength(1);
    const skipped = await db.sql<{ output: { reason: string } }[]>`
      select s.output from app.workflow_run_steps s join app.workflow_runs r on r.id = s.run_id where r.workflow_id = ${wf.id} and s.status = 'skipped'`;
    expect(skipped.length).toBe(3);
    expect(skipped.every((x) => x.output.reason.includes('auto-reply'))).toBe(true);

    // A person writing many times a day gets at most AUTO_REPLIES_PER_DAY automated replies.
    const person = `person-${randomUUID().slice(0, 6)}@shipper.example`;
    for (let i = 0; i < AUTO_REPLIES_PER_DAY + 2; i++) {
      await receive(s, { from: person, subject: `Question ${i}` });
      await runDue(s.org);
    }
    expect(captured.sent.filter((m) => m.email.to.some((t) => t.address === person))).toHaveLength(AUTO_REPLIES_PER_DAY);
    // A no-reply address never gets one.
    await receive(s, { from: `no-reply@${randomUUID().slice(0, 6)}.example`, subject: 'Your invoice' });
    await runDue(s.org);
    expect(captured.sent.filter((m) => m.email.to.some((t) => t.address.startsWith('no-reply@')))).toHaveLength(0);
    expect(first.threadId).toBeTruthy();
  });
});

describe('definitions', () => {
  it('validates on save (an invalid regex is a 422 naming its field), versions every edit, and runs keep their version', async () => {
    const s = await setup();
    const bad = await s.org.json('POST', '/api/workflows', {
      as: 'manager',
      body: {
        name: 'Bad',
        trigger: { type: 'message.received' },
        conditions: { all: [{ field: 'body', op: 'matches', value: '(unclosed' }] },
        steps: [{ type: 'priority', priority: 'high' }],
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toBe('body.conditions.all.0.value');
    const cron = await s.org.json('POST', '/api/workflows', {
      as: 'manager',
      body: { name: 'Bad cron', trigger: { type: 'schedule', cron: '61 9 * * *' }, steps: [{ type: 'priority', priority: 'high' }] },
    });
    expect(cron.status).toBe(422);
    expect(cron.body.error.details.issues[0].path).toBe('body.trigger.cron');
    const agent = await s.org.json('POST', '/api/workflows', {
      body: { name: 'Agent', trigger: { type: 'thread.created' }, steps: [{ type: 'priority', priority: 'high' }] },
    });
    expect(agent.status).toBe(403);

    const wf = await createWorkflow(s.org, { trigger: { type: 'thread.created' }, steps: [{ type: 'tags', add: ['v1'] }] });
    const t1 = (await s.org.json('POST', '/api/threads', { body: { subject: 'First' } })).body;
    await runDue(s.org);
    const edit = await s.org.json('PATCH', `/api/workflows/${wf.id}`, { as: 'manager', body: { steps: [{ type: 'tags', add: ['v2'] }] } });
    expect(edit.body.version).toBe(2);
    const renamed = await s.org.json('PATCH', `/api/workflows/${wf.id}`, { as: 'manager', body: { name: 'Renamed' } });
    expect(renamed.body.version).toBe(2);
    const t2 = (await s.org.json('POST', '/api/threads', { body: { subject: 'Second' } })).body;
    await runDue(s.org);
    const tags = await db.sql<{ id: string; tags: string[] }[]>`select id, tags from app.threads where id in (${t1.id}, ${t2.id})`;
    expect(tags.find((t) => t.id === t1.id)!.tags).toEqual(['v1']);
    expect(tags.find((t) => t.id === t2.id)!.tags).toEqual(['v2']);
    const versions = await s.org.json('GET', `/api/workflows/${wf.id}/versions`, { as: 'manager' });
    expect(versions.body.data.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const runs = await s.org.json('GET', `/api/workflows/${wf.id}/runs`, { as: 'manager' });
    expect(runs.body.data.map((r: { workflowVersion: number }) => r.workflowVersion).sort()).toEqual([1, 2]);
  });

  it('priority order and "stop later workflows"', async () => {
    const s = await setup();
    const later = await createWorkflow(s.org, { priority: 20, trigger: { type: 'thread.created' }, steps: [{ type: 'tags', add: ['later'] }] });
    const first = await createWorkflow(s.org, {
      priority: 10,
      stopLaterWorkflows: true,
      trigger: { type: 'thread.created' },
      steps: [{ type: 'tags', add: ['first'] }],
    });
    const t = (await s.org.json('POST', '/api/threads', { body: { subject: 'Priority' } })).body;
    await runDue(s.org);
    expect(await runsOf(first.id)).toHaveLength(1);
    expect(await runsOf(later.id)).toHaveLength(0);
    await s.org.json('PATCH', `/api/workflows/${first.id}`, { as: 'manager', body: { enabled: false } });
    const t2 = (await s.org.json('POST', '/api/threads', { body: { subject: 'Priority 2' } })).body;
    await runDue(s.org);
    expect((await runsOf(later.id)).map((r) => r.threadId)).toEqual([t2.id]);
    expect(t.id).not.toBe(t2.id);
  });

  it('a dry run answers which steps would run with which inputs against a real thread, and changes nothing', async () => {
    const s = await setup();
    clock = monday();
    const wf = await createWorkflow(s.org, { ...bookingWorkflow(s), enabled: false });
    const stored = await receive(s, { from: `dry-${randomUUID().slice(0, 6)}@shipper.example`, subject: 'Booking request 1x40HC' });
    await runDue(s.org);
    const before = await db.sql`select tags, assignee_id, updated_at from app.threads where id = ${stored.threadId}`;
    const res = await s.org.json('POST', `/api/workflows/${wf.id}/dry-run`, { as: 'manager', body: { threadId: stored.threadId } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ matched: true, conditionsHold: true });
    expect(res.body.steps.map((x: { type: string; wouldRun: boolean }) => `${x.type}:${x.wouldRun}`)).toEqual([
      'tags:true',
      'assign_auto:true',
      'reply:true',
      'wait:true',
    ]);
    expect([s.org.users.agent.id, s.org.users.manager.id, s.org.users.admin.id]).toContain(res.body.steps[1].resolved.assigneeId);
    expect(res.body.steps[3].branches.onTimeout[0].resolved.recipients).toEqual([s.org.users.admin.id]);
    const miss = await s.org.json('POST', `/api/workflows/${wf.id}/dry-run`, {
      as: 'manager',
      body: { event: { type: 'thread.updated', threadId: stored.threadId } },
    });
    expect(miss.body.matched).toBe(false);
    expect(await db.sql`select tags, assignee_id, updated_at from app.threads where id = ${stored.threadId}`).toEqual(before);
    expect(await runsOf(wf.id)).toHaveLength(0);
    const both = await s.org.json('POST', `/api/workflows/${wf.id}/dry-run`, { as: 'manager', body: {} });
    expect(both.status).toBe(422);
  });
});

describe('runs', () => {
  it('a failed step shows its error; the run is retried from that step, or cancelled', async () => {
    const s = await setup();
    const endpoint = (await s.org.json('POST', '/api/webhook-endpoints', { as: 'manager', body: { url: 'http://127.0.0.1:9/hook' } })).body;
    await s.org.json('PATCH', `/api/webhook-endpoints/${endpoint.id}`, { as: 'manager', body: { enabled: false } });
    const wf = await createWorkflow(s.org, {
      trigger: { type: 'thread.created' },
      steps: [
        { type: 'tags', add: ['before'] },
        { type: 'webhook', endpointId: endpoint.id },
        { type: 'tags', add: ['after'] },
      ],
    });
    const t = (await s.org.json('POST', '/api/threads', { body: { subject: 'Failing' } })).body;
    await runDue(s.org);
    const [run] = await runsOf(wf.id);
    expect(run!.status).toBe('failed');
    expect(run!.error).toContain('disabled');
    const detail = (await s.org.json('GET', `/api/workflow-runs/${run!.id}`)).body;
    expect(detail.steps.find((x: { stepKey: string }) => x.stepKey === '1')).toMatchObject({ status: 'failed', error: { code: 'validation_failed' } });
    expect((await s.org.json('POST', `/api/workflow-runs/${run!.id}/retry`)).status).toBe(403);
    expect((await s.org.json('POST', `/api/workflow-runs/${run!.id}/cancel`, { as: 'manager' })).status).toBe(409);

    await s.org.json('PATCH', `/api/webhook-endpoints/${endpoint.id}`, { as: 'manager', body: { enabled: true } });
    const retried = await s.org.json('POST', `/api/workflow-runs/${run!.id}/retry`, { as: 'manager' });
    expect(retried.status).toBe(200);
    // Run the step jobs only (the delivery to hooks.example is not what this test is about).
    for (let i = 0; i < 5; i++) {
      const due = await db.sql<{ id: string }[]>`select id from app.outbox where org_id = ${s.org.id} and status = 'pending' and name = 'workflow.step'`;
      for (const { id } of due) await runJob(id);
    }
    expect((await runsOf(wf.id))[0]!.status).toBe('completed');
    const [thread] = await db.sql<{ tags: string[] }[]>`select tags from app.threads where id = ${t.id}`;
    expect(thread!.tags).toEqual(['before', 'after']);

    // A waiting run is cancelled: its wait is gone and its timeout does nothing.
    const waiting = await createWorkflow(s.org, {
      trigger: { type: 'note.created' },
      steps: [
        { type: 'wait', for: { minutes: 5 } },
        { type: 'tags', add: ['late'] },
      ],
    });
    await s.org.json('POST', `/api/threads/${t.id}/notes`, { body: { body: 'A note' } });
    clock = new Date(Date.now() - DAY);
    await runDue(s.org);
    const [w] = await runsOf(waiting.id);
    expect(w!.status).toBe('waiting');
    expect((await s.org.json('POST', `/api/workflow-runs/${w!.id}/cancel`, { as: 'manager' })).body.status).toBe('cancelled');
    clock = null;
    await runDue(s.org);
    const [still] = await db.sql<{ tags: string[] }[]>`select tags from app.threads where id = ${t.id}`;
    expect(still!.tags).not.toContain('late');
  });

  it('message.sent and action.overdue start workflows on their thread', async () => {
    const s = await setup();
    clock = monday();
    const sentWf = await createWorkflow(s.org, { trigger: { type: 'message.sent', channels: ['email'] }, steps: [{ type: 'tags', add: ['replied'] }] });
    const overdueWf = await createWorkflow(s.org, {
      trigger: { type: 'action.overdue' },
      steps: [{ type: 'notify', assignee: true, teamId: s.teamId, teamLeads: true, title: 'Action overdue' }],
    });
    const stored = await receive(s, { from: `c-${randomUUID().slice(0, 6)}@shipper.example`, subject: 'Rate query' });
    await runDue(s.org);
    const res = await s.org.json('POST', `/api/threads/${stored.threadId}/messages`, { body: { text: 'Rates attached.' } });
    expect(res.status).toBe(201);
    await runDue(s.org);
    expect((await runsOf(sentWf.id)).map((r) => r.status)).toEqual(['completed']);
    const [thread] = await db.sql<{ tags: string[] }[]>`select tags from app.threads where id = ${stored.threadId}`;
    expect(thread!.tags).toContain('replied');

    const action = await s.org.json('POST', '/api/actions', {
      body: { threadId: stored.threadId, title: 'Send the draft B/L', dueAt: new Date(clock.getTime() + 60 * MIN).toISOString() },
    });
    expect(action.status).toBe(201);
    await runDue(s.org);
    expect(await runsOf(overdueWf.id)).toHaveLength(0);
    clock = new Date(clock.getTime() + 2 * 60 * MIN);
    await runDue(s.org);
    expect((await runsOf(overdueWf.id)).map((r) => r.status)).toEqual(['completed']);
    expect(await db.sql`select 1 from app.notifications where user_id = ${s.org.users.admin.id} and title = 'Action overdue'`).toHaveLength(1);
  });

  it('a shipment milestone starts workflows on the threads linked to the shipment, once each', async () => {
    const s = await setup();
    clock = monday();
    const wf = await createWorkflow(s.org, { trigger: { type: 'shipment.milestone' }, steps: [{ type: 'tags', add: ['vessel-departed'] }] });
    const linked = await receive(s, { from: `c-${randomUUID().slice(0, 6)}@shipper.example`, subject: 'Booking SHP/WF/1' });
    const other = await receive(s, { from: `c-${randomUUID().slice(0, 6)}@shipper.example`, subject: 'Unrelated' });
    await runDue(s.org);
    const shipment = await s.org.json('POST', '/api/shipments', { body: { reference: `WF/${randomUUID().slice(0, 8)}`, mode: 'sea_fcl' } });
    expect(shipment.status).toBe(201);
    expect((await s.org.json('POST', `/api/shipments/${shipment.body.id}/threads`, { body: { threadId: linked.threadId } })).status).toBe(200);
    const milestone = await s.org.json('POST', `/api/shipments/${shipment.body.id}/milestones`, {
      body: { code: 'departed', actualAt: clock.toISOString() },
    });
    expect(milestone.status).toBe(201);
    await runDue(s.org);
    await runDue(s.org);
    expect((await runsOf(wf.id)).map((r) => [r.threadId, r.status])).toEqual([[linked.threadId, 'completed']]);
    const tags = await db.sql<{ id: string; tags: string[] }[]>`select id, tags from app.threads where id in ${db.sql([linked.threadId, other.threadId])}`;
    expect(tags.find((t) => t.id === linked.threadId)!.tags).toContain('vessel-departed');
    expect(tags.find((t) => t.id === other.threadId)!.tags).not.toContain('vessel-departed');
  });

  it('a planned milestone and its actual time later each fire once; a milestone condition and an ETA change start workflows', async () => {
    const s = await setup();
    clock = monday();
    const any = await createWorkflow(s.org, { trigger: { type: 'shipment.milestone' }, steps: [{ type: 'tags', add: ['milestone-seen'] }] });
    const arrived = await createWorkflow(s.org, {
      trigger: { type: 'shipment.milestone' },
      conditions: { field: 'milestone', op: 'is', value: 'arrived' },
      steps: [{ type: 'tags', add: ['arrived'] }],
    });
    const eta = await createWorkflow(s.org, { trigger: { type: 'shipment.eta_changed' }, steps: [{ type: 'tags', add: ['eta-moved'] }] });
    const linked = await receive(s, { from: `c-${randomUUID().slice(0, 6)}@shipper.example`, subject: 'Booking SHP/WF/2' });
    await runDue(s.org);
    const shipment = (await s.org.json('POST', '/api/shipments', { body: { reference: `WF/${randomUUID().slice(0, 8)}`, mode: 'sea_fcl' } })).body;
    await s.org.json('POST', `/api/shipments/${shipment.id}/threads`, { body: { threadId: linked.threadId } });
    const threadRuns = async (id: string) => (await runsOf(id)).filter((r) => r.threadId === linked.threadId).map((r) => r.status);

    // Planned: the milestone fires (and, setting the ETA, the ETA workflow); a departure is not `arrived`.
    const planned = await s.org.json('POST', `/api/shipments/${shipment.id}/milestones`, {
      body: { code: 'arrived', plannedAt: new Date(clock.getTime() + 20 * DAY).toISOString() },
    });
    expect(planned.status).toBe(201);
    await s.org.json('POST', `/api/shipments/${shipment.id}/milestones`, { body: { code: 'departed', actualAt: clock.toISOString() } });
    await runDue(s.org);
    await runDue(s.org);
    expect(await threadRuns(any.id)).toEqual(['completed', 'completed']);
    expect(await threadRuns(arrived.id)).toEqual(['completed']);
    expect(await threadRuns(eta.id)).toEqual(['completed']);

    // The actual time set later fires the milestone once more; editing it again does not.
    await s.org.json('PATCH', `/api/milestones/${planned.body.id}`, { body: { actualAt: new Date(clock.getTime() + 19 * DAY).toISOString() } });
    await runDue(s.org);
    await runDue(s.org);
    await s.org.json('PATCH', `/api/milestones/${planned.body.id}`, { body: { label: 'Arrived at Jebel Ali' } });
    await runDue(s.org);
    expect(await threadRuns(any.id)).toHaveLength(3);
    expect(await threadRuns(arrived.id)).toEqual(['completed', 'completed']);

    // The ETA moved by hand, back and forth: each move is its own event.
    const first = new Date(clock.getTime() + 25 * DAY).toISOString();
    const second = new Date(clock.getTime() + 26 * DAY).toISOString();
    for (const to of [first, second, first]) await s.org.json('PATCH', `/api/shipments/${shipment.id}`, { body: { eta: to } });
    await runDue(s.org);
    await runDue(s.org);
    expect(await threadRuns(eta.id)).toHaveLength(4);
    const [t] = await db.sql<{ tags: string[] }[]>`select tags from app.threads where id = ${linked.threadId}`;
    expect(t!.tags).toEqual(expect.arrayContaining(['milestone-seen', 'arrived', 'eta-moved']));
  });

  it('a wait until a condition holds wakes on the thread event that makes it true; an AI draft is saved, never sent', async () => {
    const s = await setup();
    const wf = await createWorkflow(s.org, {
      trigger: { type: 'thread.created' },
      steps: [
        { type: 'ai_draft', instructions: 'Ask for the shipping instructions' },
        {
          type: 'wait',
          until: new Date(Date.now() + 30 * DAY).toISOString(),
          event: { types: ['thread.updated'], conditions: { field: 'status', op: 'is', value: 'resolved' } },
          onEvent: [{ type: 'tags', add: ['resolved-in-time'] }],
          stopAfterBranch: true,
        },
        { type: 'tags', add: ['never'] },
      ],
    });
    const t = (await s.org.json('POST', '/api/threads', { body: { subject: 'Draft and wait' } })).body;
    await runDue(s.org);
    const drafts = await db.sql<{ status: string; ai: unknown }[]>`
      select status, metadata -> 'ai' as ai from app.messages where thread_id = ${t.id} and direction = 'outbound'`;
    expect(drafts).toEqual([{ status: 'draft', ai: expect.objectContaining({ source: 'offline' }) }]);
    // Another change does not satisfy the condition: still waiting.
    await s.org.json('PATCH', `/api/threads/${t.id}`, { body: { priority: 'high' } });
    await runDue(s.org);
    expect((await runsOf(wf.id))[0]!.status).toBe('waiting');
    await s.org.json('PATCH', `/api/threads/${t.id}`, { body: { status: 'resolved' } });
    await runDue(s.org);
    expect((await runsOf(wf.id))[0]!.status).toBe('completed');
    const [thread] = await db.sql<{ tags: string[] }[]>`select tags from app.threads where id = ${t.id}`;
    expect(thread!.tags).toEqual(['resolved-in-time']);
  });

  it('an AI draft step with a model writes the draft outside the step’s transaction, and falls back offline when the model fails', async () => {
    const s = await setup();
    const usage = {
      inputTokens: { total: 900, noCache: 900, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: 40, text: 40, reasoning: undefined },
    };
    let fail = false;
    const model = new MockLanguageModelV3({
      modelId: 'mock-drafter',
      doGenerate: async () => {
        if (fail) throw new Error('the provider is down');
        return {
          content: [{ type: 'text', text: 'Dear customer,\n\nPlease send the shipping instructions for [booking].\n\nRegards' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage,
          warnings: [],
        };
      },
    });
    useModelForTests({ model, timeoutMs: 5000, modelId: 'mock-drafter', maxRetries: 0 });
    const wf = await createWorkflow(s.org, {
      trigger: { type: 'thread.created' },
      steps: [
        { type: 'ai_draft', instructions: 'Ask for the shipping instructions' },
        { type: 'tags', add: ['drafted'] },
      ],
    });
    const drafts = (threadId: string) =>
      db.sql<{ status: string; text: string; ai: Record<string, unknown> }[]>`
        select status, body_text as text, metadata -> 'ai' as ai from app.messages where thread_id = ${threadId} and direction = 'outbound'`;
    const t = (await s.org.json('POST', '/api/threads', { body: { subject: 'SI for booking 4411' } })).body;
    await runDue(s.org);
    expect(await drafts(t.id)).toEqual([
      {
        status: 'draft',
        text: expect.stringContaining('Please send the shipping instructions'),
        ai: expect.objectContaining({ source: 'model', model: 'mock-drafter' }),
      },
    ]);
    expect(JSON.stringify(model.doGenerateCalls[0]!.prompt)).toContain('Ask for the shipping instructions');
    const [run] = await runsOf(wf.id);
    expect(run!.status).toBe('completed');
    const steps = await db.sql<{ stepKey: string; status: string; output: Record<string, unknown> }[]>`
      select step_key, status, output from app.workflow_run_steps where run_id = ${run!.id} order by started_at, step_key`;
    expect(steps.map((x) => [x.stepKey, x.status])).toEqual([
      ['0', 'succeeded'],
      ['1', 'succeeded'],
    ]);
    expect(steps[0]!.output).toMatchObject({ status: 'draft', source: 'model' });
    // The job delivered again changes nothing (the run moved on).
    const [job] = await db.sql<{ id: string }[]>`select id from app.outbox where org_id = ${s.org.id} and name = 'workflow.ai-draft'`;
    await db.sql`update app.outbox set status = 'pending', run_at = now() where id = ${job!.id}`;
    await runDue(s.org);
    expect(await drafts(t.id)).toHaveLength(1);

    fail = true;
    const u = (await s.org.json('POST', '/api/threads', { body: { subject: 'SI for booking 4412' } })).body;
    await runDue(s.org);
    expect(await drafts(u.id)).toEqual([
      { status: 'draft', text: expect.any(String), ai: expect.objectContaining({ source: 'offline', modelError: 'the provider is down' }) },
    ]);
    expect((await runsOf(wf.id)).map((r) => r.status)).toEqual(['completed', 'completed']);
  });

  it('a schedule fires once per fire time, on the threads it names, even when the cron ticks twice', async () => {
    const s = await setup();
    const wf = await createWorkflow(s.org, {
      trigger: { type: 'schedule', cron: '0 9 * * 1-5', threads: { tags: ['awaiting-si'] } },
      steps: [{ type: 'note', body: 'Chasing the shipping instructions' }],
    });
    const tagged = (await s.org.json('POST', '/api/threads', { body: { subject: 'SI pending', tags: ['awaiting-si'] } })).body;
    await s.org.json('POST', '/api/threads', { body: { subject: 'Other' } });
    const [row] = await db.sql<{ nextFireAt: Date }[]>`select next_fire_at from app.workflows where id = ${wf.id}`;
    // 09:00 in Kolkata is 03:30 UTC.
    expect(row!.nextFireAt.getUTCHours() * 60 + row!.nextFireAt.getUTCMinutes()).toBe(3 * 60 + 30);
    // Two ticks at the fire time: one fire. The job is queued; make the next fire due now to run it here.
    await db.sql`update app.workflows set next_fire_at = now() - interval '1 minute' where id = ${wf.id}`;
    const [first, second] = await Promise.all([fireSchedules(new Date()), fireSchedules(new Date())]);
    expect(first!.fired + second!.fired).toBeGreaterThanOrEqual(1);
    await runDue(s.org);
    const runs = await runsOf(wf.id);
    expect(runs.map((r) => r.threadId)).toEqual([tagged.id]);
    expect(await db.sql`select 1 from app.outbox where org_id = ${s.org.id} and name = 'workflow.schedule'`).toHaveLength(1);
    // The cron route: the cron secret only; the fire time moved on, so a tick now fires nothing of this workflow.
    expect((await call('GET', '/api/cron/workflow-schedules', { token: null })).status).toBe(401);
    const tick = await call('GET', '/api/cron/workflow-schedules', { token: null, headers: { authorization: `Bearer ${config().cronSecret}` } });
    expect(tick.status).toBe(200);
    expect(await db.sql`select 1 from app.outbox where org_id = ${s.org.id} and name = 'workflow.schedule'`).toHaveLength(1);
  });
});

describe('outgoing webhooks', () => {
  let server: Server;
  const received: { headers: Record<string, string>; body: string }[] = [];
  let status = 500;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('signs in the Standard Webhooks format, retries with backoff, logs each delivery, and rotates with overlap', async () => {
    const s = await setup();
    const created = await s.org.json('POST', '/api/webhook-endpoints', { as: 'manager', body: { url: `${base}/hooks/${randomUUID()}` } });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;
    expect(secret.startsWith('whsec_')).toBe(true);
    expect((await s.org.json('GET', `/api/webhook-endpoints/${created.body.id}`, { as: 'manager' })).body.secret).toBeUndefined();
    const wf = await createWorkflow(s.org, {
      trigger: { type: 'thread.created' },
      steps: [{ type: 'webhook', endpointId: created.body.id, event: 'thread.escalated' }],
    });
    const t = (await s.org.json('POST', '/api/threads', { body: { subject: 'Hook me' } })).body;
    status = 500;
    await runDue(s.org);
    const path = new URL(created.body.url).pathname;
    const mine = () => received.filter((r) => r.headers['webhook-id'] && r.body.includes(t.id) && path);
    expect(mine()).toHaveLength(1);
    const [delivery] = await db.sql<
      { id: string; status: string; attempts: number }[]
    >`select id, status, attempts from app.webhook_deliveries where endpoint_id = ${created.body.id}`;
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1 });
    const [job] = await db.sql<{ id: string; runAt: Date; status: string }[]>`
      select id, run_at, status from app.outbox where org_id = ${s.org.id} and name = 'webhook.deliver'`;
    expect(job!.status).toBe('pending');
    expect(job!.runAt.getTime()).toBeGreaterThan(Date.now());

    // The receiver is back; the retry carries the same webhook-id, and verifies with the secret.
    status = 204;
    await db.sql`update app.outbox set run_at = now() where id = ${job!.id}`;
    expect(await runJob(job!.id)).toBe('done');
    const [a, b] = mine();
    expect(b!.headers['webhook-id']).toBe(a!.headers['webhook-id']);
    expect(new Webhook(secret).verify(b!.body, b!.headers)).toMatchObject({
      type: 'thread.escalated',
      data: { threadId: t.id, runId: (await runsOf(wf.id))[0]!.id },
    });
    const log = await s.org.json('GET', `/api/webhook-endpoints/${created.body.id}/deliveries`, { as: 'manager' });
    expect(log.body.data[0]).toMatchObject({ status: 'delivered', attempts: 2, responseStatus: 204 });

    // Rotation: both secrets verify during the overlap.
    const rotated = await s.org.json('POST', `/api/webhook-endpoints/${created.body.id}/rotate`, { as: 'manager' });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(secret);
    const t2 = (await s.org.json('POST', '/api/threads', { body: { subject: 'Hook me again' } })).body;
    await runDue(s.org);
    const last = received.filter((r) => r.body.includes(t2.id)).at(-1)!;
    expect(last.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(secret).verify(last.body, last.headers)).not.toThrow();
    expect(() => new Webhook(rotated.body.secret).verify(last.body, last.headers)).not.toThrow();
  });

  it('refuses private-network URLs when they are not allowed', async () => {
    const s = await setup();
    setConfig(parseConfig({ ...process.env, ALLOW_PRIVATE_NETWORK_HOSTS: 'false' }));
    try {
      const res = await s.org.json('POST', '/api/webhook-endpoints', { as: 'manager', body: { url: 'http://169.254.169.254/latest' } });
      expect(res.status).toBe(422);
      expect(res.body.error.details.issues[0].path).toBe('body.url');
    } finally {
      setConfig(parseConfig({ ...process.env, ALLOW_PRIVATE_NETWORK_HOSTS: 'true' }));
    }
  });
});
