// The mail quarantine through its admin API: what the poller put there is listed (by channel and
// folder, newest first, pages by cursor) with its size and a signed link to its raw source but never
// the source itself; reprocessing runs the source through parse and ingest again (a new failure keeps
// the row with the new error, success stores the message and resolves the row); discarding resolves
// it with an audit row; every change is announced on the organization's topic.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeRawSource } from '../../lib/attachments/service.js';
import type { Ctx } from '../../lib/context.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { quarantineMessage } from '../../lib/email/quarantine.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { mail } from '../helpers/mail.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

/** A mailbox channel of the seed organization (no server behind it: nothing here connects). */
async function mailbox(): Promise<{ id: string; address: string }> {
  const address = `ops+q${randomUUID().slice(0, 8)}@seahawk-logistics.in`;
  const settings = { imap: { host: '203.0.113.10', port: 993, tls: true, username: 'u', auth: { method: 'password' } }, threadToken: 'reply_to' };
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.channels (org_id, kind, name, address, settings) values (${SEED_ORG_ID}, 'email', 'Quarantine test', ${address}, ${db.sql.json(settings)}) returning id`;
  return { id: row!.id, address };
}

let uid = 100;
/** Quarantines a message the way the poller does (its raw source kept, unless it was too large to download). */
async function quarantine(channelId: string, raw: string | Buffer | null, options: { folder?: string; error?: string } = {}) {
  const bytes = raw === null ? null : Buffer.from(raw);
  const rawStoragePath = bytes ? await storeRawSource(SEED_ORG_ID, randomUUID(), bytes) : null;
  const input = {
    channelId,
    folder: options.folder ?? 'INBOX',
    uidValidity: '7',
    uid: ++uid,
    rawStoragePath,
    rawSize: bytes?.length ?? 80_000_000,
    error: options.error ?? 'The message cannot be read: sample',
  };
  await withClaims(systemClaims(SEED_ORG_ID), (sql) => {
    const ctx: Ctx = { requestId: 'poll:test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] };
    return quarantineMessage(ctx, input);
  });
  const [row] = await db.sql<{ id: string }[]>`select id from app.mail_quarantine where channel_id = ${channelId} and uid = ${input.uid}`;
  return { id: row!.id, uid: input.uid };
}

const junk = () => {
  const bytes = Buffer.alloc(3000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = 1 + (i % 7);
  return bytes;
};

describe('GET /api/admin/mail-quarantine', () => {
  it('lists by channel and folder, newest first, in pages, with size and a download link but never the source', async () => {
    const box = await mailbox();
    const since = await broadcastsSince(db.sql);
    const marker = `quarantine-marker-${randomUUID()}`;
    const first = await quarantine(box.id, junk(), { error: 'The message cannot be read: no header fields and binary content' });
    const second = await quarantine(box.id, mail({ from: 'x@y.example', subject: 'Unstorable', body: marker }), {
      folder: 'Archive',
      error: 'Storing the message failed 3 times',
    });
    const third = await quarantine(box.id, null, { error: 'The message is 80000000 bytes, more than the limit' });

    const all = await json('GET', `/api/admin/mail-quarantine?channelId=${box.id}`, { as: 'admin' });
    expect(all.status).toBe(200);
    expect(all.body.data.map((q: any) => q.id)).toEqual([third.id, second.id, first.id]);
    expect(all.body.nextCursor).toBeNull();
    expect(JSON.stringify(all.body)).not.toContain(marker);
    const archived = all.body.data[1];
    expect(archived).toMatchObject({
      channelId: box.id,
      channelName: 'Quarantine test',
      folder: 'Archive',
      uid: second.uid,
      uidValidity: 7,
      status: 'open',
      attempts: 0,
    });
    expect(archived.raw).toMatchObject({
      size: expect.any(Number),
      stored: true,
      download: { url: expect.stringContaining('/api/storage/object'), expiresAt: expect.any(String) },
    });
    expect(all.body.data[0].raw).toEqual({ size: 80_000_000, stored: false, download: null });
    // The link serves the source, byte for byte.
    const url = new URL(archived.raw.download.url);
    const fetched = await call('GET', `${url.pathname}${url.search}`, { token: null });
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toContain(marker);

    const folder = await json('GET', `/api/admin/mail-quarantine?channelId=${box.id}&folder=Archive`, { as: 'owner' });
    expect(folder.body.data.map((q: any) => q.id)).toEqual([second.id]);
    const page1 = await json('GET', `/api/admin/mail-quarantine?channelId=${box.id}&limit=2`, { as: 'admin' });
    expect(page1.body.data.map((q: any) => q.id)).toEqual([third.id, second.id]);
    const page2 = await json('GET', `/api/admin/mail-quarantine?channelId=${box.id}&limit=2&cursor=${page1.body.nextCursor}`, { as: 'admin' });
    expect(page2.body).toEqual({ data: [expect.objectContaining({ id: first.id })], nextCursor: null });

    const one = await json('GET', `/api/admin/mail-quarantine/${second.id}`, { as: 'admin' });
    expect(one.body).toMatchObject({
      id: second.id,
      error: 'Storing the message failed 3 times',
      raw: { stored: true, download: { url: expect.any(String) } },
    });

    // Announced to the organization, without the error text (every member hears the org topic).
    const events = (await since()).filter((e) => e.event === 'mail_quarantine.created');
    expect(events.map((e) => [e.topic, e.payload.data.id])).toEqual([
      [`org:${SEED_ORG_ID}`, first.id],
      [`org:${SEED_ORG_ID}`, second.id],
      [`org:${SEED_ORG_ID}`, third.id],
    ]);
    expect(events[0]!.payload.data).not.toHaveProperty('error');
  });

  it('names the bad query field, and is for owners and admins only', async () => {
    const bad = await json('GET', '/api/admin/mail-quarantine?channelId=inbox&status=stuck&limit=500', { as: 'admin' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: any) => i.path).sort()).toEqual(['query.channelId', 'query.limit', 'query.status']);
    expect((await json('GET', '/api/admin/mail-quarantine', { as: 'manager' })).status).toBe(403);
    const box = await mailbox();
    const q = await quarantine(box.id, junk());
    expect((await json('GET', `/api/admin/mail-quarantine/${q.id}`, { as: 'other' })).status).toBe(404);
    expect((await json('POST', `/api/admin/mail-quarantine/${q.id}/reprocess`, { as: 'other' })).status).toBe(404);
  });
});

describe('POST /api/admin/mail-quarantine/{id}/reprocess', () => {
  it('keeps the row with the new error while storing still fails, then stores the message and resolves the row', async () => {
    const box = await mailbox();
    const subject = `Reprocess me ${randomUUID()}`;
    const q = await quarantine(
      box.id,
      mail({ from: 'Ravi <ravi@newconsignee.example>', to: box.address, subject, body: 'Container MSKU 123456-5 is ready.' }),
      {
        error: 'Storing UID 5 of "INBOX" failed: index row size 6080 exceeds btree version 4 maximum 2704',
      },
    );
    // What made storing fail is still there: a check the database applies to this message.
    const guard = `quarantine_guard_${randomUUID().replace(/-/g, '')}`;
    await db.sql.unsafe(`alter table app.messages add constraint ${guard} check (subject is distinct from '${subject}') not valid`);
    const since = await broadcastsSince(db.sql);
    const failed = await json('POST', `/api/admin/mail-quarantine/${q.id}/reprocess`, { as: 'admin' });
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({
      outcome: 'failed',
      error: expect.stringContaining(guard),
      quarantine: { id: q.id, status: 'open', attempts: 1, error: expect.stringContaining(guard) },
    });
    expect((await db.sql`select 1 from app.messages where subject = ${subject}`).length).toBe(0);
    expect((await since()).map((e) => e.event)).toEqual(['mail_quarantine.updated']);

    // The cause is gone: the same source now goes in.
    await db.sql.unsafe(`alter table app.messages drop constraint ${guard}`);
    const done = await json('POST', `/api/admin/mail-quarantine/${q.id}/reprocess`, { as: 'owner' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      outcome: 'stored',
      messageId: expect.any(String),
      threadId: expect.any(String),
      quarantine: { status: 'reprocessed', attempts: 2, resolvedBy: SEED_USERS.owner.id },
    });
    expect(done.body.quarantine.messageId).toBe(done.body.messageId);
    const messages = await json('GET', `/api/threads/${done.body.threadId}/messages`, { as: 'agent' });
    expect(messages.body.data.map((m: any) => [m.id, m.subject, m.channelId])).toEqual([[done.body.messageId, subject, box.id]]);
    const [analysis] = await db.sql`select status from app.outbox where name = 'message.analyze' and payload ->> 'messageId' = ${done.body.messageId}`;
    expect(analysis).toBeTruthy();
    const [audit] = await db.sql`select actor_user_id, data from app.audit_log where entity_id = ${q.id} and action = 'mail_quarantine.reprocessed'`;
    expect(audit).toMatchObject({ actorUserId: SEED_USERS.owner.id, data: { outcome: 'stored', messageId: done.body.messageId } });

    expect((await json('GET', `/api/admin/mail-quarantine?channelId=${box.id}`, { as: 'admin' })).body.data).toEqual([]);
    const resolved = await json('GET', `/api/admin/mail-quarantine?channelId=${box.id}&status=resolved`, { as: 'admin' });
    expect(resolved.body.data.map((r: any) => [r.id, r.status])).toEqual([[q.id, 'reprocessed']]);
    const again = await json('POST', `/api/admin/mail-quarantine/${q.id}/reprocess`, { as: 'admin' });
    expect(again.status).toBe(409);
  });

  it('keeps an unreadable source with the new error, refuses one never downloaded, and resolves one already stored since', async () => {
    const box = await mailbox();
    const unreadable = await quarantine(box.id, junk(), { error: 'old error' });
    const res = await json('POST', `/api/admin/mail-quarantine/${unreadable.id}/reprocess`, { as: 'admin' });
    expect(res.body).toMatchObject({ outcome: 'failed', error: expect.stringContaining('cannot be read'), quarantine: { status: 'open', attempts: 1 } });

    const tooLarge = await quarantine(box.id, null);
    const refused = await json('POST', `/api/admin/mail-quarantine/${tooLarge.id}/reprocess`, { as: 'admin' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('never downloaded');

    const raw = mail({ from: 'karthik@tatatextiles.example', to: box.address, subject: 'Stored meanwhile', messageId: `${randomUUID()}@tatatextiles.example` });
    const meanwhile = await quarantine(box.id, raw);
    const { ingestEmail } = await import('../../lib/email/ingest.js');
    const { parseEmail } = await import('../../lib/email/parse.js');
    const parsed = await parseEmail(Buffer.from(raw));
    const stored = await withClaims(systemClaims(SEED_ORG_ID), (sql) =>
      ingestEmail({ requestId: 't', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] }, parsed, { channelId: box.id, address: box.address }),
    );
    const dup = await json('POST', `/api/admin/mail-quarantine/${meanwhile.id}/reprocess`, { as: 'admin' });
    expect(dup.body).toMatchObject({ outcome: 'duplicate', messageId: stored.messageId, quarantine: { status: 'reprocessed', messageId: stored.messageId } });
  });
});

describe('DELETE /api/admin/mail-quarantine/{id}', () => {
  it('discards with an audit row and an event; then it is listed only as resolved, and cannot be discarded or reprocessed again', async () => {
    const box = await mailbox();
    const q = await quarantine(box.id, junk(), { error: 'The message cannot be read: junk' });
    const since = await broadcastsSince(db.sql);
    const res = await json('DELETE', `/api/admin/mail-quarantine/${q.id}`, { as: 'admin' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: q.id, status: 'discarded', resolvedBy: SEED_USERS.admin.id, raw: { stored: true } });
    const [audit] = await db.sql`select actor_user_id, data from app.audit_log where entity_id = ${q.id} and action = 'mail_quarantine.discarded'`;
    expect(audit).toMatchObject({ actorUserId: SEED_USERS.admin.id, data: { folder: 'INBOX', error: 'The message cannot be read: junk' } });
    const events = await since();
    expect(events.map((e) => [e.topic, e.event, e.payload.data.status])).toEqual([[`org:${SEED_ORG_ID}`, 'mail_quarantine.updated', 'discarded']]);

    expect((await json('GET', `/api/admin/mail-quarantine?channelId=${box.id}`, { as: 'admin' })).body.data).toEqual([]);
    const everything = await json('GET', `/api/admin/mail-quarantine?channelId=${box.id}&status=all`, { as: 'admin' });
    expect(everything.body.data.map((r: any) => r.status)).toEqual(['discarded']);
    expect((await json('DELETE', `/api/admin/mail-quarantine/${q.id}`, { as: 'admin' })).status).toBe(409);
    expect((await json('POST', `/api/admin/mail-quarantine/${q.id}/reprocess`, { as: 'admin' })).status).toBe(409);
    expect((await json('DELETE', `/api/admin/mail-quarantine/${randomUUID()}`, { as: 'admin' })).status).toBe(404);
  });
});
