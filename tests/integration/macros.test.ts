// Macros end to end: a macro on 50 threads where one fails (the others keep every step, the failure
// is reported and rolled back alone; a database fault too), the run on each thread's timeline, and who
// may run and share.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { setClock } from '../../lib/time.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

async function freshThreads(n: number, channel = 'email'): Promise<string[]> {
  const rows = await db.sql<{ id: string }[]>`
    insert into app.threads (org_id, subject, channel, counterpart)
    select ${SEED_ORG_ID}, 'Macro ' || g, ${channel}, 'shipper' || g || '@example.com' from generate_series(1, ${n}) g returning id`;
  return rows.map((r) => r.id);
}

describe('macros', () => {
  it('run on 50 threads: one fails alone and is reported, the others get every step, each on its timeline', async () => {
    const tpl = await json('POST', '/api/templates', {
      as: 'manager',
      body: {
        name: `SI reminder ${randomUUID().slice(0, 6)}`,
        channels: ['email'],
        body: 'Please send the SI for {{thread.subject}}.',
        visibility: 'organization',
      },
    });
    expect(tpl.status, JSON.stringify(tpl.body)).toBe(201);
    const macro = await json('POST', '/api/macros', {
      as: 'manager',
      body: {
        name: `Docs desk ${randomUUID().slice(0, 6)}`,
        visibility: 'organization',
        steps: [
          { type: 'tags', add: ['docs'] },
          { type: 'assign', assigneeId: SEED_USERS.agent.id },
          { type: 'priority', priority: 'high' },
          { type: 'note', body: 'Handed to the docs desk' },
          { type: 'action', title: 'Chase the SI', actionType: 'request_document', dueInMinutes: 120 },
          { type: 'reply', templateId: tpl.body.id },
          { type: 'status', status: 'pending' },
        ],
      },
    });
    expect(macro.status, JSON.stringify(macro.body)).toBe(201);
    const threads = await freshThreads(50);
    // The 17th has nobody to reply to: its reply step fails, and its earlier steps roll back with it.
    const failing = threads[16]!;
    await db.sql`update app.threads set counterpart = null where id = ${failing}`;

    const run = await json('POST', `/api/macros/${macro.body.id}/run`, { as: 'agent', body: { threadIds: threads } });
    expect(run.status, JSON.stringify(run.body).slice(0, 2000)).toBe(200);
    expect(run.body).toMatchObject({ macroId: macro.body.id, runBy: SEED_USERS.agent.id, succeeded: 49, failed: 1 });
    expect(run.body.results.map((r: { threadId: string }) => r.threadId)).toEqual(threads);
    const failed = run.body.results[16];
    expect(failed).toMatchObject({ threadId: failing, status: 'failed', steps: [], error: { step: 5, type: 'reply', code: 'validation_failed' } });
    expect(failed.error.details.issues[0].path).toBe('body.to');
    const ok = run.body.results[0];
    expect(ok.status).toBe('succeeded');
    expect(ok.steps.map((s: { type: string }) => s.type)).toEqual(['tags', 'assign', 'priority', 'note', 'action', 'reply', 'status']);

    const rows = await db.sql<{ id: string; tags: string[]; assigneeId: string | null; priority: string; status: string }[]>`
      select id, tags, assignee_id, priority, status from app.threads where id = any(${threads}::uuid[])`;
    for (const t of rows) {
      if (t.id === failing) expect(t, 'the failing thread is untouched').toMatchObject({ tags: [], assigneeId: null, priority: 'normal', status: 'open' });
      else expect(t).toMatchObject({ tags: ['docs'], assigneeId: SEED_USERS.agent.id, priority: 'high', status: 'pending' });
    }
    const [counts] = await db.sql<{ notes: number; actions: number; replies: number; jobs: number }[]>`
      select (select count(*)::int from app.notes where thread_id = any(${threads}::uuid[])) as notes,
        (select count(*)::int from app.actions where thread_id = any(${threads}::uuid[]) and due_at > now() + interval '100 minutes') as actions,
        (select count(*)::int from app.messages where thread_id = any(${threads}::uuid[]) and status = 'queued' and body_text like 'Please send the SI for Macro %') as replies,
        (select count(*)::int from app.outbox where name = 'email.send' and payload->>'messageId' in (select id::text from app.messages where thread_id = any(${threads}::uuid[]))) as jobs`;
    expect(counts).toEqual({ notes: 49, actions: 49, replies: 49, jobs: 49 });

    // Recorded on each thread's timeline: who ran what, when, and what happened there.
    const timeline = await json('GET', `/api/threads/${threads[0]}/macro-runs`, { as: 'viewer' });
    expect(timeline.status).toBe(200);
    expect(timeline.body.data).toEqual([
      expect.objectContaining({
        runId: run.body.runId,
        macroName: macro.body.name,
        runBy: SEED_USERS.agent.id,
        runByName: SEED_USERS.agent.name,
        status: 'succeeded',
      }),
    ]);
    const failedTimeline = await json('GET', `/api/threads/${failing}/macro-runs`, { as: 'agent' });
    expect(failedTimeline.body.data[0]).toMatchObject({ status: 'failed', error: { step: 5, type: 'reply' } });
    const audits = await db.sql`select 1 from app.audit_log where action = 'macro.run' and entity_id = any(${threads}::uuid[])`;
    expect(audits).toHaveLength(50);
    const [usage] = await db.sql<{ usageCount: number }[]>`select usage_count from app.macros where id = ${macro.body.id}`;
    expect(usage!.usageCount).toBe(1);
    // 350 steps through the routes' own functions: minutes on a busy two-core machine's embedded PGlite.
  }, 240_000);

  it('a viewer cannot run one; a thread of another organization is a failure of its own; threadIds are checked', async () => {
    const macro = await json('POST', '/api/macros', {
      as: 'agent',
      body: { name: `Mine ${randomUUID().slice(0, 6)}`, steps: [{ type: 'priority', priority: 'urgent' }] },
    });
    expect(macro.status, JSON.stringify(macro.body)).toBe(201);
    expect(macro.body.visibility).toBe('personal');
    const [thread] = await freshThreads(1);
    const viewer = await json('POST', `/api/macros/${macro.body.id}/run`, { as: 'viewer', body: { threadIds: [thread] } });
    expect(viewer.status).toBe(403);
    // Another member does not see the agent's personal macro.
    expect((await json('POST', `/api/macros/${macro.body.id}/run`, { as: 'manager', body: { threadIds: [thread] } })).status).toBe(404);
    const stranger = randomUUID();
    const run = await json('POST', `/api/macros/${macro.body.id}/run`, { as: 'agent', body: { threadIds: [thread, stranger] } });
    expect(run.status).toBe(200);
    expect(run.body.results.map((r: { status: string }) => r.status)).toEqual(['succeeded', 'failed']);
    expect(run.body.results[1].error).toMatchObject({ step: null, code: 'not_found' });
    const [t] = await db.sql<{ priority: string }[]>`select priority from app.threads where id = ${thread}`;
    expect(t!.priority).toBe('urgent');
    // An API key is nobody to run it as.
    const key = await json('POST', '/api/api-keys', { as: 'admin', body: { name: `Macro key ${randomUUID().slice(0, 6)}`, role: 'agent' } });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    const byKey = await json('POST', `/api/macros/${macro.body.id}/run`, { token: key.body.key, body: { threadIds: [thread] } });
    expect(byKey.status).toBe(403);
    expect(byKey.body.error.message).toMatch(/run as a member/);
    // An Idempotency-Key replays the run's answer instead of running it again.
    const idem = { 'idempotency-key': randomUUID() };
    const first = await json('POST', `/api/macros/${macro.body.id}/run`, { as: 'agent', body: { threadIds: [thread] }, headers: idem });
    const again = await json('POST', `/api/macros/${macro.body.id}/run`, { as: 'agent', body: { threadIds: [thread] }, headers: idem });
    expect(first.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.runId).toBe(first.body.runId);
    const [runs] = await db.sql<{ n: number }[]>`select count(*)::int as n from app.macro_run_threads where thread_id = ${thread!}`;
    expect(runs!.n).toBe(2);
    const tooMany = await json('POST', `/api/macros/${macro.body.id}/run`, {
      as: 'agent',
      body: { threadIds: Array.from({ length: 101 }, () => randomUUID()) },
    });
    expect(tooMany.body.error.details.issues[0].path).toBe('body.threadIds');
    const twice = await json('POST', `/api/macros/${macro.body.id}/run`, { as: 'agent', body: { threadIds: [thread, thread] } });
    expect(twice.body.error.details.issues[0].path).toBe('body.threadIds.1');
  });

  it('a thread that meets an unexpected database fault fails alone, reported without its internals; the others are kept', async () => {
    const threads = await freshThreads(3);
    const broken = threads[1]!;
    // A fault of the database itself (no rule a route reports) on one thread's note.
    await db.sql.unsafe(`
      create function app.test_macro_fault() returns trigger language plpgsql as $$
      begin
        if new.thread_id = '${broken}' then raise exception 'disk on fire' using errcode = 'XX000'; end if;
        return new;
      end $$`);
    await db.sql.unsafe('create trigger test_macro_fault before insert on app.notes for each row execute function app.test_macro_fault()');
    try {
      const macro = await json('POST', '/api/macros', {
        as: 'agent',
        body: {
          name: `Fault ${randomUUID().slice(0, 6)}`,
          steps: [
            { type: 'priority', priority: 'high' },
            { type: 'note', body: 'Checked by the desk' },
          ],
        },
      });
      expect(macro.status, JSON.stringify(macro.body)).toBe(201);
      const run = await json('POST', `/api/macros/${macro.body.id}/run`, { as: 'agent', body: { threadIds: threads } });
      expect(run.status, JSON.stringify(run.body)).toBe(200);
      expect(run.body).toMatchObject({ succeeded: 2, failed: 1 });
      expect(run.body.results.map((r: { status: string }) => r.status)).toEqual(['succeeded', 'failed', 'succeeded']);
      expect(run.body.results[1].error).toMatchObject({ step: 1, type: 'note', code: 'internal' });
      expect(JSON.stringify(run.body.results[1].error)).not.toContain('disk on fire');
      const rows = await db.sql<{ id: string; priority: string; notes: number }[]>`
        select t.id, t.priority, (select count(*)::int from app.notes n where n.thread_id = t.id) as notes from app.threads t where t.id = any(${threads}::uuid[])`;
      for (const t of rows) {
        expect(t, t.id === broken ? 'rolled back' : 'kept').toMatchObject(t.id === broken ? { priority: 'normal', notes: 0 } : { priority: 'high', notes: 1 });
      }
      const [recorded] = await db.sql<{ succeeded: number; failed: number }[]>`select succeeded, failed from app.macro_runs where id = ${run.body.runId}`;
      expect(recorded).toEqual({ succeeded: 2, failed: 1 });
      const timeline = await json('GET', `/api/threads/${broken}/macro-runs`, { as: 'agent' });
      expect(timeline.body.data[0]).toMatchObject({ runId: run.body.runId, status: 'failed', error: { step: 1, code: 'internal' } });
      const audits = await db.sql`select 1 from app.audit_log where action = 'macro.run' and entity_id = any(${threads}::uuid[])`;
      expect(audits).toHaveLength(3);
    } finally {
      await db.sql.unsafe('drop trigger test_macro_fault on app.notes');
      await db.sql.unsafe('drop function app.test_macro_fault()');
    }
  });

  it('links threads to a shipment by hand, undoing a rejected link; an unknown shipment is refused when saved', async () => {
    const shipment = await json('POST', '/api/shipments', { as: 'agent', body: { reference: `MAC/${randomUUID().slice(0, 8)}`, mode: 'air' } });
    expect(shipment.status, JSON.stringify(shipment.body)).toBe(201);
    const [a, b] = await freshThreads(2);
    await db.sql`
      insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source) values (${SEED_ORG_ID}, ${b}, ${shipment.body.id}, 'rejected')`;
    const unknown = await json('POST', '/api/macros', {
      as: 'agent',
      body: { name: `Link ${randomUUID().slice(0, 6)}`, steps: [{ type: 'shipment', shipmentId: randomUUID() }] },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details.issues[0].path).toBe('body.steps.0.shipmentId');
    const macro = await json('POST', '/api/macros', {
      as: 'agent',
      body: { name: `Link ${randomUUID().slice(0, 6)}`, steps: [{ type: 'shipment', shipmentId: shipment.body.id }] },
    });
    expect(macro.status, JSON.stringify(macro.body)).toBe(201);
    const run = await json('POST', `/api/macros/${macro.body.id}/run`, { as: 'agent', body: { threadIds: [a, b] } });
    expect(run.status).toBe(200);
    expect(run.body.results.map((r: { steps: unknown[] }) => r.steps)).toEqual([
      [{ type: 'shipment', shipmentId: shipment.body.id, linkSource: 'manual' }],
      [{ type: 'shipment', shipmentId: shipment.body.id, linkSource: 'manual' }],
    ]);
    const links = await db.sql<{ threadId: string; linkSource: string }[]>`
      select thread_id, link_source from app.thread_shipments where shipment_id = ${shipment.body.id} order by thread_id`;
    expect(links).toEqual([a!, b!].sort().map((threadId) => ({ threadId, linkSource: 'manual' })));
  });

  it('a reply step fills the template’s own variables (checked when saved); snooze, assign to a team, remove tags', async () => {
    const tpl = await json('POST', '/api/templates', {
      as: 'agent',
      body: { name: `ETA ${randomUUID().slice(0, 6)}`, channels: ['email'], body: 'ETA {{eta}} for {{thread.subject}}.', variables: [{ name: 'eta' }] },
    });
    expect(tpl.status, JSON.stringify(tpl.body)).toBe(201);
    const save = (steps: unknown[]) => json('POST', '/api/macros', { as: 'agent', body: { name: `ETA ${randomUUID().slice(0, 6)}`, steps } });
    const lacking = await save([
      { type: 'note', body: 'x' },
      { type: 'reply', templateId: tpl.body.id },
    ]);
    expect(lacking.status).toBe(422);
    expect(lacking.body.error.details.issues).toEqual([{ path: 'body.steps.1.variables.eta', message: 'is a variable of the template: give its value' }]);
    const stranger = await save([{ type: 'reply', templateId: tpl.body.id, variables: { eta: '12 Dec', vessel: 'x' } }]);
    expect(stranger.body.error.details.issues[0].path).toBe('body.steps.0.variables.vessel');

    const [team] = await db.sql<{ id: string }[]>`
      insert into app.teams (org_id, name) values (${SEED_ORG_ID}, ${`Docs ${randomUUID().slice(0, 6)}`}) returning id`;
    const macro = await save([
      { type: 'tags', remove: ['stale'] },
      { type: 'assign', teamId: team!.id },
      { type: 'reply', templateId: tpl.body.id, variables: { eta: '12 Dec' } },
      { type: 'snooze', minutes: 90 },
    ]);
    expect(macro.status, JSON.stringify(macro.body)).toBe(201);
    const [thread] = await freshThreads(1);
    await db.sql`update app.threads set tags = '{stale,keep}' where id = ${thread!}`;
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    setClock(at);
    try {
      const run = await json('POST', `/api/macros/${macro.body.id}/run`, { as: 'agent', body: { threadIds: [thread] } });
      expect(run.status, JSON.stringify(run.body)).toBe(200);
      expect(run.body.results[0]).toMatchObject({ status: 'succeeded' });
    } finally {
      setClock(undefined);
    }
    const [t] = await db.sql<{ tags: string[]; teamId: string | null; status: string; snoozedUntil: Date }[]>`
      select tags, team_id, status, snoozed_until from app.threads where id = ${thread!}`;
    expect(t).toMatchObject({ tags: ['keep'], teamId: team!.id, status: 'snoozed' });
    expect(t!.snoozedUntil.getTime()).toBe(at.getTime() + 90 * 60_000);
    const [message] = await db.sql<{ status: string; bodyText: string }[]>`
      select status, body_text from app.messages where thread_id = ${thread!} and direction = 'outbound'`;
    expect(message).toEqual({ status: 'queued', bodyText: 'ETA 12 Dec for Macro 1.' });
  });

  it('sharing needs templates.manage; steps are checked when saved', async () => {
    expect(
      (await json('POST', '/api/macros', { as: 'agent', body: { name: 'x', visibility: 'organization', steps: [{ type: 'status', status: 'open' }] } })).status,
    ).toBe(403);
    expect((await json('POST', '/api/macros', { as: 'viewer', body: { name: 'x', steps: [{ type: 'status', status: 'open' }] } })).status).toBe(403);
    const badMember = await json('POST', '/api/macros', {
      as: 'agent',
      body: { name: `b ${randomUUID()}`, steps: [{ type: 'assign', assigneeId: randomUUID() }] },
    });
    expect(badMember.body.error.details.issues[0].path).toBe('body.steps.0.assigneeId');
    const badTemplate = await json('POST', '/api/macros', {
      as: 'agent',
      body: { name: `b ${randomUUID()}`, steps: [{ type: 'reply', templateId: randomUUID() }] },
    });
    expect(badTemplate.body.error.details.issues[0].path).toBe('body.steps.0.templateId');
    const badStep = await json('POST', '/api/macros', { as: 'agent', body: { name: `b ${randomUUID()}`, steps: [{ type: 'delete_everything' }] } });
    expect(badStep.status).toBe(422);
    const listed = await json('GET', '/api/macros?limit=100', { as: 'viewer' });
    expect(listed.status).toBe(200);
  });
});
