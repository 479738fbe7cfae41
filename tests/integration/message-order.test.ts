// A thread lists its messages by their own date and, when dates tie (mail dates have one-second
// precision), in the order they arrived: never by their random ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization } from '../helpers/org.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

describe('message order', () => {
  it('breaks ties of the same Date second by arrival, through every page, both ways', async () => {
    const org = await newOrganization(db.sql);
    const thread = (await org.json('POST', '/api/threads', { body: { subject: 'Three replies in one second' } })).body.id;
    // Stored in one transaction (as the poller stores a run), ids descending so id order would be reversed.
    const ids = [
      'f0000000-0000-4000-8000-000000000001',
      'e0000000-0000-4000-8000-000000000002',
      'd0000000-0000-4000-8000-000000000003',
      'c0000000-0000-4000-8000-000000000004',
    ];
    await db.sql.begin(async (tx) => {
      for (const [i, id] of ids.entries()) {
        await tx`insert into app.messages (id, org_id, thread_id, channel, direction, status, body_text, occurred_at)
          values (${id}, ${org.id}, ${thread}, 'email', 'inbound', 'received', ${`reply ${i + 1}`}, ${i === 3 ? '2026-11-20T10:00:01Z' : '2026-11-20T10:00:00Z'})`;
      }
    });
    const asc = await org.json('GET', `/api/threads/${thread}/messages`);
    expect(asc.body.data.map((m: any) => m.bodyText)).toEqual(['reply 1', 'reply 2', 'reply 3', 'reply 4']);
    expect(asc.body.data[0]).not.toHaveProperty('arrival');
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await org.json('GET', `/api/threads/${thread}/messages?order=desc&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(...res.body.data.map((m: any) => m.bodyText));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(pages).toEqual(['reply 4', 'reply 3', 'reply 2', 'reply 1']);
  });
});
