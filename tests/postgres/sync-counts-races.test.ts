// Concurrency on real PostgreSQL (PGlite runs one transaction at a time, so nothing races there):
// - a change committed while a sync runs, by a transaction that started before it, is in the next
//   sync (the sync cursor's watermark), though its updated_at is older than the sync;
// - the sidebar's counters (migration 20261205004100) equal a recount after members read threads
//   while messages arrive on them and threads change hands and status, all at once.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

async function newThread(org: TestOrg): Promise<string> {
  const res = await org.json('POST', '/api/threads', { body: { subject: `Race ${randomUUID().slice(0, 8)}` } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Every page of a thread sync from a cursor: the threads changed (id and priority) and the next sync cursor. */
async function syncFrom(org: TestOrg, cursor: string): Promise<{ changed: { id: string; priority: string }[]; next: string }> {
  const changed: { id: string; priority: string }[] = [];
  let next: string | null = cursor;
  for (;;) {
    const res: { status: number; body: { data: { id: string; priority: string }[]; nextCursor: string | null; syncCursor: string | null } } = await org.json(
      'GET',
      `/api/threads?cursor=${next}`,
    );
    expect(res.status).toBe(200);
    changed.push(...res.body.data.map((t) => ({ id: t.id, priority: t.priority })));
    if (!res.body.nextCursor) return { changed, next: res.body.syncCursor! };
    next = res.body.nextCursor;
  }
}

describe('sync and counters under concurrency', () => {
  it('hands a change committed late, by a transaction older than the sync, to the next sync', async () => {
    const org = await newOrganization(db.sql);
    const thread = await newThread(org);
    const start = await org.json('GET', `/api/threads?updatedSince=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`);
    expect(start.body.data.map((t: { id: string }) => t.id)).toEqual([thread]);

    const other = postgres(db.url, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    try {
      let began!: () => void;
      const begun = new Promise<void>((resolve) => (began = resolve));
      const slow = other.begin(async (tx) => {
        await tx`update app.threads set priority = 'urgent' where id = ${thread}`;
        began();
        await held;
      });
      await begun;
      // Its change is invisible to this sync. (The thread itself may come again, unchanged: on a
      // server shared with other work, an older transaction elsewhere can hold the watermark back,
      // and a sync then repeats changes it cannot prove were seen.)
      const during = await syncFrom(org, start.body.syncCursor);
      expect(during.changed.filter((t) => t.priority === 'urgent')).toEqual([]);
      const syncedAt = new Date();
      release();
      await slow;
      // Committed now, it carries the time its transaction began: before the sync above.
      const [row] = await db.sql<{ updatedAt: Date }[]>`select updated_at from app.threads where id = ${thread}`;
      expect(row!.updatedAt.getTime()).toBeLessThan(syncedAt.getTime());
      const after = await syncFrom(org, during.next);
      expect(after.changed).toContainEqual({ id: thread, priority: 'urgent' });
    } finally {
      release();
      await other.end();
    }
  });

  it('keeps the counters equal to a recount through concurrent reads, messages, assignments and status changes', async () => {
    const org = await newOrganization(db.sql);
    const members = [org.users.agent.id, org.users.manager.id, org.users.admin.id];
    const threads: string[] = [];
    for (let i = 0; i < 6; i++) threads.push(await newThread(org));
    const statuses = ['open', 'pending', 'resolved', 'open'];
    const ops: (() => Promise<unknown>)[] = [];
    for (let round = 0; round < 25; round++) {
      for (const [i, thread] of threads.entries()) {
        const user = members[(round + i) % members.length]!;
        ops.push(
          () => db.sql`
          insert into app.thread_reads (org_id, thread_id, user_id, last_read_at) values (${org.id}, ${thread}, ${user}, clock_timestamp())
          on conflict (thread_id, user_id) do update set last_read_at = excluded.last_read_at`,
        );
        ops.push(() => db.sql`update app.threads set last_message_at = clock_timestamp() where id = ${thread}`);
        if ((round + i) % 3 === 0) ops.push(() => db.sql`delete from app.thread_reads where thread_id = ${thread} and user_id = ${user}`);
        if ((round + i) % 4 === 0) ops.push(() => db.sql`update app.threads set status = ${statuses[round % statuses.length]!} where id = ${thread}`);
        if ((round + i) % 5 === 0) ops.push(() => db.sql`update app.threads set assignee_id = ${members[round % members.length]!} where id = ${thread}`);
      }
    }
    // Ten at a time (the pool), in an order that interleaves every kind of change.
    const shuffled = ops
      .map((op, i) => ({ op, k: (i * 7919) % ops.length }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.op);
    await Promise.all(
      Array.from({ length: 10 }, async (_, w) => {
        for (let i = w; i < shuffled.length; i += 10) await shuffled[i]!();
      }),
    );

    const buckets = await db.sql<{ status: string; assigneeId: string | null; threads: number; withMessages: number }[]>`
      select status, assignee_id, threads, with_messages from app.thread_counts where org_id = ${org.id} and (threads <> 0 or with_messages <> 0)
      order by status, assignee_id nulls first`;
    const recount = await db.sql<{ status: string; assigneeId: string | null; threads: number; withMessages: number }[]>`
      select status, assignee_id, count(*)::int as threads, count(last_message_at)::int as with_messages
      from app.threads where org_id = ${org.id} group by 1, 2 order by status, assignee_id nulls first`;
    expect(buckets).toEqual(recount);
    const caughtUp = await db.sql<{ userId: string; caughtUp: number }[]>`
      select user_id, caught_up from app.thread_read_counts where org_id = ${org.id} and caught_up <> 0 order by user_id`;
    const caughtUpRecount = await db.sql<{ userId: string; caughtUp: number }[]>`
      select r.user_id, count(*)::int as caught_up from app.thread_reads r join app.threads t on t.id = r.thread_id
      where t.org_id = ${org.id} and t.status = 'open' and r.last_read_at >= t.last_message_at group by 1 order by 1`;
    expect(caughtUp).toEqual(caughtUpRecount);
  });
});
