// Notifications end to end through the API: created by mentions, assignments, due actions and SLA
// events as each member's preferences say, listed and read, and mailed when it matters. The test
// owns the clock (lib/time.ts setClock) on a timeline hours in the past, so every job it queues is
// already due for the outbox, and it runs them itself as that clock reaches their time (runDue): the
// mail's delay, quiet hours and digests are decided by the test's clock alone.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../lib/config.js';
import { asSystem } from '../../lib/context.js';
import { ingestEmail } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import { runJob } from '../../lib/jobs/run.js';
import { notifySlaEvent } from '../../lib/notifications/sla.js';
import { setClock } from '../../lib/time.js';
import { call, json } from '../helpers/api.js';
import { captureOutbound } from '../helpers/captured-mail.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { mail } from '../helpers/mail.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
const MIN = 60_000;
const HOUR = 60 * MIN;
let outbound: ReturnType<typeof captureOutbound>;
/** The test's clock: an instant it set, or null for the system clock. */
let clock: Date | null = null;

beforeAll(async () => {
  db = await testDatabase();
  outbound = captureOutbound();
  setClock(() => (clock ? new Date(clock.getTime()) : new Date()));
});
afterEach(() => {
  clock = null;
});
afterAll(async () => {
  outbound.release();
  setClock(undefined);
  await db.close();
});

/** A timeline for one test: 12 hours ago, on a whole minute. */
const timeline = () => new Date(Math.floor((Date.now() - 12 * HOUR) / MIN) * MIN);
const hhmm = (d: Date) => d.toISOString().slice(11, 16);

/** Runs this organization's notification and action jobs whose time the test's clock has reached, until none is left. */
async function runDue(org: TestOrg): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const due = await db.sql<{ id: string }[]>`
      select id from app.outbox where org_id = ${org.id} and status = 'pending' and name in ('notification.email', 'action.due')
        and run_at <= ${clock ?? new Date()} order by run_at, id`;
    if (due.length === 0) return;
    for (const { id } of due) expect(await runJob(id)).toBe('done');
  }
}

const mailsTo = (address: string) => outbound.sent.filter((s) => s.email.to.some((t) => t.address === address));

async function newThread(org: TestOrg, subject = `Booking ${randomUUID().slice(0, 8)}`): Promise<string> {
  const res = await org.json('POST', '/api/threads', { body: { subject } });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** The agent mentions the manager in a note on the thread. */
async function mention(org: TestOrg, threadId: string, text = 'please check the draft B/L'): Promise<string> {
  const res = await org.json('POST', `/api/threads/${threadId}/notes`, { body: { body: text, mentions: [org.users.manager.id] } });
  expect(res.status).toBe(201);
  return res.body.id;
}

const notificationsOf = async (org: TestOrg, query = '') => (await org.json('GET', `/api/notifications${query}`, { as: 'manager' })).body;

describe('notifications in the app', () => {
  it('lists a mention with the unread count, filters by type and unread, pages, and marks read by id or up to a time', async () => {
    const org = await newOrganization(db.sql);
    const threadId = await newThread(org);
    const since = await broadcastsSince(db.sql);
    const noteId = await mention(org, threadId);
    const assigned = await org.json('POST', `/api/threads/${threadId}/assign`, { body: { assigneeId: org.users.manager.id } });
    expect(assigned.status).toBe(200);

    const all = await notificationsOf(org);
    expect(all.unreadCount).toBe(2);
    expect(all.data.map((n: any) => n.type)).toEqual(['assignment', 'mention']);
    expect(all.data[1]).toMatchObject({ type: 'mention', threadId, entityType: 'note', entityId: noteId, readAt: null });
    const created = (await since()).filter((b) => b.event === 'notification.created');
    expect(created.map((b) => b.topic)).toEqual([`user:${org.users.manager.id}`, `user:${org.users.manager.id}`]);

    const mentions = await notificationsOf(org, '?type=mention');
    expect(mentions.data.map((n: any) => n.id)).toEqual([all.data[1].id]);
    const first = await notificationsOf(org, '?limit=1');
    expect(first.data).toHaveLength(1);
    const second = await notificationsOf(org, `?limit=1&cursor=${first.nextCursor}`);
    expect(second.data.map((n: any) => n.id)).toEqual([all.data[1].id]);
    expect(second.nextCursor).toBeNull();
    // Nobody else sees them.
    expect((await org.json('GET', '/api/notifications')).body.data).toEqual([]);

    const readSince = await broadcastsSince(db.sql);
    const read = await org.json('POST', '/api/notifications/read', { as: 'manager', body: { ids: [all.data[1].id] } });
    expect(read.body).toEqual({ read: 1, ids: [all.data[1].id], unreadCount: 1 });
    const readEvents = (await readSince()).filter((b) => b.event === 'notification.read');
    expect(readEvents.map((b) => [b.topic, b.payload.data.ids])).toEqual([[`user:${org.users.manager.id}`, [all.data[1].id]]]);
    expect((await notificationsOf(org, '?unread=true')).data.map((n: any) => n.type)).toEqual(['assignment']);

    const rest = await org.json('POST', '/api/notifications/read', { as: 'manager', body: { before: new Date(Date.now() + MIN).toISOString() } });
    expect(rest.body).toMatchObject({ read: 1, unreadCount: 0 });
  });

  it('names the bad field: ids that are not ids, a type it does not know, a quiet hour that is not a time', async () => {
    const org = await newOrganization(db.sql);
    const bad = await org.json('POST', '/api/notifications/read', { body: { ids: ['x'] } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: any) => i.path)).toContain('body.ids.0');
    const type = await org.json('GET', '/api/notifications?type=mention,gossip');
    expect(type.status).toBe(422);
    expect(type.body.error.details.issues[0].path).toMatch(/^query\.type/);
    const quiet = await org.json('PUT', '/api/me/notification-preferences', { body: { quietHours: { start: '25:00', end: '07:00' } } });
    expect(quiet.status).toBe(422);
    expect(quiet.body.error.details.issues.map((i: any) => i.path)).toEqual(['body.quietHours.start']);
  });

  it('preferences off: nothing is created, announced, queued or sent', async () => {
    const org = await newOrganization(db.sql);
    clock = timeline();
    const put = await org.json('PUT', '/api/me/notification-preferences', { as: 'manager', body: { types: { mention: 'off' } } });
    expect(put.status).toBe(200);
    expect(put.body.types).toMatchObject({ mention: 'off', assignment: 'email', sla_warning: 'in_app' });
    expect((await org.json('GET', '/api/me/notification-preferences', { as: 'manager' })).body.types.mention).toBe('off');
    const threadId = await newThread(org);
    const since = await broadcastsSince(db.sql);
    await mention(org, threadId);
    expect((await notificationsOf(org)).data).toEqual([]);
    expect((await since()).filter((b) => b.event === 'notification.created')).toEqual([]);
    const jobs = await db.sql`select id from app.outbox where org_id = ${org.id} and name = 'notification.email'`;
    expect(jobs).toEqual([]);
    clock = new Date(clock!.getTime() + HOUR);
    await runDue(org);
    expect(mailsTo(org.users.manager.email)).toEqual([]);
  });
});

describe('notification mail', () => {
  it('a mention during quiet hours is mailed once, when they end', async () => {
    const org = await newOrganization(db.sql);
    const t0 = timeline();
    clock = t0;
    const quietEnd = new Date(t0.getTime() + 2 * HOUR);
    const put = await org.json('PUT', '/api/me/notification-preferences', {
      as: 'manager',
      body: { quietHours: { start: hhmm(new Date(t0.getTime() - HOUR)), end: hhmm(quietEnd), timeZone: 'UTC' } },
    });
    expect(put.body.quietHours).toEqual({ start: hhmm(new Date(t0.getTime() - HOUR)), end: hhmm(quietEnd), timeZone: 'UTC' });
    const threadId = await newThread(org, 'Quiet hours check');
    await mention(org, threadId);

    clock = new Date(t0.getTime() + 5 * MIN); // the delay is over, but it is night for the member
    await runDue(org);
    clock = new Date(t0.getTime() + HOUR);
    await runDue(org);
    expect(mailsTo(org.users.manager.email)).toEqual([]);

    clock = quietEnd;
    await runDue(org);
    clock = new Date(quietEnd.getTime() + 3 * HOUR);
    await runDue(org);
    const mails = mailsTo(org.users.manager.email);
    expect(mails).toHaveLength(1);
    const m = mails[0]!.email;
    expect(m.subject).toContain('mentioned you: Quiet hours check');
    expect(m.text).toContain(`https://app.banxway.test/threads/${threadId}`);
    expect(m.headers).toMatchObject({
      'Auto-Submitted': 'auto-generated',
      'X-Banxway-Notification': 'mention',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'List-Unsubscribe': expect.stringMatching(/^<https:\/\/banxway\.test\/api\/notifications\/unsubscribe\?token=[\w.-]+>$/),
    });
    const [n] = await db.sql<{ emailState: string; emailedAt: Date }[]>`
      select email_state, emailed_at from app.notifications where org_id = ${org.id} and user_id = ${org.users.manager.id}`;
    expect(n).toEqual({ emailState: 'sent', emailedAt: quietEnd });
  });

  it('mail held by quiet hours or a digest follows a change of them at once, and goes once', async () => {
    const org = await newOrganization(db.sql);
    const t0 = timeline();
    clock = t0;
    const put = async (body: object) => expect((await org.json('PUT', '/api/me/notification-preferences', { as: 'manager', body })).status).toBe(200);
    await put({ quietHours: { start: hhmm(new Date(t0.getTime() - HOUR)), end: hhmm(new Date(t0.getTime() + 3 * HOUR)), timeZone: 'UTC' }, digest: 'hourly' });
    await mention(org, await newThread(org, 'Held by the night'));
    clock = new Date(t0.getTime() + 5 * MIN);
    await runDue(org);
    clock = new Date(t0.getTime() + 30 * MIN);
    await runDue(org);
    expect(mailsTo(org.users.manager.email)).toEqual([]);

    await put({ quietHours: null }); // no more quiet hours: the held mail goes now
    await runDue(org);
    expect(mailsTo(org.users.manager.email).map((m) => m.email.subject)).toEqual([expect.stringContaining('Held by the night')]);

    clock = new Date(t0.getTime() + 35 * MIN);
    await mention(org, await newThread(org, 'Held by the digest'));
    clock = new Date(t0.getTime() + 40 * MIN);
    await runDue(org);
    expect(mailsTo(org.users.manager.email)).toHaveLength(1); // hourly: not before an hour after the last
    clock = new Date(t0.getTime() + 45 * MIN);
    await put({ digest: 'immediate' });
    await runDue(org);
    expect(mailsTo(org.users.manager.email).map((m) => m.email.subject)).toEqual([
      expect.stringContaining('Held by the night'),
      expect.stringContaining('Held by the digest'),
    ]);

    // The runs they were held for (the end of the quiet hours, the hour after the first mail) send nothing more.
    clock = new Date(t0.getTime() + 4 * HOUR);
    await runDue(org);
    expect(mailsTo(org.users.manager.email)).toHaveLength(2);
    const sent = await db.sql<{ emailedAt: Date }[]>`
      select emailed_at from app.notifications where org_id = ${org.id} and user_id = ${org.users.manager.id} order by created_at`;
    expect(sent.map((n) => n.emailedAt)).toEqual([new Date(t0.getTime() + 30 * MIN), new Date(t0.getTime() + 45 * MIN)]);
  });

  it('reading the notification in the app, or opening its thread, cancels its mail', async () => {
    const org = await newOrganization(db.sql);
    const t0 = timeline();
    clock = t0;
    const readHere = await newThread(org, 'Read in the app');
    await mention(org, readHere);
    const [n] = (await notificationsOf(org)).data;
    expect((await org.json('POST', '/api/notifications/read', { as: 'manager', body: { ids: [n.id] } })).status).toBe(200);
    const opened = await newThread(org, 'Opened the thread');
    await mention(org, opened);
    expect((await org.json('PUT', `/api/threads/${opened}/read`, { as: 'manager' })).status).toBe(200);

    clock = new Date(t0.getTime() + 10 * MIN);
    await runDue(org);
    expect(mailsTo(org.users.manager.email)).toEqual([]);
    const states = await db.sql<{ emailState: string }[]>`
      select email_state from app.notifications where org_id = ${org.id} and user_id = ${org.users.manager.id}`;
    expect(states.map((s) => s.emailState)).toEqual(['cancelled', 'cancelled']);
  });

  it('three notifications within the delay go as one digest', async () => {
    const org = await newOrganization(db.sql);
    const t0 = timeline();
    clock = t0;
    const threads = [await newThread(org, 'Digest one'), await newThread(org, 'Digest two'), await newThread(org, 'Digest three')];
    await mention(org, threads[0]!);
    clock = new Date(t0.getTime() + MIN);
    await mention(org, threads[1]!);
    clock = new Date(t0.getTime() + 3 * MIN);
    expect((await org.json('POST', `/api/threads/${threads[2]}/assign`, { body: { assigneeId: org.users.manager.id } })).status).toBe(200);

    clock = new Date(t0.getTime() + 5 * MIN);
    await runDue(org);
    clock = new Date(t0.getTime() + HOUR);
    await runDue(org);
    const mails = mailsTo(org.users.manager.email);
    expect(mails).toHaveLength(1);
    const m = mails[0]!.email;
    expect(m.subject).toBe(`3 notifications in ${org.name}`);
    for (const t of threads) expect(m.text).toContain(`https://app.banxway.test/threads/${t}`);
    expect(m.headers!['X-Banxway-Notification']).toBe('mention assignment');
  });

  it('with the hourly digest, mail goes at most once an hour, the notifications between in one mail', async () => {
    const org = await newOrganization(db.sql);
    const t0 = timeline();
    clock = t0;
    expect((await org.json('PUT', '/api/me/notification-preferences', { as: 'manager', body: { digest: 'hourly' } })).body.digest).toBe('hourly');
    await mention(org, await newThread(org, 'Hourly one'));
    clock = new Date(t0.getTime() + 5 * MIN);
    await runDue(org);
    expect(mailsTo(org.users.manager.email).map((m) => m.email.subject)).toEqual([expect.stringContaining('Hourly one')]);

    clock = new Date(t0.getTime() + 10 * MIN);
    await mention(org, await newThread(org, 'Hourly two'));
    clock = new Date(t0.getTime() + 20 * MIN);
    await mention(org, await newThread(org, 'Hourly three'));
    for (const at of [15, 25, 60]) {
      clock = new Date(t0.getTime() + at * MIN);
      await runDue(org);
      expect(mailsTo(org.users.manager.email)).toHaveLength(1);
    }
    clock = new Date(t0.getTime() + 65 * MIN); // an hour after the first mail
    await runDue(org);
    clock = new Date(t0.getTime() + 3 * HOUR);
    await runDue(org);
    const mails = mailsTo(org.users.manager.email);
    expect(mails).toHaveLength(2);
    expect(mails[1]!.email.subject).toBe(`2 notifications in ${org.name}`);
    expect(mails[1]!.email.text).toContain('Hourly two');
    expect(mails[1]!.email.text).toContain('Hourly three');
    const sent = await db.sql<{ emailedAt: Date }[]>`
      select emailed_at from app.notifications where org_id = ${org.id} and user_id = ${org.users.manager.id} order by created_at`;
    expect(sent.map((n) => n.emailedAt)).toEqual([new Date(t0.getTime() + 5 * MIN), new Date(t0.getTime() + 65 * MIN), new Date(t0.getTime() + 65 * MIN)]);
  });

  it('a notification made just before a mail goes waits its own delay: the mail waits for it, within one more delay', async () => {
    const org = await newOrganization(db.sql);
    const t0 = timeline();
    clock = t0;
    const first = await newThread(org, 'Window first');
    const late = await newThread(org, 'Window late');
    const later = await newThread(org, 'Window later');
    await mention(org, first);
    clock = new Date(t0.getTime() + 4 * MIN + 50_000); // ten seconds before the first one's mail
    await mention(org, late);
    clock = new Date(t0.getTime() + 5 * MIN);
    await runDue(org);
    expect(mailsTo(org.users.manager.email)).toEqual([]); // the mail waits for the late one's delay
    clock = new Date(t0.getTime() + 5 * MIN + 30_000);
    await mention(org, later); // due after the window (one delay past the first's time): its own mail
    clock = new Date(t0.getTime() + 7 * MIN);
    const [lateOne] = (await notificationsOf(org, '?type=mention')).data.filter((n: any) => n.threadId === late);
    expect((await org.json('POST', '/api/notifications/read', { as: 'manager', body: { ids: [lateOne.id] } })).status).toBe(200);

    clock = new Date(t0.getTime() + 9 * MIN + 50_000);
    await runDue(org);
    const mails = mailsTo(org.users.manager.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.email.subject).toContain('Window first');
    expect(mails[0]!.email.text).not.toContain(late); // read in its delay: never mailed
    expect(mails[0]!.email.text).not.toContain(later);

    clock = new Date(t0.getTime() + 10 * MIN + 30_000);
    await runDue(org);
    const after = mailsTo(org.users.manager.email);
    expect(after).toHaveLength(2);
    expect(after[1]!.email.subject).toContain('Window later');
    const states = await db.sql<{ threadId: string; emailState: string; emailedAt: Date | null }[]>`
      select thread_id, email_state, emailed_at from app.notifications where org_id = ${org.id} and user_id = ${org.users.manager.id} order by created_at`;
    expect(states).toEqual([
      { threadId: first, emailState: 'sent', emailedAt: new Date(t0.getTime() + 9 * MIN + 50_000) },
      { threadId: late, emailState: 'cancelled', emailedAt: null },
      { threadId: later, emailState: 'sent', emailedAt: new Date(t0.getTime() + 10 * MIN + 30_000) },
    ]);
  });

  it('the one-click unsubscribe (RFC 8058) stops that mail; a GET changes nothing; a bad token is refused', async () => {
    const org = await newOrganization(db.sql);
    const t0 = timeline();
    clock = t0;
    await mention(org, await newThread(org));
    clock = new Date(t0.getTime() + 5 * MIN);
    await runDue(org);
    const [m] = mailsTo(org.users.manager.email);
    const url = new URL(m!.email.headers!['List-Unsubscribe']!.slice(1, -1));
    const path = `${url.pathname}${url.search}`;

    const page = await call('GET', path, { token: null });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('List-Unsubscribe');
    expect((await org.json('GET', '/api/me/notification-preferences', { as: 'manager' })).body.types.mention).toBe('email');

    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await call('POST', path, { token: null, rawBody: '', headers: form })).status).toBe(422);
    expect(
      (await call('POST', path.replace(/token=[^&]+/, 'token=not.a.token'), { token: null, rawBody: 'List-Unsubscribe=One-Click', headers: form })).status,
    ).toBe(404);
    // What Gmail and Yahoo send (RFC 8058 3.1): multipart/form-data with the one field.
    const multipart = (value: string) => {
      const boundary = `----provider${randomUUID().replace(/-/g, '')}`;
      return {
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        rawBody: `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n${value}\r\n--${boundary}--\r\n`,
      };
    };
    const wrong = await call('POST', path, { token: null, ...multipart('Yes') });
    expect(wrong.status).toBe(422);
    expect((await wrong.json()).error.details.issues.map((i: any) => i.path)).toEqual(['body.List-Unsubscribe']);
    const broken = await call('POST', path, { token: null, rawBody: 'List-Unsubscribe=One-Click', headers: multipart('').headers });
    expect(broken.status).toBe(422);
    expect((await org.json('GET', '/api/me/notification-preferences', { as: 'manager' })).body.types.mention).toBe('email');
    const done = await call('POST', path, { token: null, ...multipart('One-Click') });
    expect(done.status).toBe(200);
    expect((await org.json('GET', '/api/me/notification-preferences', { as: 'manager' })).body.types.mention).toBe('in_app');
    // The urlencoded form (the page's button) is taken too; a second click is still a 200.
    expect((await call('POST', path, { token: null, rawBody: 'List-Unsubscribe=One-Click', headers: form })).status).toBe(200);

    // Still told in the app, never by mail.
    clock = new Date(t0.getTime() + HOUR);
    await mention(org, await newThread(org));
    clock = new Date(t0.getTime() + 2 * HOUR);
    await runDue(org);
    expect(mailsTo(org.users.manager.email)).toHaveLength(1);
    expect((await notificationsOf(org)).data).toHaveLength(2);
  });

  it('notification mail that comes back into a polled mailbox never starts an inbox thread', async () => {
    const org = await newOrganization(db.sql);
    const ops = `ops@${org.domain}`;
    const store = async (raw: string) =>
      asSystem(org.id, `test:${randomUUID()}`, [], async (ctx) => ingestEmail(ctx, await parseEmail(Buffer.from(raw)), { channelId: null, address: ops }));
    // The mail itself, delivered to a member whose address feeds the shared mailbox.
    const itself = await store(
      mail({ from: 'Banxway <no-reply@banxway.test>', to: ops, subject: 'Agent mentioned you: Booking', headers: { 'X-Banxway-Notification': 'mention' } }),
    );
    // A reply (or an auto-reply) quoting its Message-ID.
    const reply = await store(
      mail({ from: 'someone@elsewhere.example', to: ops, subject: 'Re: Agent mentioned you', inReplyTo: 'banxway-notification.abc@banxway.test' }),
    );
    for (const stored of [itself, reply]) {
      expect(stored.filter).toBe('bulk');
      const [t] = await db.sql<{ status: string }[]>`select status from app.threads where id = ${stored.threadId}`;
      expect(t!.status).toBe('bulk');
    }
  });
  it('a delivery failure report on notification mail starts no inbox thread, even from an allowed sender', async () => {
    const org = await newOrganization(db.sql);
    const t0 = timeline();
    clock = t0;
    await mention(org, await newThread(org, 'Bounce check'));
    clock = new Date(t0.getTime() + 5 * MIN);
    await runDue(org);
    const [sent] = mailsTo(org.users.manager.email);
    const notificationId = sent!.email.messageId!;
    expect(notificationId).toMatch(/^banxway-notification\./);
    const ops = `ops@${org.domain}`;
    const mta = `mx-${randomUUID().slice(0, 8)}.example`;
    const store = async (raw: string) =>
      asSystem(org.id, `test:${randomUUID()}`, [], async (ctx) => ingestEmail(ctx, await parseEmail(Buffer.from(raw)), { channelId: null, address: ops }));
    // A Postfix DSN (RFC 3464) as it arrives: the original Message-ID is only in the returned headers.
    const dsn = (originalId: string) => {
      const boundary = `${randomUUID()}/${mta}`;
      return [
        'Return-Path: <>',
        `From: MAILER-DAEMON@${mta} (Mail Delivery System)`,
        `To: ${ops}`,
        'Subject: Undelivered Mail Returned to Sender',
        'Date: Wed, 25 Nov 2026 11:02:14 +0530',
        'Auto-Submitted: auto-replied',
        `Message-Id: <${randomUUID()}@${mta}>`,
        'MIME-Version: 1.0',
        `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
        '',
        'This is a MIME-encapsulated message.',
        '',
        `--${boundary}`,
        'Content-Description: Notification',
        'Content-Type: text/plain; charset=us-ascii',
        '',
        `This is the mail system at host ${mta}.`,
        '',
        `<${org.users.manager.email}>: host ${mta} said: 550 5.1.1 User unknown`,
        '',
        `--${boundary}`,
        'Content-Description: Delivery report',
        'Content-Type: message/delivery-status',
        '',
        `Reporting-MTA: dns; ${mta}`,
        '',
        `Final-Recipient: rfc822; ${org.users.manager.email}`,
        'Action: failed',
        'Status: 5.1.1',
        'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
        '',
        `--${boundary}`,
        'Content-Description: Undelivered Message Headers',
        'Content-Type: text/rfc822-headers',
        '',
        `From: Banxway <${sent!.email.from.address}>`,
        `To: ${org.users.manager.email}`,
        `Subject: ${sent!.email.subject}`,
        `Message-ID: <${originalId}>`,
        '',
        `--${boundary}--`,
        '',
      ].join('\r\n');
    };
    const statusOf = async (threadId: string) => (await db.sql<{ status: string }[]>`select status from app.threads where id = ${threadId}`)[0]!.status;

    const bounced = await store(dsn(notificationId));
    expect(bounced.filter).toBe('bulk');
    expect(await statusOf(bounced.threadId)).toBe('bulk');
    // The same report on a customer's mail is a bounce the team should see (not bulk).
    const other = await store(dsn(`${randomUUID()}@${org.domain}`));
    expect(other.filter).toBeNull();

    // An allow rule for the reporting server's domain keeps its reports in the inbox, never ours.
    const rule = await org.json('POST', '/api/sender-rules', { as: 'owner', body: { kind: 'allow', match: 'domain', value: mta } });
    expect(rule.status).toBe(201);
    const allowed = await store(dsn(notificationId));
    expect(allowed.filter).toBe('bulk');
    expect(await statusOf(allowed.threadId)).toBe('bulk');
    const reply = await store(
      mail({ from: `someone@${mta}`, to: ops, subject: 'Re: Agent mentioned you', inReplyTo: notificationId, messageId: `${randomUUID()}@${mta}` }),
    );
    expect(reply.filter).toBe('bulk');
    const open =
      await db.sql`select id from app.threads where org_id = ${org.id} and id = any(${[bounced.threadId, allowed.threadId, reply.threadId]}::uuid[]) and status not in ('bulk', 'spam')`;
    expect(open).toEqual([]);
  });
});

describe('what else notifies', () => {
  it('an action due job after its due time was moved does nothing; the new time notifies due and overdue', async () => {
    const org = await newOrganization(db.sql);
    const t0 = timeline();
    clock = t0;
    const threadId = await newThread(org);
    const created = await org.json('POST', '/api/actions', {
      body: { threadId, title: 'Send the draft B/L', assigneeId: org.users.manager.id, dueAt: new Date(t0.getTime() + 3 * HOUR).toISOString() },
    });
    expect(created.status).toBe(201);
    const moved = await org.json('PATCH', `/api/actions/${created.body.id}`, { body: { dueAt: new Date(t0.getTime() + 6 * HOUR).toISOString() } });
    expect(moved.status).toBe(200);

    clock = new Date(t0.getTime() + 4 * HOUR); // the first due time has passed: its jobs run and find it moved
    await runDue(org);
    const ran = await db.sql`select id from app.outbox where org_id = ${org.id} and name = 'action.due' and status = 'done'`;
    expect(ran).toHaveLength(2);
    expect((await notificationsOf(org, '?type=action_due,action_overdue')).data).toEqual([]);

    clock = new Date(t0.getTime() + 5 * HOUR); // an hour before the new due time
    await runDue(org);
    const soon = (await notificationsOf(org, '?type=action_due,action_overdue')).data;
    expect(soon.map((n: any) => [n.type, n.entityId])).toEqual([['action_due', created.body.id]]);
    clock = new Date(t0.getTime() + 6 * HOUR);
    await runDue(org);
    const told = (await notificationsOf(org, '?type=action_due,action_overdue')).data;
    expect(told.map((n: any) => [n.type, n.entityId])).toEqual([
      ['action_overdue', created.body.id],
      ['action_due', created.body.id],
    ]);
  });

  it('a finished action tells nobody when its time comes', async () => {
    const org = await newOrganization(db.sql);
    const t0 = timeline();
    clock = t0;
    const created = await org.json('POST', '/api/actions', {
      body: {
        threadId: await newThread(org),
        title: 'Chase the VGM',
        assigneeId: org.users.manager.id,
        dueAt: new Date(t0.getTime() + 2 * HOUR).toISOString(),
      },
    });
    expect((await org.json('PATCH', `/api/actions/${created.body.id}`, { body: { status: 'done' } })).status).toBe(200);
    clock = new Date(t0.getTime() + 3 * HOUR);
    await runDue(org);
    expect((await notificationsOf(org, '?type=action_due,action_overdue')).data).toEqual([]);
  });

  it('an SLA warning tells the assignee; a breach also the team leads (every manager without a team)', async () => {
    const org = await newOrganization(db.sql);
    const threadId = await newThread(org);
    await org.json('POST', `/api/threads/${threadId}/assign`, { body: { assigneeId: org.users.agent.id } });
    const event = { id: randomUUID(), threadId, target: 'firstResponse' as const, dueAt: new Date(), policyId: null };
    const recipients = async (kind: 'warning' | 'breached') =>
      (await asSystem(org.id, `test:${randomUUID()}`, [], (ctx) => notifySlaEvent(ctx, { ...event, kind }))).sort();
    expect(await recipients('warning')).toEqual([org.users.agent.id]);
    expect(await recipients('breached')).toEqual([org.users.owner.id, org.users.admin.id, org.users.manager.id, org.users.agent.id].sort());

    const team = await org.json('POST', '/api/teams', {
      as: 'admin',
      body: { name: 'Sea Exports', memberIds: [org.users.agent.id, org.users.manager.id], leadIds: [org.users.manager.id] },
    });
    expect(team.status).toBe(201);
    await org.json('PATCH', `/api/threads/${threadId}`, { body: { teamId: team.body.id } });
    expect(await recipients('breached')).toEqual([org.users.agent.id, org.users.manager.id].sort());
    const breaches = await org.json('GET', '/api/notifications?type=sla_breach', { as: 'agent' });
    expect(breaches.body.data[0]).toMatchObject({ type: 'sla_breach', threadId, title: expect.stringMatching(/^First response overdue: /) });
  });

  it('the sla-check cron warns the assignee through the sla.event hook, once however often it runs', async () => {
    const org = await newOrganization(db.sql);
    const ops = `ops@${org.domain}`;
    const [policy] = (await org.json('GET', '/api/sla-policies')).body.data;
    // First response in 100 calendar minutes: the warning at 75.
    const patched = await org.json('PATCH', `/api/sla-policies/${policy.id}`, {
      as: 'admin',
      body: { targets: { normal: { firstResponse: { minutes: 100, business: false } } } },
    });
    expect(patched.status).toBe(200);
    // A customer wrote 80 minutes ago: the warning time has passed, the due time has not.
    const start = new Date(Math.floor((Date.now() - 80 * MIN) / 1000) * 1000);
    const raw = mail({ from: `shipper-${randomUUID().slice(0, 8)}@shipper.example`, to: ops, subject: 'SLA warning check', date: start });
    const { threadId } = await asSystem(org.id, `test:${randomUUID()}`, [], async (ctx) =>
      ingestEmail(ctx, await parseEmail(Buffer.from(raw)), { channelId: null, address: ops }),
    );
    expect((await org.json('POST', `/api/threads/${threadId}/assign`, { body: { assigneeId: org.users.manager.id } })).status).toBe(200);

    const cron = { token: null, headers: { authorization: `Bearer ${config().cronSecret}` } };
    const runHooks = async () => {
      const jobs = await db.sql<{ id: string }[]>`select id from app.outbox where org_id = ${org.id} and name = 'sla.event' and status = 'pending'`;
      for (const { id } of jobs) expect(await runJob(id)).toBe('done');
      return jobs.length;
    };
    expect((await json('GET', '/api/cron/sla-check', cron)).status).toBe(200);
    expect((await json('GET', '/api/cron/sla-check', cron)).status).toBe(200);
    expect(await runHooks()).toBe(1);
    expect((await json('GET', '/api/cron/sla-check', cron)).status).toBe(200);
    expect(await runHooks()).toBe(0);

    const warned = (await notificationsOf(org, '?type=sla_warning,sla_breach')).data;
    expect(warned.map((n: any) => [n.type, n.threadId, n.entityType])).toEqual([['sla_warning', threadId, 'thread']]);
    expect(warned[0].title).toMatch(/^First response due soon: SLA warning check/);
    // Nobody else is told of a warning.
    const others = await db.sql`select user_id from app.notifications where org_id = ${org.id} and type in ('sla_warning', 'sla_breach')`;
    expect(others).toEqual([{ userId: org.users.manager.id }]);
  });

  it("a customer's new message on an assigned thread tells the assignee", async () => {
    const org = await newOrganization(db.sql);
    const ops = `ops@${org.domain}`;
    const customer = `shipper-${randomUUID().slice(0, 8)}@shipper.example`;
    const store = async (raw: string) =>
      asSystem(org.id, `test:${randomUUID()}`, [], async (ctx) => ingestEmail(ctx, await parseEmail(Buffer.from(raw)), { channelId: null, address: ops }));
    const first = await store(mail({ from: customer, to: ops, subject: 'Rate for 2x40HC', messageId: `${randomUUID()}@shipper.example` }));
    await org.json('POST', `/api/threads/${first.threadId}/assign`, { body: { assigneeId: org.users.manager.id } });
    const second = await store(mail({ from: customer, to: ops, subject: 'Re: Rate for 2x40HC', messageId: `${randomUUID()}@shipper.example` }));
    expect(second.threadId).toBe(first.threadId);
    const told = (await notificationsOf(org, '?type=inbound_message')).data;
    expect(told.map((n: any) => [n.threadId, n.entityId])).toEqual([[first.threadId, second.messageId]]);
  });
});
