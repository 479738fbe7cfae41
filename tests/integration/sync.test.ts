// Catching up after a reconnect: `updatedSince` on the lists of threads, messages, notes, actions,
// customers and contacts (lib/sync.ts) answers what changed since, deletions included, page after
// page, and hands out a sync cursor that the next sync starts from. Each test works in an organization of its own.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { withClaims } from '../../lib/db/client.js';
import { sweepJobs } from '../../lib/jobs/sweep.js';
import { SYNC_MAX_AGE_DAYS } from '../../lib/sync.js';
import type { Role } from '../../lib/http/permissions.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

interface SyncBody {
  data: { id: string; [key: string]: unknown }[];
  deleted: { id: string; deletedAt: string }[];
  nextCursor: string | null;
  syncCursor: string | null;
}

/** Every page of a sync; the changed and deleted ids, and the cursor for the next sync. */
async function sync(org: TestOrg, path: string, start: { updatedSince?: string; cursor?: string }, limit = 100, as: Role = 'agent') {
  const changed: SyncBody['data'] = [];
  const deleted: string[] = [];
  let cursor = start.cursor;
  for (let page = 0; page < 50; page++) {
    const qs = new URLSearchParams({ limit: String(limit) });
    if (cursor) qs.set('cursor', cursor);
    else if (start.updatedSince) qs.set('updatedSince', start.updatedSince);
    const res = await org.json<SyncBody>('GET', `${path}?${qs}`, { as });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    changed.push(...res.body.data);
    deleted.push(...res.body.deleted.map((d) => d.id));
    if (res.body.nextCursor) {
      expect(res.body.syncCursor).toBeNull();
      cursor = res.body.nextCursor;
      continue;
    }
    expect(res.body.syncCursor).toEqual(expect.any(String));
    return { changed, ids: changed.map((r) => r.id), deleted, next: res.body.syncCursor! };
  }
  throw new Error('more than 50 pages');
}

/**
 * The client's copy of a list, kept by applying syncs. A sync may hand out a change again (when a
 * transaction elsewhere held the watermark back, on a server shared with other work): `news` is what
 * the client did not already hold, `gone` what it drops.
 */
class Mirror {
  rows = new Map<string, string>();
  apply(result: { changed: SyncBody['data']; deleted: string[] }) {
    const news: string[] = [];
    for (const row of result.changed) {
      const text = JSON.stringify(row);
      if (this.rows.get(row.id) !== text && !news.includes(row.id)) news.push(row.id);
      this.rows.set(row.id, text);
    }
    const gone = result.deleted.filter((id) => this.rows.delete(id));
    return { news: news.sort(), gone: gone.sort() };
  }
  get(id: string) {
    const text = this.rows.get(id);
    return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
  }
}

/** The list as a client loading it afresh sees it (every page), by id. */
async function loaded(org: TestOrg, path: string, as: Role = 'agent'): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const res: { status: number; body: { data: SyncBody['data']; nextCursor: string | null } } = await org.json(
      'GET',
      `${path}${sep}limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      { as },
    );
    expect(res.status).toBe(200);
    for (const row of res.body.data) rows.set(row.id, JSON.stringify(row));
    cursor = res.body.nextCursor;
    if (!cursor) return rows;
  }
  throw new Error('more than 50 pages');
}

const minuteAgo = () => new Date(Date.now() - 60_000).toISOString();

async function newThread(org: TestOrg, subject = `Sync ${randomUUID().slice(0, 8)}`): Promise<string> {
  const res = await org.json('POST', '/api/threads', { body: { subject } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('sync: GET /api/threads?updatedSince=', () => {
  it('answers threads changed since, read state changed for the caller, deleted threads, then only what changed after', async () => {
    const org = await newOrganization(db.sql);
    const a = await newThread(org);
    const b = await newThread(org);
    const c = await newThread(org);
    const mirror = new Mirror();
    const first = await sync(org, '/api/threads', { updatedSince: minuteAgo() });
    expect(first.ids.sort()).toEqual([a, b, c].sort());
    expect(first.changed.find((t) => t.id === a)).toMatchObject({ id: a, status: 'open', unread: false });
    expect(first.deleted).toEqual([]);
    mirror.apply(first);

    // Nothing changed: the next sync brings nothing new and hands out a cursor again.
    const idle = await sync(org, '/api/threads', { cursor: first.next });
    expect(mirror.apply(idle)).toEqual({ news: [], gone: [] });

    expect((await org.json('PATCH', `/api/threads/${a}`, { body: { priority: 'urgent' } })).status).toBe(200);
    await db.sql`update app.threads set last_message_at = now() where id = ${b}`;
    await db.sql`delete from app.threads where id = ${c}`;
    const second = await sync(org, '/api/threads', { cursor: idle.next });
    expect(mirror.apply(second)).toEqual({ news: [a, b].sort(), gone: [c] });
    expect(mirror.get(a)).toMatchObject({ priority: 'urgent' });
    expect(mirror.get(b)).toMatchObject({ unread: true });
    expect(mirror.rows).toEqual(await loaded(org, '/api/threads'));

    // Read on another device, then marked unread: the thread comes back with the caller's flag.
    expect((await org.call('PUT', `/api/threads/${b}/read`)).status).toBe(200);
    const third = await sync(org, '/api/threads', { cursor: second.next });
    expect(mirror.apply(third)).toEqual({ news: [b], gone: [] });
    expect(mirror.get(b)).toMatchObject({ unread: false });
    expect((await org.call('DELETE', `/api/threads/${b}/read`)).status).toBe(200);
    const fourth = await sync(org, '/api/threads', { cursor: third.next });
    expect(mirror.apply(fourth)).toEqual({ news: [b], gone: [] });
    expect(mirror.get(b)).toMatchObject({ unread: true });
    expect(mirror.rows).toEqual(await loaded(org, '/api/threads'));
    // Another member's read state is theirs: the manager's copy, synced over the same changes, keeps the manager's flags.
    const manager = new Mirror();
    manager.apply(await sync(org, '/api/threads', { updatedSince: minuteAgo() }, 100, 'manager'));
    expect(manager.rows).toEqual(await loaded(org, '/api/threads', 'manager'));
  });

  it('pages through changes in order without losing or repeating one', async () => {
    const org = await newOrganization(db.sql);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await newThread(org));
    await db.sql`delete from app.threads where id = ${ids[3]!}`;
    const all = await sync(org, '/api/threads', { updatedSince: minuteAgo() }, 2);
    expect(new Set(all.ids).size).toBe(all.ids.length);
    expect(all.ids.sort()).toEqual(ids.filter((_, i) => i !== 3).sort());
    expect(all.deleted).toEqual([ids[3]]);
    // From the cursor: a change between pages is in this sync or the next, never lost.
    const first = await org.json<SyncBody>('GET', `/api/threads?updatedSince=${encodeURIComponent(minuteAgo())}&limit=2`);
    await db.sql`update app.threads set priority = 'high' where id = ${ids[0]!}`;
    let cursor = first.body.nextCursor;
    const later: SyncBody['data'] = [];
    let next = '';
    while (cursor) {
      const page = await org.json<SyncBody>('GET', `/api/threads?cursor=${cursor}&limit=2`);
      later.push(...page.body.data);
      cursor = page.body.nextCursor;
      next = page.body.syncCursor ?? next;
    }
    const after = await sync(org, '/api/threads', { cursor: next });
    expect([...later, ...after.changed].filter((t) => t.id === ids[0]).map((t) => t.priority)).toContain('high');
  });
});

describe('sync: messages, notes and actions', () => {
  it('answers a thread messages changed and drafts discarded, and a message moved away as gone', async () => {
    const org = await newOrganization(db.sql);
    const thread = await newThread(org);
    const other = await newThread(org);
    // Drafts by the agent (a new organization has no mailbox to reply from).
    const draft = async (text: string) => {
      const [row] = await db.sql<{ id: string }[]>`
        insert into app.messages (org_id, thread_id, channel, direction, status, to_recipients, body_text, author_id)
        values (${org.id}, ${thread}, 'email', 'outbound', 'draft', '[{"address":"karthik@customer.example"}]', ${text}, ${org.users.agent.id})
        returning id`;
      return row!.id;
    };
    const kept = await draft('Draft B/L attached');
    const discarded = await draft('Second thoughts');
    const moved = await draft('Meant for the other thread');
    const path = `/api/threads/${thread}/messages`;
    const first = await sync(org, path, { updatedSince: minuteAgo() });
    expect(first.ids.sort()).toEqual([kept, discarded, moved].sort());
    expect(first.changed.find((m) => m.id === kept)).toMatchObject({ bodyText: 'Draft B/L attached', status: 'draft', attachments: [] });

    expect((await org.json('PATCH', `/api/messages/${kept}`, { body: { text: 'Draft B/L attached, revised' } })).status).toBe(200);
    expect((await org.call('DELETE', `/api/messages/${discarded}`)).status).toBe(204);
    await db.sql`update app.messages set thread_id = ${other} where id = ${moved}`;
    const mirror = new Mirror();
    mirror.apply(first);
    const second = await sync(org, path, { cursor: first.next });
    expect(mirror.apply(second)).toEqual({ news: [kept], gone: [discarded, moved].sort() });
    expect(mirror.get(kept)).toMatchObject({ bodyText: 'Draft B/L attached, revised' });
    expect(mirror.rows).toEqual(await loaded(org, path));
    // An attachment added to a draft changes the draft as the list shows it.
    const [file] = await db.sql<{ id: string }[]>`
      insert into app.attachments (org_id, filename, storage_path, status)
      values (${org.id}, 'draft-bl.pdf', ${`org/${org.id}/attachments/${randomUUID()}/draft-bl.pdf`}, 'ready') returning id`;
    expect((await org.json('PATCH', `/api/messages/${kept}`, { body: { attachmentIds: [file!.id] } })).status).toBe(200);
    const withFile = await sync(org, path, { cursor: second.next });
    expect(mirror.apply(withFile)).toEqual({ news: [kept], gone: [] });
    expect(mirror.get(kept)).toMatchObject({ attachments: [expect.objectContaining({ id: file!.id, filename: 'draft-bl.pdf' })] });
    expect(mirror.rows).toEqual(await loaded(org, path));

    // It arrived in the other thread; moved back, it is no longer gone from the first.
    expect((await sync(org, `/api/threads/${other}/messages`, { updatedSince: minuteAgo() })).ids).toContain(moved);
    await db.sql`update app.messages set thread_id = ${thread} where id = ${moved}`;
    const third = await sync(org, path, { updatedSince: minuteAgo() });
    expect(third.ids.sort()).toEqual([kept, moved].sort());
    expect(third.deleted).toEqual([discarded]);

    // A cursor is for the list that issued it.
    const res = await org.json('GET', `/api/threads/${other}/messages?cursor=${third.next}`);
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues[0].path).toBe('query.cursor');
  });

  it('answers notes written, edited and deleted', async () => {
    const org = await newOrganization(db.sql);
    const thread = await newThread(org);
    const path = `/api/threads/${thread}/notes`;
    const write = async (body: string) => {
      const res = await org.json('POST', path, { body: { body } });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const edited = await write('Shipper wants the draft B/L today');
    const deleted = await write('Wrong thread');
    const first = await sync(org, path, { updatedSince: minuteAgo() });
    expect(first.ids.sort()).toEqual([edited, deleted].sort());
    expect((await org.json('PATCH', `/api/notes/${edited}`, { body: { body: 'Shipper wants the draft B/L by 4 pm' } })).status).toBe(200);
    expect((await org.call('DELETE', `/api/notes/${deleted}`)).status).toBe(204);
    const mirror = new Mirror();
    mirror.apply(first);
    const second = await sync(org, path, { cursor: first.next });
    expect(mirror.apply(second)).toEqual({ news: [edited], gone: [deleted] });
    expect(mirror.get(edited)).toMatchObject({ body: 'Shipper wants the draft B/L by 4 pm' });
    expect(mirror.get(edited)).not.toHaveProperty('deletedAt');
    expect(mirror.rows).toEqual(await loaded(org, path));
  });

  it('answers actions created, changed and deleted', async () => {
    const org = await newOrganization(db.sql);
    const thread = await newThread(org);
    const create = async (title: string) => {
      const res = await org.json('POST', '/api/actions', { body: { title, threadId: thread } });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const done = await create('Chase the VGM');
    const dropped = await create('Ask for the packing list');
    const first = await sync(org, '/api/actions', { updatedSince: minuteAgo() });
    expect(first.ids.sort()).toEqual([done, dropped].sort());
    expect((await org.json('PATCH', `/api/actions/${done}`, { body: { status: 'done' } })).status).toBe(200);
    expect((await org.call('DELETE', `/api/actions/${dropped}`, { as: 'manager' })).status).toBe(204);
    const mirror = new Mirror();
    mirror.apply(first);
    const second = await sync(org, '/api/actions', { cursor: first.next });
    expect(mirror.apply(second)).toEqual({ news: [done], gone: [dropped] });
    expect(mirror.get(done)).toMatchObject({ status: 'done' });
    expect(mirror.get(done)).not.toHaveProperty('sortDue');
    // Actions list with a computed `overdue` as of now: the same rows, by id.
    expect([...mirror.rows.keys()]).toEqual([...(await loaded(org, '/api/actions')).keys()]);
  });
});

describe('sync: customers and contacts', () => {
  it('answers customers and contacts created, edited and deleted, and refuses filters with it', async () => {
    const org = await newOrganization(db.sql);
    const customer = async (name: string) => (await org.json('POST', '/api/customers', { body: { name } })).body.id as string;
    const contact = async (name: string, customerId: string) => (await org.json('POST', '/api/contacts', { body: { name, customerId } })).body.id as string;
    const kept = await customer('Tata Textiles');
    const dropped = await customer('Old Agent');
    const anita = await contact('Anita', kept);
    const left = await contact('Ravi', kept);
    const customers = await sync(org, '/api/customers', { updatedSince: minuteAgo() }, 1);
    expect(customers.ids.sort()).toEqual([kept, dropped].sort());
    const contacts = await sync(org, '/api/contacts', { updatedSince: minuteAgo() });
    expect(contacts.ids.sort()).toEqual([anita, left].sort());

    expect((await org.json('PATCH', `/api/customers/${kept}`, { body: { tier: 'key' } })).status).toBe(200);
    expect((await org.call('DELETE', `/api/customers/${dropped}`, { as: 'manager' })).status).toBe(204);
    expect((await org.json('PATCH', `/api/contacts/${anita}`, { body: { designation: 'Exports' } })).status).toBe(200);
    expect((await org.call('DELETE', `/api/contacts/${left}`, { as: 'manager' })).status).toBe(204);
    const customerMirror = new Mirror();
    customerMirror.apply(customers);
    expect(customerMirror.apply(await sync(org, '/api/customers', { cursor: customers.next }))).toEqual({ news: [kept], gone: [dropped] });
    expect(customerMirror.get(kept)).toMatchObject({ tier: 'key' });
    expect(customerMirror.rows).toEqual(await loaded(org, '/api/customers'));
    const contactMirror = new Mirror();
    contactMirror.apply(contacts);
    expect(contactMirror.apply(await sync(org, '/api/contacts', { cursor: contacts.next }))).toEqual({ news: [anita], gone: [left] });
    expect(contactMirror.get(anita)).toMatchObject({ designation: 'Exports' });
    expect(contactMirror.get(anita)).not.toHaveProperty('deletedAt');
    expect(contactMirror.rows).toEqual(await loaded(org, '/api/contacts'));

    for (const [path, filter] of [
      ['/api/customers', 'tier=key'],
      ['/api/contacts', `customerId=${kept}`],
    ] as const) {
      const refused = await org.json('GET', `${path}?updatedSince=${encodeURIComponent(minuteAgo())}&${filter}`);
      expect(refused.status).toBe(422);
      expect(refused.body.error.details.issues[0].path).toBe(`query.${filter.split('=')[0]}`);
    }
  });
});

describe('sync: how far back', () => {
  it('answers 410 for a sync from further back than deletions are kept, and the sweeper drops older tombstones', async () => {
    const org = await newOrganization(db.sql);
    const thread = await newThread(org);
    const old = new Date(Date.now() - (SYNC_MAX_AGE_DAYS + 1) * 86_400_000).toISOString();
    const tooFar = await org.json('GET', `/api/threads?updatedSince=${encodeURIComponent(old)}`);
    expect(tooFar.status).toBe(410);
    expect(tooFar.body.error.code).toBe('gone');
    const staleCursor = Buffer.from(JSON.stringify(['sync', 'xid', '1', null, null, null, org.id, old])).toString('base64url');
    const stale = await org.json('GET', `/api/threads?cursor=${staleCursor}`);
    expect(stale.status).toBe(410);
    // Within the limit a sync works.
    expect((await org.json('GET', `/api/threads?updatedSince=${encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString())}`)).status).toBe(200);

    const recent = randomUUID();
    const expired = randomUUID();
    await db.sql`
      insert into app.sync_tombstones (org_id, entity, id, scope_id, deleted_at)
      values (${org.id}, 'message', ${recent}, ${thread}, now() - interval '10 days'),
             (${org.id}, 'message', ${expired}, ${thread}, now() - make_interval(days => ${SYNC_MAX_AGE_DAYS + 2}))`;
    expect((await sweepJobs()).tombstonesDeleted).toBeGreaterThanOrEqual(1);
    const left = await db.sql<{ id: string }[]>`select id from app.sync_tombstones where org_id = ${org.id} order by deleted_at`;
    expect(left.map((r) => r.id)).toEqual([recent]);
  });
});

describe('sync: input and tenancy', () => {
  it('refuses an updatedSince that is not an instant with an offset, and filters with it, naming the field', async () => {
    const org = await newOrganization(db.sql);
    const thread = await newThread(org);
    for (const path of ['/api/threads', `/api/threads/${thread}/messages`, `/api/threads/${thread}/notes`, '/api/actions']) {
      for (const bad of ['yesterday', '2026-12-05T10:00:00', '2026-12-05', '1733392800']) {
        const res = await org.json('GET', `${path}?updatedSince=${encodeURIComponent(bad)}`);
        expect(res.status, `${path} ${bad}`).toBe(422);
        expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(['query.updatedSince']);
      }
    }
    const since = encodeURIComponent(minuteAgo());
    const filtered = await org.json('GET', `/api/threads?updatedSince=${since}&status=open`);
    expect(filtered.status).toBe(422);
    expect(filtered.body.error.details.issues[0].path).toBe('query.status');
    const actions = await org.json('GET', `/api/actions?updatedSince=${since}&assignee=me`);
    expect(actions.status).toBe(422);
    expect(actions.body.error.details.issues[0].path).toBe('query.assignee');
    // A list cursor is not a sync cursor.
    await newThread(org);
    await newThread(org);
    const page = await org.json('GET', '/api/threads?limit=1');
    const mixed = await org.json('GET', `/api/threads?updatedSince=${since}&cursor=${page.body.nextCursor}`);
    expect(mixed.status).toBe(422);
    expect(mixed.body.error.details.issues[0].path).toBe('query.cursor');
    // Nor is a sync cursor tampered with.
    const forged = Buffer.from(JSON.stringify(['sync', 'time', '2026-13-45T00:00:00.000Z', null, null, null, org.id, new Date().toISOString()])).toString(
      'base64url',
    );
    const tampered = await org.json('GET', `/api/threads?cursor=${forged}`);
    expect(tampered.status).toBe(422);
    expect(tampered.body.error.details.issues[0].path).toBe('query.cursor');
  });

  it('never shows another organization its changes or tombstones', async () => {
    const org = await newOrganization(db.sql);
    const other = await newOrganization(db.sql);
    const mine = await newThread(org);
    const theirs = await newThread(other);
    const theirAction = await other.json('POST', '/api/actions', { body: { title: 'Their task', threadId: theirs } });
    expect((await other.call('DELETE', `/api/actions/${theirAction.body.id}`, { as: 'manager' })).status).toBe(204);
    await db.sql`delete from app.threads where id = ${theirs}`;
    const [tombstones] = await db.sql<{ n: number }[]>`select count(*)::int as n from app.sync_tombstones where org_id = ${other.id}`;
    expect(tombstones!.n).toBe(2);

    const threads = await sync(org, '/api/threads', { updatedSince: minuteAgo() });
    expect(threads.ids).toEqual([mine]);
    expect(threads.deleted).toEqual([]);
    expect((await sync(org, '/api/actions', { updatedSince: minuteAgo() })).deleted).toEqual([]);
    // Their sync cursor names their organization's list: refused in another.
    const theirSync = await sync(other, '/api/threads', { updatedSince: minuteAgo() });
    expect(theirSync.deleted).toEqual([theirs]);
    const res = await org.json('GET', `/api/threads?cursor=${theirSync.next}`);
    expect(res.status).toBe(422);
    // And row-level security holds on the tombstones even for a query that forgets its filter.
    const seen = await withClaims(
      { sub: org.users.agent.id, org_id: org.id, role: 'authenticated' },
      (tx) => tx<{ n: number }[]>`select count(*)::int as n from app.sync_tombstones`,
    );
    expect(seen[0]!.n).toBe(0);
  });
});
