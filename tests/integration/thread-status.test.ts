// Snoozing with the times people type, read in the organization's time zone, and the status
// timestamps a thread keeps. Every malformed value is a 422 naming the field, never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';

let db: TestDatabase;
let org: TestOrg;
beforeAll(async () => {
  db = await testDatabase();
  org = await newOrganization(db.sql, { timezone: 'Europe/Berlin' });
});
afterAll(() => db.close());

const newThread = async () => (await org.json('POST', '/api/threads', { body: { subject: 'Reefer plug-in at Hamburg' } })).body.id as string;
const paths = (body: any) => body.error.details.issues.map((i: any) => i.path);

describe('snoozing', () => {
  it('reads a time without an offset in the organization time zone, and keeps an instant as it is', async () => {
    const id = await newThread();
    const local = await org.json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: '2031-01-06T10:00:00' } });
    expect(local.status).toBe(200);
    expect(local.body).toMatchObject({ status: 'snoozed', snoozedUntil: '2031-01-06T09:00:00.000Z' });
    const instant = await org.json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: '2031-01-06T10:00:00+05:30' } });
    expect(instant.body.snoozedUntil).toBe('2031-01-06T04:30:00.000Z');
    const minutes = await org.json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: '2031-07-01T08:15' } });
    expect(minutes.body.snoozedUntil).toBe('2031-07-01T06:15:00.000Z');
  });

  it('refuses a local time the clocks skip, and takes the earlier of a time they pass twice', async () => {
    const id = await newThread();
    const gap = await org.json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: '2031-03-30T02:30' } });
    expect(gap.status).toBe(422);
    expect(paths(gap.body)).toEqual(['body.snoozedUntil']);
    expect(gap.body.error.message).toMatch(/does not exist in Europe\/Berlin/);
    const fold = await org.json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: '2031-10-26T02:30' } });
    expect(fold.status).toBe(200);
    expect(fold.body.snoozedUntil).toBe('2031-10-26T00:30:00.000Z');
  });

  it('answers 422 naming body.snoozedUntil for a date, a word, a number or a past time, never 500', async () => {
    const id = await newThread();
    for (const snoozedUntil of ['2031-01-01', 'tomorrow', 12345, '', '2031-13-01T10:00', '2020-01-01T10:00:00', '2020-01-01T10:00:00Z']) {
      const res = await org.json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil } });
      expect(res.status, String(snoozedUntil)).toBe(422);
      expect(paths(res.body), String(snoozedUntil)).toEqual(['body.snoozedUntil']);
    }
    const mixed = await org.json('PATCH', `/api/threads/${id}`, { body: { status: 'open', snoozedUntil: '2031-01-06T10:00' } });
    expect(paths(mixed.body)).toEqual(['body.snoozedUntil']);
    const both = await org.json('PATCH', `/api/threads/${id}`, { body: { status: 'archived', snoozedUntil: 'tomorrow' } });
    expect(both.status).toBe(422);
    expect(paths(both.body).sort()).toEqual(['body.snoozedUntil', 'body.status']);
  });
});

describe('status timestamps', () => {
  it('keeps resolvedAt when a resolved thread is closed, and clears it when the thread reopens', async () => {
    const id = await newThread();
    const resolved = await org.json('PATCH', `/api/threads/${id}`, { body: { status: 'resolved' } });
    expect(resolved.body.resolvedAt).toBeTruthy();
    const closed = await org.json('PATCH', `/api/threads/${id}`, { body: { status: 'closed' } });
    expect(closed.body).toMatchObject({ status: 'closed', resolvedAt: resolved.body.resolvedAt });
    expect(closed.body.closedAt).toBeTruthy();
    const reopened = await org.json('PATCH', `/api/threads/${id}`, { body: { status: 'open' } });
    expect(reopened.body).toMatchObject({ status: 'open', resolvedAt: null, closedAt: null });
  });
});

describe('cross-field checks never see a field that failed', () => {
  it('answers 422 for malformed mailbox, upload and task bodies', async () => {
    const mailbox = await org.json('POST', '/api/channels', {
      as: 'admin',
      body: { kind: 'email', name: 'Ops', address: `ops@${org.domain}`, imap: { host: 'imap.example.com', username: 'u', auth: 'password' } },
    });
    expect(mailbox.status).toBe(422);
    expect(paths(mailbox.body)).toEqual(['body.imap.auth']);
    const upload = await org.json('POST', '/api/attachments/uploads', { body: { filename: 42, contentType: 7, sizeBytes: 'big' } });
    expect(upload.status).toBe(422);
    expect(paths(upload.body).sort()).toEqual(['body.contentType', 'body.filename', 'body.sizeBytes']);
    const task = await org.json('POST', '/api/actions', { body: { title: 'Chase VGM', threadId: 'nope', dueAt: 'soon' } });
    expect(task.status).toBe(422);
    expect(paths(task.body).sort()).toEqual(['body.dueAt', 'body.threadId']);
  });
});
