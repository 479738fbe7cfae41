// GET /api/threads/counts: the sidebar's counts, kept as counters by triggers (migration
// 20261205004100). Each count must equal the length of the list its sidebar entry opens, after every
// kind of change that moves a thread between buckets: create, assign, status, team, a new message,
// read and unread, a member or team removed, a thread deleted.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import type { Role } from '../../lib/http/permissions.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

interface Counts {
  open: number;
  mine: number;
  unassigned: number;
  unread: number;
  teams: { id: string; name: string; open: number }[];
  statuses: Record<string, number>;
  sla: { atRisk: number; breached: number; atRiskMinutes: number };
}

async function counts(org: TestOrg, as: Role = 'agent'): Promise<Counts> {
  const res = await org.json<Counts>('GET', '/api/threads/counts', { as });
  expect(res.status).toBe(200);
  return res.body;
}

/** How many threads a list view holds, every page. */
async function listed(org: TestOrg, query: string, as: Role = 'agent'): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const res: { status: number; body: { data: unknown[]; nextCursor: string | null } } = await org.json(
      'GET',
      `/api/threads?limit=100&${query}${cursor ? `&cursor=${cursor}` : ''}`,
      { as },
    );
    expect(res.status).toBe(200);
    n += res.body.data.length;
    cursor = res.body.nextCursor;
    if (!cursor) return n;
  }
  throw new Error('more than 20 pages');
}

/** Every count against the list its sidebar entry opens. */
async function expectConsistent(org: TestOrg, as: Role = 'agent'): Promise<Counts> {
  const c = await counts(org, as);
  expect(c.open).toBe(await listed(org, 'status=open', as));
  expect(c.mine).toBe(await listed(org, 'status=open&assignee=me', as));
  expect(c.unassigned).toBe(await listed(org, 'status=open&assignee=none', as));
  expect(c.unread).toBe(await listed(org, 'status=open&unread=true', as));
  for (const team of c.teams) expect(team.open).toBe(await listed(org, `status=open&team=${team.id}`, as));
  for (const [status, n] of Object.entries(c.statuses)) expect(n).toBe(await listed(org, `status=${status}`, as));
  return c;
}

async function team(org: TestOrg, name: string, members: Role[]): Promise<string> {
  const [t] = await db.sql<{ id: string }[]>`insert into app.teams (org_id, name) values (${org.id}, ${name}) returning id`;
  for (const role of members) await db.sql`insert into app.team_members (org_id, team_id, user_id) values (${org.id}, ${t!.id}, ${org.users[role].id})`;
  return t!.id;
}

async function newThread(org: TestOrg, body: Record<string, unknown> = {}): Promise<string> {
  const res = await org.json('POST', '/api/threads', { body: { subject: `Counts ${randomUUID().slice(0, 8)}`, ...body } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** A customer's message arrives on the thread (the roll-up columns the listing's unread flag reads). */
async function messageArrives(threadId: string) {
  await db.sql`update app.threads set last_message_at = clock_timestamp(), last_inbound_at = clock_timestamp(), message_count = message_count + 1 where id = ${threadId}`;
}

describe('GET /api/threads/counts', () => {
  it('leaves spam out of open, mine, unassigned, unread and the team, counting it under statuses.spam until it is back', async () => {
    const org = await newOrganization(db.sql);
    const desk = await team(org, 'Spam desk', ['agent']);
    const mine = await newThread(org, { assigneeId: org.users.agent.id, teamId: desk, counterpart: 'offers@spam-counts.example' });
    const other = await newThread(org, { counterpart: 'karthik@counts.example' });
    for (const id of [mine, other]) await messageArrives(id);
    expect(await expectConsistent(org)).toMatchObject({ open: 2, mine: 1, unassigned: 1, unread: 2, teams: [{ open: 1 }] });
    expect((await org.json('POST', `/api/threads/${mine}/spam`)).status).toBe(200);
    expect(await expectConsistent(org)).toMatchObject({ open: 1, mine: 0, unassigned: 1, unread: 1, teams: [{ open: 0 }], statuses: { open: 1, spam: 1 } });
    expect((await org.json('POST', `/api/threads/${mine}/not-spam`)).status).toBe(200);
    expect(await expectConsistent(org)).toMatchObject({ open: 2, mine: 1, unread: 2, teams: [{ open: 1 }], statuses: { spam: 0 } });
  });

  it('answers the sidebar in one request, each count equal to the list it opens, through every change', async () => {
    const org = await newOrganization(db.sql);
    const empty = await counts(org);
    expect(empty).toEqual({
      open: 0,
      mine: 0,
      unassigned: 0,
      unread: 0,
      teams: [],
      statuses: { open: 0, pending: 0, snoozed: 0, resolved: 0, closed: 0, spam: 0, bulk: 0 },
      sla: { atRisk: 0, breached: 0, atRiskMinutes: 60 },
    });

    const exportDesk = await team(org, 'Export desk', ['agent', 'manager']);
    const importDesk = await team(org, 'Import desk', ['manager']);
    const me = org.users.agent.id;
    const a = await newThread(org, { assigneeId: me, teamId: exportDesk });
    const b = await newThread(org, { assigneeId: me });
    const c = await newThread(org, { teamId: exportDesk });
    const d = await newThread(org, { assigneeId: org.users.manager.id, teamId: importDesk });
    const e = await newThread(org);
    for (const id of [a, b, c, d]) await messageArrives(id);

    let now = await expectConsistent(org);
    expect(now).toMatchObject({ open: 5, mine: 2, unassigned: 2, unread: 4 });
    // Only the caller's own teams, by name; the manager sees both.
    expect(now.teams).toEqual([{ id: exportDesk, name: 'Export desk', open: 2 }]);
    expect((await expectConsistent(org, 'manager')).teams.map((t) => t.open)).toEqual([2, 1]);

    // Reading and unreading is per member; a new message makes a read thread unread again.
    expect((await org.call('PUT', `/api/threads/${a}/read`)).status).toBe(200);
    expect((await org.call('PUT', `/api/threads/${b}/read`)).status).toBe(200);
    expect((await org.call('PUT', `/api/threads/${e}/read`)).status).toBe(200);
    expect((await expectConsistent(org)).unread).toBe(2);
    expect((await expectConsistent(org, 'manager')).unread).toBe(4);
    await messageArrives(a);
    expect((await expectConsistent(org)).unread).toBe(3);
    expect((await org.call('DELETE', `/api/threads/${b}/read`)).status).toBe(200);
    expect((await expectConsistent(org)).unread).toBe(4);
    expect((await org.call('PUT', `/api/threads/${b}/read`)).status).toBe(200);

    // Assignment, team and status changes move threads between buckets.
    expect((await org.json('POST', `/api/threads/${c}/assign`, { body: { assigneeId: me } })).status).toBe(200);
    expect((await org.json('PATCH', `/api/threads/${d}`, { body: { teamId: exportDesk } })).status).toBe(200);
    expect((await org.json('PATCH', `/api/threads/${b}`, { body: { status: 'resolved' } })).status).toBe(200);
    expect((await org.json('PATCH', `/api/threads/${e}`, { body: { status: 'pending' } })).status).toBe(200);
    const later = new Date(Date.now() + 86_400_000).toISOString();
    expect((await org.json('PATCH', `/api/threads/${a}`, { body: { status: 'snoozed', snoozedUntil: later } })).status).toBe(200);
    now = await expectConsistent(org);
    expect(now).toMatchObject({ open: 2, mine: 1, unassigned: 0, statuses: { open: 2, pending: 1, snoozed: 1, resolved: 1, closed: 0 } });
    expect(now.teams).toEqual([{ id: exportDesk, name: 'Export desk', open: 2 }]);
    // Reopened, the thread read before its snooze counts as read again.
    expect((await org.json('PATCH', `/api/threads/${a}`, { body: { status: 'open' } })).status).toBe(200);
    expect((await org.call('PUT', `/api/threads/${a}/read`)).status).toBe(200);
    now = await expectConsistent(org);
    expect(now).toMatchObject({ open: 3, mine: 2 });

    // A removed team leaves its threads teamless; a removed member's threads become unassigned.
    await db.sql`delete from app.teams where id = ${importDesk}`;
    await db.sql`delete from app.members where org_id = ${org.id} and user_id = ${org.users.manager.id}`;
    now = await expectConsistent(org);
    expect(now.unassigned).toBe(1);

    // A deleted thread leaves every count, the reader's caught-up one included.
    await db.sql`delete from app.threads where id = ${a}`;
    now = await expectConsistent(org);
    expect(now).toMatchObject({ open: 2, mine: 1 });
    expect(now.unread).toBe(await listed(org, 'status=open&unread=true'));

    // A thread merged into another is closed but listed nowhere, so no count has it.
    const [x, y] = [await newThread(org), await newThread(org)];
    expect((await org.json('POST', `/api/threads/${x}/merge`, { body: { into: y } })).status).toBe(200);
    now = await expectConsistent(org);
    expect(now).toMatchObject({ open: 3, statuses: { closed: 0 } });
  });

  it('counts SLA clocks of open threads at risk (due within the hour or overdue) and breached', async () => {
    const org = await newOrganization(db.sql);
    const soon = await newThread(org);
    const later = await newThread(org);
    const breached = await newThread(org);
    const resolved = await newThread(org);
    await db.sql`update app.threads set first_response_due_at = now() + interval '20 minutes' where id = ${soon}`;
    await db.sql`update app.threads set first_response_due_at = now() + interval '3 hours', next_response_due_at = now() - interval '5 minutes' where id = ${later}`;
    await db.sql`update app.threads set first_response_due_at = now() - interval '2 hours', sla_breached_at = now() - interval '2 hours' where id = ${breached}`;
    await db.sql`update app.threads set first_response_due_at = now() + interval '10 minutes', status = 'resolved', resolved_at = now() where id = ${resolved}`;
    expect((await counts(org)).sla).toEqual({ atRisk: 2, breached: 1, atRiskMinutes: 60 });
  });

  it('is read by every role, viewers included, and never shows another organization', async () => {
    const org = await newOrganization(db.sql);
    const other = await newOrganization(db.sql);
    await newThread(other, { assigneeId: other.users.agent.id });
    for (const role of ['owner', 'admin', 'manager', 'agent', 'viewer'] as const) {
      const res = await org.json<Counts>('GET', '/api/threads/counts', { as: role });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ open: 0, mine: 0, unassigned: 0, unread: 0 });
    }
    expect(await counts(other)).toMatchObject({ open: 1, mine: 1, unread: 0 });
  });

  it('is routed before /api/threads/{id} (a static segment wins over the dynamic one)', async () => {
    const { router } = await import('../helpers/api.js');
    const routes = router.routes.map((r) => r.pattern);
    expect(routes.indexOf('/api/threads/counts')).toBeGreaterThanOrEqual(0);
    expect(routes.indexOf('/api/threads/counts')).toBeLessThan(routes.indexOf('/api/threads/[id]'));
  });
});
