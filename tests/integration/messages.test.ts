// Messages on a thread: listing with a cursor, replies that queue a send job exactly once per
// Idempotency-Key, drafts edited then sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
const T1 = '10000001-0000-4000-8000-000000000001';
let channelId: string;
beforeAll(async () => {
  db = await testDatabase();
  const [c] = await db.sql<{ id: string }[]>`
    insert into app.channels (org_id, kind, name, address, sending_domain_status) values (${SEED_ORG_ID}, 'email', 'Ops mailbox', 'ops@seahawk-logistics.in', 'verified') on conflict (org_id, kind, address) do update set name = excluded.name, sending_domain_status = excluded.sending_domain_status returning id`;
  channelId = c!.id;
});
afterAll(() => db.close());

const sendJobs = async (messageId: string) =>
  db.sql`select id, status, deadline_at, run_at from app.outbox where name = 'email.send' and payload->>'messageId' = ${messageId}`;

describe('messages', () => {
  it('lists a thread oldest first or newest first, with a cursor', async () => {
    // A thread of its own: other tests reply on the seeded ones.
    const [t] = await db.sql<
      { id: string }[]
    >`insert into app.threads (org_id, subject, channel) values (${SEED_ORG_ID}, 'Listing check', 'email') returning id`;
    for (const [direction, from, minutesAgo] of [
      ['inbound', 'karthik@tatatextiles.example', 30],
      ['outbound', 'ops@seahawk-logistics.in', 20],
      ['inbound', 'karthik@tatatextiles.example', 10],
    ] as const) {
      await db.sql`
        insert into app.messages (org_id, thread_id, channel, direction, status, from_address, body_text, sent_at)
        values (${SEED_ORG_ID}, ${t!.id}, 'email', ${direction}, ${direction === 'inbound' ? 'received' : 'sent'}, ${from}, 'x', now() - make_interval(mins => ${minutesAgo}))`;
    }
    const asc = await json('GET', `/api/threads/${t!.id}/messages`);
    expect(asc.status).toBe(200);
    expect(asc.body.data.map((m: any) => m.direction)).toEqual(['inbound', 'outbound', 'inbound']);
    const first = await json('GET', `/api/threads/${t!.id}/messages?order=desc&limit=2`);
    const second = await json('GET', `/api/threads/${t!.id}/messages?order=desc&limit=2&cursor=${first.body.nextCursor}`);
    expect([...first.body.data, ...second.body.data].map((m: any) => m.id)).toEqual([...asc.body.data].reverse().map((m: any) => m.id));
    const one = await json('GET', `/api/messages/${asc.body.data[0].id}`);
    expect(one.body).toMatchObject({ threadId: t!.id, fromAddress: 'karthik@tatatextiles.example', attachments: [] });
  });

  it('pages through messages stamped within one millisecond without skipping or repeating one', async () => {
    const [t] = await db.sql<
      { id: string }[]
    >`insert into app.threads (org_id, subject, channel) values (${SEED_ORG_ID}, 'Same millisecond', 'email') returning id`;
    for (const us of ['401', '402', '403', '404']) {
      await db.sql`insert into app.messages (org_id, thread_id, channel, direction, status, body_text, occurred_at)
        values (${SEED_ORG_ID}, ${t!.id}, 'email', 'outbound', 'sent', ${us}, ${`2026-12-01T10:00:00.123${us}Z`}::timestamptz)`;
    }
    for (const order of ['asc', 'desc']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await json('GET', `/api/threads/${t!.id}/messages?order=${order}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.data.map((m: any) => m.bodyText));
        cursor = page.body.nextCursor;
      } while (cursor && seen.length < 10);
      expect(seen, order).toEqual(order === 'asc' ? ['401', '402', '403', '404'] : ['404', '403', '402', '401']);
    }
  });

  it('queues a reply with a 23-hour send deadline, once per Idempotency-Key', async () => {
    const headers = { 'idempotency-key': 'reply-1' };
    const body = { text: 'Hello Karthik,\nDraft B/L attached shortly.\nRegards' };
    const first = await json('POST', `/api/threads/${T1}/messages`, { body, headers });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      status: 'queued',
      direction: 'outbound',
      channelId,
      fromAddress: 'ops@seahawk-logistics.in',
      toRecipients: [{ address: 'karthik@tatatextiles.example' }],
      authorId: SEED_USERS.agent.id,
    });
    const again = await json('POST', `/api/threads/${T1}/messages`, { body, headers });
    expect(again.body.id).toBe(first.body.id);
    const jobs = await sendJobs(first.body.id);
    expect(jobs).toHaveLength(1);
    const deadline = (jobs[0]!.deadlineAt as Date).getTime() - Date.now();
    expect(deadline).toBeGreaterThan(22.9 * 3_600_000);
    expect(deadline).toBeLessThanOrEqual(23 * 3_600_000);
    const count =
      await db.sql`select count(*)::int as n from app.messages where thread_id = ${T1} and direction = 'outbound' and body_text like 'Hello Karthik%'`;
    expect(count[0]!.n).toBe(1);
    const thread = await json('GET', `/api/threads/${T1}`);
    expect(thread.body.snippet).toContain('Draft B/L attached');
  });

  it('sanitises composed HTML and derives the text', async () => {
    const res = await json('POST', `/api/threads/${T1}/messages`, {
      body: { html: '<p>Hello <b>team</b><script>alert(1)</script><img src=x onerror=alert(2)></p>' },
    });
    expect(res.body.bodyHtml).not.toMatch(/script|onerror/);
    expect(res.body.bodyText).toContain('Hello team');
  });

  it('saves a draft, edits it, sends it; only drafts change', async () => {
    const draft = await json('POST', `/api/threads/${T1}/messages`, { body: { draft: true, text: 'first words' } });
    expect(draft.body.status).toBe('draft');
    expect(await sendJobs(draft.body.id)).toHaveLength(0);
    const edited = await json('PATCH', `/api/messages/${draft.body.id}`, { body: { text: 'better words', cc: [{ address: 'Meena@TataTextiles.example' }] } });
    expect(edited.body).toMatchObject({ bodyText: 'better words', ccRecipients: [{ address: 'meena@tatatextiles.example' }] });
    expect((await json('PATCH', `/api/messages/${draft.body.id}`, { as: 'admin', body: { text: 'x' } })).status).toBe(200);
    expect((await json('PATCH', `/api/messages/${draft.body.id}`, { as: 'viewer', body: { text: 'x' } })).status).toBe(403);
    const sent = await json('POST', `/api/messages/${draft.body.id}/send`);
    expect(sent.body.status).toBe('queued');
    expect(await sendJobs(draft.body.id)).toHaveLength(1);
    expect((await json('PATCH', `/api/messages/${draft.body.id}`, { body: { text: 'too late' } })).status).toBe(409);
    expect((await json('POST', `/api/messages/${draft.body.id}/send`)).status).toBe(409);
    const other = await json('POST', `/api/threads/${T1}/messages`, { as: 'manager', body: { draft: true, text: 'manager draft' } });
    expect((await json('PATCH', `/api/messages/${other.body.id}`, { body: { text: 'agent edits' } })).status).toBe(403);
    expect((await json('DELETE', `/api/messages/${other.body.id}`, { as: 'manager' })).status).toBe(204);
  });

  it('refuses empty replies and replies with nowhere to send from', async () => {
    const empty = await json('POST', `/api/threads/${T1}/messages`, { body: {} });
    expect(empty.status).toBe(422);
    expect(empty.body.error.details.issues[0].path).toBe('body.text');
    await db.sql`update app.channels set status = 'disabled' where id = ${channelId}`;
    const nowhere = await json('POST', `/api/threads/${T1}/messages`, { body: { text: 'hi' } });
    expect(nowhere.status).toBe(422);
    expect(nowhere.body.error.message).toContain('No active mailbox');
    await db.sql`update app.channels set status = 'active' where id = ${channelId}`;
    const whatsapp = await json('POST', '/api/threads/10000004-0000-4000-8000-000000000004/messages', { body: { text: 'hi' } });
    expect(whatsapp.status).toBe(422);
  });
});
