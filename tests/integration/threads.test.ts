import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { actAsMember } from '../../lib/http/route.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const ids = (res: { body: { data: { id: string }[] } }) => res.body.data.map((t) => t.id);

describe('threads', () => {
  it('lists the seeded inbox by last activity, only for the caller organization', async () => {
    const res = await json('GET', '/api/threads?limit=100');
    expect(res.status).toBe(200);
    expect(res.body.data.length).toBe(10);
    const times = res.body.data.map((t: any) => Date.parse(t.lastActivityAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(res.body.data.every((t: any) => t.subject !== 'Machine parts to Chennai - quote')).toBe(true);
    expect(res.body.nextCursor).toBeNull();
  });

  it('filters by status, channel, assignee, team, customer, shipment, priority, tag, unread and subject', async () => {
    const q = (s: string) => json('GET', `/api/threads?limit=100&${s}`);
    expect((await q('status=open')).body.data.every((t: any) => t.status === 'open')).toBe(true);
    expect((await q('status=resolved,closed')).body.data.map((t: any) => t.status).sort()).toEqual(['closed', 'resolved']);
    expect((await q('channel=whatsapp')).body.data.map((t: any) => t.subject)).toEqual(['Truck placement at Bhiwandi tomorrow 7 AM']);
    expect((await q('assignee=me')).body.data.every((t: any) => t.assigneeId === SEED_USERS.agent.id)).toBe(true);
    expect((await q('assignee=none')).body.data.every((t: any) => t.assigneeId === null)).toBe(true);
    expect((await q('team=0c000000-0000-4000-8000-000000000001')).body.data).toHaveLength(2);
    expect((await q('customer=0d000000-0000-4000-8000-000000000001')).body.data).toHaveLength(3);
    expect((await q('shipment=0f000000-0000-4000-8000-000000000003')).body.data).toHaveLength(2);
    expect((await q('priority=urgent')).body.data.map((t: any) => t.subject)).toEqual(['Bill of entry query - HLXU3002457']);
    const twoPriorities = (await q('priority=urgent,high')).body.data.map((t: any) => t.priority);
    expect(new Set(twoPriorities)).toEqual(new Set(['urgent', 'high']));
    expect((await q('tag=complaint')).body.data).toHaveLength(1);
    expect((await q('q=HAMBURG')).body.data.map((t: any) => t.subject)).toEqual(['Booking confirmation for 2x40HC Nhava Sheva to Hamburg']);
    const unread = await q('unread=true');
    expect(unread.body.data.every((t: any) => t.unread === true)).toBe(true);
    expect(unread.body.data.map((t: any) => t.id)).not.toContain('10000000-0000-4000-8000-000000000005');
    const bad = await q('status=archived&assignee=someone');
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: any) => i.path).sort()).toEqual(['query.assignee', 'query.status.0']);
  });

  it('reads one thread with its customer, contact and linked shipments', async () => {
    const [linked] = (await json('GET', '/api/threads?shipment=0f000000-0000-4000-8000-000000000003')).body.data;
    const read = await json('GET', `/api/threads/${linked.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: linked.id, subject: linked.subject, unread: linked.unread });
    if (linked.customerId) expect(Object.keys(read.body.customer).sort()).toEqual(['id', 'kind', 'name', 'tier']);
    if (linked.contactId) expect(read.body.contact).toMatchObject({ id: linked.contactId });
    expect(read.body.shipments).toContainEqual(expect.objectContaining({
      id: '0f000000-0000-4000-8000-000000000003', linkSource: expect.any(String), reference: expect.any(String),
    }));
    expect((await json('GET', '/api/threads/10000000-0000-4000-8000-0000000000ff')).status).toBe(404);
  });

  it('plans the inbox list for each request\'s values, for that transaction only (with prepared statements)', async () => {
    // A cached generic plan cannot see how selective a filter is: for tag=booking&priority=high it
    // read every high-priority thread and sorted them (see bench/api.ts, the plan check).
    const { GET } = await import('../../api/threads/index.js');
    expect(GET.meta.customPlans).toBe(true);
    const modes = await db.sql.begin(async (tx) => {
      await actAsMember(tx, { userId: SEED_USERS.agent.id }, null, true);
      const [inside] = await tx<{ mode: string }[]>`select current_setting('plan_cache_mode') as mode`;
      return inside!.mode;
    });
    expect(modes).toBe('force_custom_plan');
    const [after] = await db.sql<{ mode: string }[]>`select current_setting('plan_cache_mode') as mode`;
    expect(after!.mode).toBe('auto');
  });

  it('pages through threads with a cursor', async () => {
    const first = await json('GET', '/api/threads?limit=4');
    const second = await json('GET', `/api/threads?limit=4&cursor=${first.body.nextCursor}`);
    const third = await json('GET', `/api/threads?limit=4&cursor=${second.body.nextCursor}`);
    const all = await json('GET', '/api/threads?limit=12');
    expect([...ids(first), ...ids(second), ...ids(third)]).toEqual(ids(all));
    expect(third.body.nextCursor).toBeNull();
  });

  it('creates a thread, reads it with customer and shipments, and edits it', async () => {
    const since = await broadcastsSince(db.sql);
    const created = await json('POST', '/api/threads', {
      body: { subject: 'LCL rates Chennai to Jebel Ali', customerId: '0d000000-0000-4000-8000-000000000001', priority: 'high', tags: ['Quote'] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'open', priority: 'high', tags: ['quote'], channel: 'email', createdBy: SEED_USERS.agent.id });
    const id = created.body.id;
    const read = await json('GET', `/api/threads/${id}`);
    expect(read.body.customer).toMatchObject({ name: 'Tata Textiles Exports Pvt Ltd', kind: 'shipper' });
    expect(read.body.shipments).toEqual([]);
    const edited = await json('PATCH', `/api/threads/${id}`, { body: { priority: 'urgent', status: 'pending', tags: ['quote', 'lcl'] } });
    expect(edited.body).toMatchObject({ priority: 'urgent', status: 'pending', tags: ['quote', 'lcl'] });
    const resolved = await json('PATCH', `/api/threads/${id}`, { body: { status: 'resolved' } });
    expect(resolved.body.resolvedAt).not.toBeNull();
    const events = await since();
    expect(events.map((e) => `${e.topic} ${e.event}`)).toEqual([
      `org:${SEED_ORG_ID} thread.created`,
      `org:${SEED_ORG_ID}:thread:${id} thread.created`,
      `org:${SEED_ORG_ID} thread.updated`,
      `org:${SEED_ORG_ID}:thread:${id} thread.updated`,
      `org:${SEED_ORG_ID} thread.updated`,
      `org:${SEED_ORG_ID}:thread:${id} thread.updated`,
    ]);
    const viewer = await json('PATCH', `/api/threads/${id}`, { as: 'viewer', body: { priority: 'low' } });
    expect(viewer.status).toBe(403);
    const foreign = await json('POST', '/api/threads', { body: { subject: 'x', customerId: '0d000000-0000-4000-8000-000000000099' } });
    expect(foreign.status).toBe(422);
  });

  it('snoozes until a time, and a job reopens it then and not before', async () => {
    const id = '10000000-0000-4000-8000-000000000004';
    const until = new Date(Date.now() + 60_000).toISOString();
    const snoozed = await json('PATCH', `/api/threads/${id}`, { body: { status: 'snoozed', snoozedUntil: until } });
    expect(snoozed.status).toBe(200);
    expect(snoozed.body.status).toBe('snoozed');
    expect(new Date(snoozed.body.snoozedUntil).toISOString()).toBe(until);
    expect(await drainJobs()).toEqual([]);
    expect((await json('GET', `/api/threads/${id}`)).body.status).toBe('snoozed');
    // Time passes: move the job and the snooze into the past as if the clock had advanced.
    await db.sql`update app.outbox set run_at = now() - interval '1 second' where name = 'thread.unsnooze'`;
    expect(await drainJobs()).toEqual(['done']);
    const reopened = await json('GET', `/api/threads/${id}`);
    expect(reopened.body).toMatchObject({ status: 'open', snoozedUntil: null });
    const noUntil = await json('PATCH', `/api/threads/${id}`, { body: { status: 'snoozed' } });
    expect(noUntil.status).toBe(422);
    expect(noUntil.body.error.details.issues[0].path).toBe('body.snoozedUntil');
    const past = await json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: '2020-01-01T00:00:00Z' } });
    expect(past.status).toBe(422);
  });

  it('ignores a stale unsnooze job when the thread was reopened or snoozed again', async () => {
    const id = '10000000-0000-4000-8000-000000000007';
    await json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: new Date(Date.now() + 3_600_000).toISOString() } });
    const later = new Date(Date.now() + 7_200_000).toISOString();
    await json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: later } });
    await db.sql`update app.outbox set run_at = now() - interval '1 second' where name = 'thread.unsnooze' and status = 'pending'`;
    expect(await drainJobs()).toEqual(['done', 'done']);
    const t = await json('GET', `/api/threads/${id}`);
    expect(t.body.status).toBe('open');
  });

  it('assigns and unassigns, notifying the assignee on their user topic', async () => {
    const id = '10000000-0000-4000-8000-000000000004';
    const since = await broadcastsSince(db.sql);
    const assigned = await json('POST', `/api/threads/${id}/assign`, { as: 'manager', body: { assigneeId: SEED_USERS.agent.id, teamId: '0c000000-0000-4000-8000-000000000001' } });
    expect(assigned.status).toBe(200);
    expect(assigned.body).toMatchObject({ assigneeId: SEED_USERS.agent.id, teamId: '0c000000-0000-4000-8000-000000000001' });
    const events = await since();
    expect(events.map((e) => `${e.topic} ${e.event}`)).toEqual([
      `user:${SEED_USERS.agent.id} notification.created`,
      `org:${SEED_ORG_ID} thread.assigned`,
      `org:${SEED_ORG_ID}:thread:${id} thread.assigned`,
    ]);
    const [n] = await db.sql`select type, thread_id from app.notifications where user_id = ${SEED_USERS.agent.id} and thread_id = ${id}`;
    expect(n).toMatchObject({ type: 'assignment' });
    const outsider = await json('POST', `/api/threads/${id}/assign`, { body: { assigneeId: SEED_USERS.other.id } });
    expect(outsider.status).toBe(422);
    expect(outsider.body.error.details.issues[0].path).toBe('body.assigneeId');
    const unassigned = await json('POST', `/api/threads/${id}/unassign`);
    expect(unassigned.body.assigneeId).toBeNull();
  });

  it('keeps read state per member', async () => {
    const id = '10000000-0000-4000-8000-000000000001';
    expect((await json('GET', `/api/threads/${id}`)).body.unread).toBe(true);
    const read = await json('PUT', `/api/threads/${id}/read`);
    expect(read.body).toEqual({ threadId: id, unread: false });
    expect((await json('GET', `/api/threads/${id}`)).body.unread).toBe(false);
    expect((await json('GET', `/api/threads/${id}`, { as: 'manager' })).body.unread).toBe(true);
    expect((await json('PUT', `/api/threads/${id}/read`, { as: 'viewer' })).status).toBe(200);
    const unread = await json('DELETE', `/api/threads/${id}/read`);
    expect(unread.body.unread).toBe(true);
  });
});
