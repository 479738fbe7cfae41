import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClaims, type Claims } from '../../lib/db/client.js';
import { SEED_ORG_ID, SEED_USERS, type SeedUserKey } from '../../lib/dev/seed.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;

const U = SEED_USERS;
const T1 = '10000001-0000-4000-8000-000000000001';
const T6 = '10000006-0000-4000-8000-000000000006';
const FOREIGN_THREAD = '10000063-0000-4000-8000-000000000099';
const S1 = '0f000000-0000-4000-8000-000000000001';

/** Extra members for the mention syntaxes: an email local part unlike the name, and two Kirans. */
const ROHAN = { id: randomUUID(), name: 'Rohan Gupta', email: 'rg.exports@seahawk-logistics.in' };
const KIRAN_RAO = { id: randomUUID(), name: 'Kiran Rao', email: 'kiran.rao@seahawk-logistics.in' };
const KIRAN_PATEL = { id: randomUUID(), name: 'Kiran Patel', email: 'kpatel@seahawk-logistics.in' };

beforeAll(async () => {
  db = await testDatabase();
  for (const m of [ROHAN, KIRAN_RAO, KIRAN_PATEL]) {
    await db.sql`insert into auth.users (id, email, created_at, updated_at) values (${m.id}, ${m.email}, now(), now())`;
    await db.sql`insert into app.members (org_id, user_id, role, display_name, email) values (${SEED_ORG_ID}, ${m.id}, 'agent', ${m.name}, ${m.email})`;
  }
});
afterAll(() => db.close());

/** A fresh thread (so each test reads only its own notes and actions). */
async function freshThread(subject = `Thread ${randomUUID()}`): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.threads (org_id, subject, last_activity_at) values (${SEED_ORG_ID}, ${subject}, now() - interval '1 day') returning id`;
  return row!.id;
}
async function freshShipment(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.shipments (org_id, reference, mode) values (${SEED_ORG_ID}, ${`SHL/T/${randomUUID().slice(0, 8)}`}, 'air') returning id`;
  return row!.id;
}

/** The notifications a member sees under RLS (only their own). */
const notificationsSeenBy = (userId: string) =>
  withClaims(
    { sub: userId, role: 'authenticated', org_id: SEED_ORG_ID } as Claims,
    (sql) =>
      sql<{ userId: string; type: string; entityType: string; entityId: string; threadId: string | null; title: string }[]>`
      select user_id, type, entity_type, entity_id, thread_id, title from app.notifications order by created_at`,
  );

/** Who got a notification about this entity (read as the table owner). */
async function notified(entityId: string): Promise<string[]> {
  const rows = await db.sql<{ userId: string }[]>`select user_id from app.notifications where entity_id = ${entityId} order by user_id`;
  return rows.map((r) => r.userId);
}

const eventLines = (events: { topic: string; event: string }[]) => events.map((e) => `${e.topic} ${e.event}`).sort();

describe('notes', () => {
  it('lists a thread’s notes oldest first with a cursor, for every role including viewers', async () => {
    const seeded = await json('GET', `/api/threads/${T6}/notes`, { as: 'viewer' });
    expect(seeded.status).toBe(200);
    expect(seeded.body.data).toHaveLength(1);
    expect(seeded.body.data[0]).toMatchObject({ threadId: T6, authorId: U.manager.id, authorName: 'Anita Desai', mentions: [U.agent.id] });

    const thread = await freshThread();
    const written: string[] = [];
    for (const body of ['first', 'second', 'third', 'fourth', 'fifth']) {
      const res = await json('POST', `/api/threads/${thread}/notes`, { body: { body } });
      expect(res.status).toBe(201);
      written.push(res.body.id);
    }
    // Two notes within one microsecond-precise timestamp still page exactly once each.
    await db.sql`update app.notes set created_at = '2026-01-01T10:00:00.123456Z' where id = any(${written.slice(1, 3)}::uuid[])`;
    await db.sql`update app.notes set created_at = '2026-01-01T09:00:00.000001Z' where id = ${written[0]!}`;
    const all = await json('GET', `/api/threads/${thread}/notes?limit=100`);
    expect(all.body.data.map((n: any) => n.body).slice(0, 1)).toEqual(['first']);
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await json('GET', `/api/threads/${thread}/notes?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      pages.push(...res.body.data.map((n: any) => n.id));
      if (pages.length > 10) throw new Error('the cursor does not advance');
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(pages).toEqual(all.body.data.map((n: any) => n.id));
    expect(new Set(pages).size).toBe(5);

    expect((await json('GET', `/api/threads/${FOREIGN_THREAD}/notes`)).status).toBe(404);
    expect((await json('GET', `/api/threads/${thread}/notes?cursor=bogus`)).status).toBe(422);
  });

  it('writes a note: event on the thread topic, audit row, thread activity bumped', async () => {
    const thread = await freshThread();
    const [before] = await db.sql<{ lastActivityAt: Date }[]>`select last_activity_at from app.threads where id = ${thread}`;
    const since = await broadcastsSince(db.sql);
    const res = await json('POST', `/api/threads/${thread}/notes`, { body: { body: '  Customer wants the DO by Friday  ' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      threadId: thread,
      authorId: U.agent.id,
      authorName: 'Vikram Singh',
      body: 'Customer wants the DO by Friday',
      mentions: [],
    });
    const events = await since();
    expect(eventLines(events)).toEqual([`org:${SEED_ORG_ID}:thread:${thread} note.created`]);
    expect(events[0]!.payload).toMatchObject({
      event: 'note.created',
      orgId: SEED_ORG_ID,
      actorId: U.agent.id,
      data: { id: res.body.id, body: 'Customer wants the DO by Friday' },
    });
    const [after] = await db.sql<{ lastActivityAt: Date }[]>`select last_activity_at from app.threads where id = ${thread}`;
    expect(after!.lastActivityAt.getTime()).toBeGreaterThan(before!.lastActivityAt.getTime());
    const [audit] = await db.sql`select action, actor_user_id from app.audit_log where entity_id = ${res.body.id}`;
    expect(audit).toMatchObject({ action: 'note.created', actorUserId: U.agent.id });

    const empty = await json('POST', `/api/threads/${thread}/notes`, { body: { body: '   ' } });
    expect(empty.status).toBe(422);
    expect(empty.body.error.details.issues[0].path).toBe('body.body');
    expect((await json('POST', `/api/threads/${FOREIGN_THREAD}/notes`, { body: { body: 'x' } })).status).toBe(404);
  });

  it('finds mentions in markup, first names, first.last and email local parts, and explicit ids', async () => {
    const thread = await freshThread('Reefer plug-in at JNPT');
    const cases: { body: string; mentions?: string[]; expected: string[] }[] = [
      { body: `Please check @[Anita Desai](${U.manager.id}) before we reply.`, expected: [U.manager.id] },
      { body: '@Priya can you approve the credit note?', expected: [U.owner.id] },
      { body: 'Looping in @rahul.mehta, and (@RG.Exports) for the SB copy.', expected: [U.admin.id, ROHAN.id] },
      { body: 'FYI only', mentions: [U.viewer.id], expected: [U.viewer.id] },
      { body: 'Thanks @kiran.rao.', expected: [KIRAN_RAO.id] },
    ];
    for (const c of cases) {
      const since = await broadcastsSince(db.sql);
      const res = await json('POST', `/api/threads/${thread}/notes`, { body: { body: c.body, mentions: c.mentions } });
      expect(res.status, c.body).toBe(201);
      expect([...res.body.mentions].sort(), c.body).toEqual([...c.expected].sort());
      expect(await notified(res.body.id), c.body).toEqual([...c.expected].sort());
      const events = await since();
      expect(eventLines(events), c.body).toEqual(
        [`org:${SEED_ORG_ID}:thread:${thread} note.created`, ...c.expected.map((id) => `user:${id} notification.created`)].sort(),
      );
      const notice = events.find((e) => e.event === 'notification.created')!;
      expect(notice.payload.data).toMatchObject({ type: 'mention', threadId: thread, entityType: 'note', entityId: res.body.id });
      expect(notice.payload.data.title).toBe('Vikram Singh mentioned you: Reefer plug-in at JNPT');
    }
  });

  it('notifies nobody for an ambiguous first name, an email address, a stale id in markup, or the author', async () => {
    const thread = await freshThread();
    const since = await broadcastsSince(db.sql);
    const res = await json('POST', `/api/threads/${thread}/notes`, {
      body: {
        body: `@Kiran please call the CFS. Mail ops@seahawk-logistics.in and vikram@seahawk-logistics.in; ask @[Old Member](${randomUUID()}). Note to self @vikram.`,
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.mentions).toEqual([U.agent.id]);
    expect(await notified(res.body.id)).toEqual([]);
    expect(eventLines(await since())).toEqual([`org:${SEED_ORG_ID}:thread:${thread} note.created`]);
    const listed = await json('GET', `/api/threads/${thread}/notes`);
    expect(listed.body.data.map((n: any) => n.id)).toEqual([res.body.id]);
  });

  it('refuses unknown explicit mentions with 422 naming the index', async () => {
    const thread = await freshThread();
    for (const stranger of [randomUUID(), U.other.id]) {
      const res = await json('POST', `/api/threads/${thread}/notes`, { body: { body: 'Hello', mentions: [U.manager.id, stranger] } });
      expect(res.status).toBe(422);
      expect(res.body.error.details.issues).toEqual([{ path: 'body.mentions.1', message: 'is not an active member of this organization' }]);
    }
    const malformed = await json('POST', `/api/threads/${thread}/notes`, { body: { body: 'Hello', mentions: ['vikram'] } });
    expect(malformed.status).toBe(422);
    expect(malformed.body.error.details.issues[0].path).toBe('body.mentions.0');
    expect((await json('GET', `/api/threads/${thread}/notes`)).body.data).toEqual([]);
  });

  it('shows a mention notification to the mentioned member only', async () => {
    const thread = await freshThread();
    const res = await json('POST', `/api/threads/${thread}/notes`, { as: 'manager', body: { body: '@Vikram please confirm the seal number' } });
    expect(res.status).toBe(201);
    const own = (await notificationsSeenBy(U.agent.id)).filter((n) => n.entityId === res.body.id);
    expect(own).toEqual([expect.objectContaining({ userId: U.agent.id, type: 'mention', entityType: 'note', threadId: thread })]);
    for (const who of ['manager', 'owner', 'viewer'] as SeedUserKey[]) {
      const seen = await notificationsSeenBy(U[who].id);
      expect(
        seen.filter((n) => n.entityId === res.body.id),
        who,
      ).toEqual([]);
      expect(seen.every((n) => n.userId === U[who].id)).toBe(true);
    }
  });

  it('lets only the author edit, notifying members the edit adds', async () => {
    const thread = await freshThread();
    const created = await json('POST', `/api/threads/${thread}/notes`, { body: { body: 'Draft B/L sent to @Anita' } });
    expect(created.body.mentions).toEqual([U.manager.id]);
    const byManager = await json('PATCH', `/api/notes/${created.body.id}`, { as: 'manager', body: { body: 'hijacked' } });
    expect(byManager.status).toBe(403);
    expect(byManager.body.error.code).toBe('forbidden');
    const byViewer = await json('PATCH', `/api/notes/${created.body.id}`, { as: 'viewer', body: { body: 'x' } });
    expect(byViewer.status).toBe(403);

    const since = await broadcastsSince(db.sql);
    const edited = await json('PATCH', `/api/notes/${created.body.id}`, { body: { body: 'Draft B/L sent to @Anita and @Priya' } });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ id: created.body.id, body: 'Draft B/L sent to @Anita and @Priya' });
    expect([...edited.body.mentions].sort()).toEqual([U.owner.id, U.manager.id].sort());
    expect(eventLines(await since())).toEqual([`org:${SEED_ORG_ID}:thread:${thread} note.updated`, `user:${U.owner.id} notification.created`]);
    expect(await notified(created.body.id)).toEqual([U.owner.id, U.manager.id].sort());

    const stored = await json('GET', `/api/threads/${thread}/notes`);
    expect(stored.body.data[0].body).toBe('Draft B/L sent to @Anita and @Priya');
    expect((await json('PATCH', `/api/notes/${randomUUID()}`, { body: { body: 'x' } })).status).toBe(404);
    expect((await json('PATCH', `/api/notes/${created.body.id}`, { body: {} })).status).toBe(422);
  });

  it('soft-deletes: the author, or a manager for an agent’s note; not an agent for someone else’s', async () => {
    const thread = await freshThread();
    const mine = await json('POST', `/api/threads/${thread}/notes`, { body: { body: 'agent note 1' } });
    const other = await json('POST', `/api/threads/${thread}/notes`, { body: { body: 'agent note 2' } });
    const managers = await json('POST', `/api/threads/${thread}/notes`, { as: 'manager', body: { body: 'manager note' } });

    const refused = await json('DELETE', `/api/notes/${managers.body.id}`);
    expect(refused.status).toBe(403);
    expect((await json('DELETE', `/api/notes/${mine.body.id}`, { as: 'viewer' })).status).toBe(403);

    const since = await broadcastsSince(db.sql);
    const own = await json('DELETE', `/api/notes/${mine.body.id}`);
    expect(own.status).toBe(204);
    const byManager = await json('DELETE', `/api/notes/${other.body.id}`, { as: 'manager' });
    expect(byManager.status).toBe(204);
    const events = await since();
    expect(eventLines(events)).toEqual([`org:${SEED_ORG_ID}:thread:${thread} note.deleted`, `org:${SEED_ORG_ID}:thread:${thread} note.deleted`]);
    expect(events.map((e) => e.payload.data).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [
        { id: mine.body.id, threadId: thread },
        { id: other.body.id, threadId: thread },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );

    const left = await json('GET', `/api/threads/${thread}/notes`);
    expect(left.body.data.map((n: any) => n.body)).toEqual(['manager note']);
    const [row] = await db.sql`select deleted_at from app.notes where id = ${other.body.id}`;
    expect(row!.deletedAt).toBeInstanceOf(Date);
    expect((await json('DELETE', `/api/notes/${other.body.id}`, { as: 'manager' })).status).toBe(404);
    expect((await json('PATCH', `/api/notes/${mine.body.id}`, { body: { body: 'back?' } })).status).toBe(404);
  });

  it('refuses viewers every note write', async () => {
    const res = await json('POST', `/api/threads/${T1}/notes`, { as: 'viewer', body: { body: 'viewer note' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });
});

describe('actions', () => {
  it('creates an action, notifies the assignee, and announces it on the org and thread topics', async () => {
    const thread = await freshThread();
    const due = new Date(Date.now() + 86_400_000).toISOString();
    const since = await broadcastsSince(db.sql);
    const res = await json('POST', '/api/actions', {
      body: {
        title: '  Send VGM to the line  ',
        type: 'send_document',
        priority: 'high',
        assigneeId: U.manager.id,
        dueAt: due,
        threadId: thread,
        shipmentId: S1,
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      title: 'Send VGM to the line',
      type: 'send_document',
      priority: 'high',
      status: 'open',
      assigneeId: U.manager.id,
      assigneeName: 'Anita Desai',
      threadId: thread,
      shipmentId: S1,
      shipmentReference: 'SHL/EXP/2026/0412',
      completedAt: null,
      overdue: false,
      createdBy: U.agent.id,
      source: 'manual',
    });
    expect(new Date(res.body.dueAt).toISOString()).toBe(due);
    const events = await since();
    expect(eventLines(events)).toEqual([
      `org:${SEED_ORG_ID} action.created`,
      `org:${SEED_ORG_ID}:thread:${thread} action.created`,
      `user:${U.manager.id} notification.created`,
    ]);
    expect(events.find((e) => e.event === 'notification.created')!.payload.data).toMatchObject({
      type: 'assignment',
      entityType: 'action',
      entityId: res.body.id,
      threadId: thread,
      title: 'Action assigned: Send VGM to the line',
    });
    const seen = (await notificationsSeenBy(U.manager.id)).filter((n) => n.entityId === res.body.id);
    expect(seen).toEqual([expect.objectContaining({ type: 'assignment', entityType: 'action' })]);
    expect((await notificationsSeenBy(U.agent.id)).filter((n) => n.entityId === res.body.id)).toEqual([]);

    expect((await json('GET', `/api/actions/${res.body.id}`, { as: 'viewer' })).body).toMatchObject({ id: res.body.id, title: 'Send VGM to the line' });
    expect((await json('GET', `/api/actions/${res.body.id}`, { as: 'other' })).status).toBe(404);
  });

  it('announces a shipment-only action on the org topic, and does not notify a self-assignment', async () => {
    const shipment = await freshShipment();
    const since = await broadcastsSince(db.sql);
    const res = await json('POST', '/api/actions', { body: { title: 'Book airline space', shipmentId: shipment, assigneeId: U.agent.id } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ threadId: null, shipmentId: shipment, type: 'follow_up', priority: 'normal', dueAt: null });
    expect(eventLines(await since())).toEqual([`org:${SEED_ORG_ID} action.created`]);
    expect(await notified(res.body.id)).toEqual([]);
  });

  it('answers 422 naming the field for bad input and records outside the organization', async () => {
    const thread = await freshThread();
    const bad = async (body: unknown, path: string) => {
      const res = await json('POST', '/api/actions', { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(
        res.body.error.details.issues.map((i: any) => i.path),
        JSON.stringify(body),
      ).toContain(path);
    };
    await bad({ title: 'x', threadId: thread, assigneeId: U.other.id }, 'body.assigneeId');
    await bad({ title: 'x', threadId: thread, assigneeId: randomUUID() }, 'body.assigneeId');
    await bad({ title: 'x', threadId: FOREIGN_THREAD }, 'body.threadId');
    await bad({ title: 'x', shipmentId: randomUUID() }, 'body.shipmentId');
    await bad({ title: 'x' }, 'body.threadId');
    await bad({ title: ' ', threadId: thread }, 'body.title');
    await bad({ title: 'x', threadId: thread, type: 'errand' }, 'body.type');
    await bad({ title: 'x', threadId: thread, status: 'blocked' }, 'body.status');
    await bad({ title: 'x', threadId: thread, priority: 'p1' }, 'body.priority');
    await bad({ title: 'x', threadId: thread, dueAt: 'tomorrow' }, 'body.dueAt');
    await bad({ title: 'x', threadId: thread, colour: 'red' }, 'body');

    const created = await json('POST', '/api/actions', { body: { title: 'Keep me', threadId: thread } });
    const patch = async (body: unknown, path: string) => {
      const res = await json('PATCH', `/api/actions/${created.body.id}`, { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.details.issues.map((i: any) => i.path)).toContain(path);
    };
    await patch({ threadId: null }, 'body.threadId');
    await patch({ assigneeId: U.other.id }, 'body.assigneeId');
    await patch({ shipmentId: randomUUID() }, 'body.shipmentId');
    await patch({ status: 'finished' }, 'body.status');
    await patch({}, 'body');
    expect(
      (await json('GET', '/api/actions?assignee=someone&status=open,later&overdue=maybe')).body.error.details.issues.map((i: any) => i.path).sort(),
    ).toEqual(['query.assignee', 'query.overdue', 'query.status.1']);
    expect((await json('PATCH', `/api/actions/${randomUUID()}`, { body: { status: 'done' } })).status).toBe(404);
  });

  it('moves through statuses, stamping completedAt on done and clearing it when reopened', async () => {
    const thread = await freshThread();
    const created = await json('POST', '/api/actions', { body: { title: 'Collect the BRC', threadId: thread } });
    const id = created.body.id;
    const set = (status: string) => json('PATCH', `/api/actions/${id}`, { body: { status } });

    const started = await set('in_progress');
    expect(started.body).toMatchObject({ status: 'in_progress', completedAt: null });
    const done = await set('done');
    expect(done.body.status).toBe('done');
    const completedAt = Date.parse(done.body.completedAt);
    expect(Math.abs(completedAt - Date.now())).toBeLessThan(60_000);
    const again = await json('PATCH', `/api/actions/${id}`, { body: { status: 'done', title: 'Collect the BRC (original)' } });
    expect(Date.parse(again.body.completedAt)).toBe(completedAt);
    const reopened = await set('open');
    expect(reopened.body).toMatchObject({ status: 'open', completedAt: null });
    await set('done');
    const cancelled = await set('cancelled');
    expect(cancelled.body).toMatchObject({ status: 'cancelled', completedAt: null });

    const born = await json('POST', '/api/actions', { body: { title: 'Already done', threadId: thread, status: 'done' } });
    expect(born.body.completedAt).not.toBeNull();
  });

  it('announces updates (on old and new thread) and notifies a new assignee', async () => {
    const first = await freshThread();
    const second = await freshThread();
    const created = await json('POST', '/api/actions', { body: { title: 'Chase payment', threadId: first, assigneeId: U.manager.id } });
    const since = await broadcastsSince(db.sql);
    const moved = await json('PATCH', `/api/actions/${created.body.id}`, {
      as: 'manager',
      body: { threadId: second, assigneeId: U.owner.id, priority: 'urgent' },
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ threadId: second, assigneeId: U.owner.id, priority: 'urgent' });
    expect(eventLines(await since())).toEqual(
      [
        `org:${SEED_ORG_ID} action.updated`,
        `org:${SEED_ORG_ID}:thread:${first} action.updated`,
        `org:${SEED_ORG_ID}:thread:${second} action.updated`,
        `user:${U.owner.id} notification.created`,
      ].sort(),
    );
    expect(await notified(created.body.id)).toEqual([U.owner.id, U.manager.id].sort());
    const same = await broadcastsSince(db.sql);
    await json('PATCH', `/api/actions/${created.body.id}`, { body: { assigneeId: U.owner.id, description: 'Reminder sent' } });
    expect((await same()).map((e) => e.event)).not.toContain('notification.created');
  });

  it('lists mine, unassigned, by thread, by shipment, by status, overdue and due before, sorted by due time', async () => {
    const thread = await freshThread();
    const shipment = await freshShipment();
    const hour = 3_600_000;
    const at = (h: number) => new Date(Date.now() + h * hour).toISOString();
    const make = async (title: string, extra: Record<string, unknown>) => {
      const res = await json('POST', '/api/actions', { as: 'manager', body: { title, threadId: thread, ...extra } });
      expect(res.status, title).toBe(201);
      return res.body.id as string;
    };
    const later = await make('later', { dueAt: at(48), assigneeId: U.agent.id });
    const soon = await make('soon', { dueAt: at(2), assigneeId: U.agent.id, shipmentId: shipment });
    const undated = await make('undated', {});
    const late = await make('late', { assigneeId: U.agent.id });
    const lateStarted = await make('late started', { shipmentId: shipment, status: 'in_progress' });
    const lateDone = await make('late done', { assigneeId: U.agent.id });
    // Overdue data: due times in the past, as if the clock had moved on.
    await db.sql`update app.actions set due_at = now() - interval '3 hours' where id = ${late}`;
    await db.sql`update app.actions set due_at = now() - interval '1 hour' where id = ${lateStarted}`;
    await db.sql`update app.actions set due_at = now() - interval '5 hours', status = 'done', completed_at = now() where id = ${lateDone}`;

    const list = async (query: string, as: SeedUserKey = 'agent') => {
      const res = await json('GET', `/api/actions?limit=100&${query}`, { as });
      expect(res.status, query).toBe(200);
      return res.body.data as any[];
    };
    const titles = (rows: any[]) => rows.map((r) => r.title);

    expect(titles(await list(`thread=${thread}`))).toEqual(['late done', 'late', 'late started', 'soon', 'later', 'undated']);
    expect(titles(await list(`thread=${thread}&assignee=me`))).toEqual(['late done', 'late', 'soon', 'later']);
    expect(titles(await list(`thread=${thread}&assignee=${U.agent.id}`, 'viewer'))).toEqual(['late done', 'late', 'soon', 'later']);
    expect(titles(await list(`thread=${thread}&assignee=none`))).toEqual(['late started', 'undated']);
    expect(titles(await list(`shipment=${shipment}`))).toEqual(['late started', 'soon']);
    expect(titles(await list(`thread=${thread}&status=open,in_progress`))).toEqual(['late', 'late started', 'soon', 'later', 'undated']);
    const overdue = await list(`thread=${thread}&overdue=true`);
    expect(titles(overdue)).toEqual(['late', 'late started']);
    expect(overdue.every((a) => a.overdue === true)).toBe(true);
    expect(titles(await list(`thread=${thread}&overdue=false`))).toEqual(['late done', 'soon', 'later', 'undated']);
    expect(titles(await list(`thread=${thread}&due_before=${encodeURIComponent(at(24))}`))).toEqual(['late done', 'late', 'late started', 'soon']);

    // Across the organization, "overdue and mine" includes the seeded BE query action.
    const mineOverdue = await list('assignee=me&overdue=true');
    expect(titles(mineOverdue)).toContain('Get technical write-up from Hamburg Home for BE query');
    expect(titles(mineOverdue)).toContain('late');
    expect(mineOverdue.every((a) => a.assigneeId === U.agent.id && a.overdue)).toBe(true);
    expect(titles(await list('assignee=me', 'viewer'))).toEqual([]);

    const ids = [later, soon, undated];
    expect((await list(`thread=${thread}`)).map((r) => r.id).filter((id) => ids.includes(id))).toEqual([soon, later, undated]);
  });

  it('pages by due time (undated last) with a cursor, exactly once each', async () => {
    const thread = await freshThread();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await json('POST', '/api/actions', {
        body: { title: `step ${i}`, threadId: thread, dueAt: i < 5 ? new Date(Date.now() + (i % 2) * 3_600_000).toISOString() : undefined },
      });
      ids.push(res.body.id);
    }
    // Ties on due time and on creation time down to the microsecond.
    await db.sql`update app.actions set due_at = '2030-01-01T00:00:00.000001Z', created_at = '2026-01-01T00:00:00.654321Z' where id = any(${ids.slice(0, 3)}::uuid[])`;
    const all = (await json('GET', `/api/actions?thread=${thread}&limit=100`)).body.data.map((a: any) => a.id);
    expect(all).toHaveLength(7);
    expect(all.slice(-2).sort()).toEqual(ids.slice(5).sort());
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await json('GET', `/api/actions?thread=${thread}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...res.body.data.map((a: any) => a.id));
      if (paged.length > 14) throw new Error('the cursor does not advance');
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all);
  });

  it('deletes with threads.delete only, announcing it', async () => {
    const thread = await freshThread();
    const created = await json('POST', '/api/actions', { body: { title: 'Obsolete', threadId: thread } });
    expect((await json('DELETE', `/api/actions/${created.body.id}`)).status).toBe(403);
    expect((await json('POST', '/api/actions', { as: 'viewer', body: { title: 'x', threadId: thread } })).status).toBe(403);
    expect((await json('PATCH', `/api/actions/${created.body.id}`, { as: 'viewer', body: { status: 'done' } })).status).toBe(403);
    const since = await broadcastsSince(db.sql);
    expect((await json('DELETE', `/api/actions/${created.body.id}`, { as: 'manager' })).status).toBe(204);
    const events = await since();
    expect(eventLines(events)).toEqual([`org:${SEED_ORG_ID} action.deleted`, `org:${SEED_ORG_ID}:thread:${thread} action.deleted`]);
    expect(events[0]!.payload.data).toEqual({ id: created.body.id, threadId: thread });
    expect((await json('GET', `/api/actions/${created.body.id}`)).status).toBe(404);
    expect((await json('DELETE', `/api/actions/${created.body.id}`, { as: 'manager' })).status).toBe(404);
  });
});
