// Outbound email end to end: the email.send job against a local server that speaks Resend's API (and
// against the local .eml sink), and Resend's signed delivery reports through POST /api/webhooks/resend.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import type { Ctx } from '../../lib/context.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { parseEmail } from '../../lib/email/parse.js';
import { parseThreadToken, refreshSendingDomainStatus, sendEmail, threadTokenFor } from '../../lib/email/send-job.js';
import { enqueue } from '../../lib/jobs/enqueue.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { storage } from '../../lib/storage/index.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { fakeResend, resendEvent, signResendWebhook, TEST_WEBHOOK_SECRET, type FakeResend, type SentEmail } from '../helpers/fake-resend.js';
import { broadcastsSince } from '../helpers/realtime.js';

const T1 = '10000001-0000-4000-8000-000000000001'; // inbound, outbound, inbound (latest): a reply to Karthik
const T5 = '10000005-0000-4000-8000-000000000005'; // inbound, then our outbound answer
const T1_SUBJECT = 'Booking confirmation for 2x40HC Nhava Sheva to Hamburg';
const KARTHIK = { address: 'karthik@tatatextiles.example', name: 'Karthik Subramanian' };

let db: TestDatabase;
let fake: FakeResend;
let saved: Config;
let resendConfig: Config;
let localConfig: Config;
let dirs: string[] = [];
let mailOut: string;
let channelId: string;

beforeAll(async () => {
  db = await testDatabase();
  fake = await fakeResend();
  saved = config();
  const tmp = (p: string) => {
    const d = mkdtempSync(join(tmpdir(), p));
    dirs.push(d);
    return d;
  };
  mailOut = tmp('banxway-mail-out-');
  const storageDir = tmp('banxway-storage-');
  const common = { ...process.env, MAIL_OUT_DIR: mailOut, STORAGE_DIR: storageDir, RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET };
  resendConfig = parseConfig({ ...common, RESEND_API_KEY: fake.apiKey, RESEND_BASE_URL: fake.url });
  localConfig = parseConfig(common);
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.channels (org_id, kind, name, address, settings)
    values (${SEED_ORG_ID}, 'email', 'Operations', 'ops@seahawk-logistics.in', ${db.sql.json({ senderName: 'organization' })})
    on conflict (org_id, kind, address) do update set name = excluded.name, settings = excluded.settings
    returning id`;
  channelId = row!.id;
});

afterAll(async () => {
  setConfig(saved);
  await fake.close();
  await db.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

beforeEach(async () => {
  setConfig(resendConfig);
  fake.reset();
  for (const d of fake.domains) d.status = 'verified';
  await db.sql`update app.channels set settings = ${db.sql.json({ senderName: 'organization' })}, sending_domain_status = null where id = ${channelId}`;
});

interface QueueOptions {
  threadId?: string;
  to?: { address: string; name?: string }[];
  subject?: string;
  text?: string | null;
  html?: string | null;
  deadlineAt?: Date;
  attachment?: { filename: string; contentType: string; bytes: Buffer };
}

/** What the reply endpoint does: a queued outbound row, its attachments, and the email.send job. */
async function queueReply(options: QueueOptions = {}) {
  const threadId = options.threadId ?? T1;
  const [m] = await db.sql<{ id: string }[]>`
    insert into app.messages (org_id, thread_id, channel, channel_id, direction, status, from_address, to_recipients, subject, body_text, body_html)
    values (${SEED_ORG_ID}, ${threadId}, 'email', ${channelId}, 'outbound', 'queued', 'ops@seahawk-logistics.in',
            ${db.sql.json((options.to ?? [KARTHIK]) as never)}, ${options.subject ?? T1_SUBJECT},
            ${options.text === undefined ? 'Dear Karthik, the draft B/L is attached.' : options.text}, ${options.html === undefined ? '<p>Dear Karthik, the draft B/L is attached.</p>' : options.html})
    returning id`;
  const messageId = m!.id;
  if (options.attachment) {
    const path = `${SEED_ORG_ID}/attachments/${randomUUID()}/draft-bl.pdf`;
    await storage().putObject(path, options.attachment.bytes, options.attachment.contentType);
    await db.sql`
      insert into app.attachments (org_id, message_id, thread_id, filename, content_type, size_bytes, storage_path, status)
      values (${SEED_ORG_ID}, ${messageId}, ${threadId}, ${options.attachment.filename}, ${options.attachment.contentType},
              ${options.attachment.bytes.length}, ${path}, 'ready')`;
  }
  const jobId = await withClaims(systemClaims(SEED_ORG_ID), async (sql) => {
    const ctx: Ctx = { requestId: 'test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] };
    return enqueue(ctx, sendEmail, { messageId }, { deadlineAt: options.deadlineAt ?? new Date(Date.now() + 23 * 3600 * 1000) });
  });
  return { messageId, jobId };
}

const message = async (id: string) => (await db.sql`select * from app.messages where id = ${id}`)[0]!;
const job = async (id: string) => (await db.sql`select status, attempts, last_error from app.outbox where id = ${id}`)[0]!;
const runAgainNow = (jobId: string) => db.sql`update app.outbox set run_at = now() where id = ${jobId} and status = 'pending'`;

describe('email.send through Resend', () => {
  it('sends a reply with exactly the request Resend expects and records it as sent', async () => {
    const pdf = Buffer.from('%PDF-1.4\n% draft B/L MAEU123456789 for MSKU1234565\n');
    const since = await broadcastsSince(db.sql);
    const { messageId, jobId } = await queueReply({ attachment: { filename: 'Draft BL MAEU123456789.pdf', contentType: 'application/pdf', bytes: pdf } });
    expect(await drainJobs()).toEqual(['done']);

    expect(fake.requests).toHaveLength(1);
    const { headers, body } = fake.requests[0]!;
    expect(headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(headers['idempotency-key']).toBe(messageId);
    expect(headers['content-type']).toBe('application/json');
    const row = await message(messageId);
    const token = threadTokenFor(T1);
    expect(body).toEqual({
      // No member wrote it (queued directly): the organization's name, as senderName says.
      from: '"Seahawk Logistics Pvt Ltd" <ops@seahawk-logistics.in>',
      to: ['"Karthik Subramanian" <karthik@tatatextiles.example>'],
      reply_to: `ops+${token}@seahawk-logistics.in`,
      subject: `Re: ${T1_SUBJECT}`,
      html: '<p>Dear Karthik, the draft B/L is attached.</p>',
      text: 'Dear Karthik, the draft B/L is attached.',
      headers: {
        'Message-ID': `<${row.rfcMessageId}>`,
        'In-Reply-To': '<seed-1-2@tatatextiles.example>',
        References: '<seed-1-0@tatatextiles.example> <seed-1-2@tatatextiles.example>',
      },
      attachments: [{ filename: 'Draft BL MAEU123456789.pdf', content: pdf.toString('base64'), content_type: 'application/pdf' }],
      tags: [
        { name: 'message_id', value: messageId },
        { name: 'org_id', value: SEED_ORG_ID },
      ],
    });

    const sent = fake.emails[0]!;
    expect(row).toMatchObject({
      status: 'sent',
      providerMessageId: sent.id,
      inReplyTo: 'seed-1-2@tatatextiles.example',
      referencesIds: ['seed-1-0@tatatextiles.example', 'seed-1-2@tatatextiles.example'],
      subject: `Re: ${T1_SUBJECT}`,
      replyTo: `ops+${token}@seahawk-logistics.in`,
      errorCode: null,
    });
    expect(row.rfcMessageId).toMatch(/^[0-9a-f-]{36}@seahawk-logistics\.in$/);
    expect(row.sentAt).toBeInstanceOf(Date);
    // Known by our Message-ID and by the provider's id (which is not ours: the provider rewrites it).
    expect(row.externalIds).toEqual([row.rfcMessageId, sent.id]);
    expect(sent.messageId).not.toContain(row.rfcMessageId);
    expect(await job(jobId)).toMatchObject({ status: 'done', attempts: 1 });

    const [channel] = await db.sql`select sending_domain_status from app.channels where id = ${channelId}`;
    expect(channel!.sendingDomainStatus).toBe('verified');
    const events = await since();
    const updated = events.find((e) => e.event === 'message.updated');
    expect(updated?.topic).toBe(`org:${SEED_ORG_ID}:thread:${T1}`);
    expect(updated?.payload.data).toMatchObject({ id: messageId, status: 'sent', providerMessageId: sent.id });
    expect(events.find((e) => e.event === 'channel.updated')?.payload.data).toEqual({ id: channelId, sendingDomainStatus: 'verified' });
  });

  it('sends once when a job is retried after the provider accepted it (same idempotency key, same body)', async () => {
    // A failure after Resend said yes, before our transaction committed: the attempt rolls back.
    await db.sql.unsafe(`
      create sequence if not exists public.crash_after_send;
      create or replace function public.crash_after_send() returns trigger language plpgsql security definer set search_path = '' as $$
      begin
        if nextval('public.crash_after_send') = 1 then raise exception 'simulated crash after the provider accepted the email'; end if;
        return new;
      end $$;
      create trigger crash_after_send before update of provider_message_id on app.messages
        for each row when (new.provider_message_id is not null) execute function public.crash_after_send();`);
    try {
      const { messageId, jobId } = await queueReply();
      expect(await drainJobs()).toEqual(['retry']);
      expect((await message(messageId)).status).toBe('queued');
      expect((await job(jobId)).lastError).toContain('simulated crash');
      await runAgainNow(jobId);
      expect(await drainJobs()).toEqual(['done']);
      expect(fake.requests).toHaveLength(2);
      expect(fake.requests[1]!.headers['idempotency-key']).toBe(fake.requests[0]!.headers['idempotency-key']);
      expect(fake.requests[1]!.body).toEqual(fake.requests[0]!.body);
      expect(fake.emails).toHaveLength(1);
      expect(await message(messageId)).toMatchObject({ status: 'sent', providerMessageId: fake.emails[0]!.id });
    } finally {
      await db.sql.unsafe(`drop trigger crash_after_send on app.messages; drop function public.crash_after_send(); drop sequence public.crash_after_send;`);
    }
  });

  it('retries a 500 and sends on the next attempt', async () => {
    fake.failNext(500, 'internal_server_error', 'An unexpected error occurred.');
    const { messageId, jobId } = await queueReply();
    expect(await drainJobs()).toEqual(['retry']);
    expect(await message(messageId)).toMatchObject({ status: 'queued', errorCode: null });
    expect(await job(jobId)).toMatchObject({ status: 'pending', attempts: 1 });
    await runAgainNow(jobId);
    expect(await drainJobs()).toEqual(['done']);
    expect(fake.requests).toHaveLength(2);
    expect(fake.emails).toHaveLength(1);
    expect((await message(messageId)).status).toBe('sent');
  });

  it('retries rate limits too (429)', async () => {
    fake.failNext(429, 'rate_limit_exceeded', 'Too many requests. You can only make 2 requests per second.');
    const { jobId } = await queueReply();
    expect(await drainJobs()).toEqual(['retry']);
    await runAgainNow(jobId);
    expect(await drainJobs()).toEqual(['done']);
    expect(fake.emails).toHaveLength(1);
  });

  it('marks a 422 failed at once, without a retry, and says why', async () => {
    fake.failNext(422, 'validation_error', 'Invalid `to` field. The email address needs to follow the `email@example.com` format.');
    const since = await broadcastsSince(db.sql);
    const { messageId, jobId } = await queueReply();
    expect(await drainJobs()).toEqual(['dead']);
    const row = await message(messageId);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'validation_error', providerMessageId: null });
    expect(row.errorMessage).toContain('Invalid `to` field');
    expect(row.failedAt).toBeInstanceOf(Date);
    expect(await job(jobId)).toMatchObject({ status: 'dead', attempts: 1 });
    expect(await drainJobs()).toEqual([]);
    expect(fake.requests).toHaveLength(1);
    const updated = (await since()).filter((e) => e.event === 'message.updated');
    expect(updated.map((e) => e.payload.data.status)).toEqual(['failed']);
  });

  it('refuses to send from a domain Resend has not verified, without calling the send API', async () => {
    fake.domains[0]!.status = 'pending';
    fake.domains[0]!.records = [
      { record: 'SPF', status: 'verified' },
      { record: 'DKIM', status: 'pending' },
    ];
    const { messageId } = await queueReply();
    expect(await drainJobs()).toEqual(['dead']);
    const row = await message(messageId);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'domain_not_verified' });
    expect(row.errorMessage).toContain('seahawk-logistics.in is not verified');
    expect(fake.requests).toHaveLength(0);
    fake.domains[0]!.records = [
      { record: 'SPF', status: 'verified' },
      { record: 'DKIM', status: 'verified' },
    ];
  });

  it('stores the sending domain state when asked to refresh it', async () => {
    fake.domains[0]!.status = 'failed';
    const result = await withClaims(systemClaims(SEED_ORG_ID), (sql) =>
      refreshSendingDomainStatus({ requestId: 'test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] }, channelId),
    );
    expect(result).toEqual({ channelId, domain: 'seahawk-logistics.in', status: 'failed' });
    const [channel] = await db.sql`select sending_domain_status from app.channels where id = ${channelId}`;
    expect(channel!.sendingDomainStatus).toBe('failed');
    expect(fake.domainRequests.some((u) => u.startsWith('/domains?'))).toBe(true);
    fake.domains[0]!.status = 'verified';
    const viaApi = await json('POST', `/api/channels/${channelId}/verify-domain`, { as: 'admin' });
    expect(viaApi.status).toBe(200);
    expect(viaApi.body).toEqual({ channelId, domain: 'seahawk-logistics.in', status: 'verified' });
    expect((await json('POST', `/api/channels/${channelId}/verify-domain`, { as: 'agent' })).status).toBe(403);
  });

  it('marks the message failed when the deadline passed before it could be sent', async () => {
    const { messageId, jobId } = await queueReply({ deadlineAt: new Date(Date.now() - 1000) });
    expect(await drainJobs()).toEqual(['dead']);
    const row = await message(messageId);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'send_deadline_passed' });
    expect(row.errorMessage).toContain('needs a person');
    expect((await job(jobId)).status).toBe('dead');
    expect(fake.requests).toHaveLength(0);
  });

  it('stops retrying a provider outage at the deadline and marks the message failed', async () => {
    fake.failNext(503, 'internal_server_error', 'Service unavailable', 5);
    const { messageId } = await queueReply({ deadlineAt: new Date(Date.now() + 2000) });
    expect(await drainJobs()).toEqual(['dead']);
    const row = await message(messageId);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'send_deadline_passed' });
    expect(row.errorMessage).toContain('Service unavailable');
    expect(fake.emails).toHaveLength(0);
  });

  it('answers the latest inbound message even when our own answer came after it', async () => {
    const { messageId } = await queueReply({ threadId: T5, subject: 'Pre-alert: BERLIN EXPRESS 032E arriving JNPT' });
    expect(await drainJobs()).toEqual(['done']);
    expect(fake.requests[0]!.body.headers).toMatchObject({
      'In-Reply-To': '<seed-5-0@rtmforwarding.example>',
      References: '<seed-5-0@rtmforwarding.example>',
    });
    expect((await message(messageId)).inReplyTo).toBe('seed-5-0@rtmforwarding.example');
  });

  it('starts a new conversation without Re: or threading headers', async () => {
    const [t] = await db.sql<{ id: string }[]>`
      insert into app.threads (org_id, subject, channel, channel_id, counterpart) values (${SEED_ORG_ID}, 'Rate request: 1x40HC INNSA-USNYC', 'email', ${channelId}, 'karthik@tatatextiles.example')
      returning id`;
    await queueReply({ threadId: t!.id, subject: 'Rate request: 1x40HC INNSA-USNYC' });
    expect(await drainJobs()).toEqual(['done']);
    const body = fake.requests[0]!.body;
    expect(body.subject).toBe('Rate request: 1x40HC INNSA-USNYC');
    expect(Object.keys(body.headers)).toEqual(['Message-ID']);
  });

  it.each([
    ['reply_to', true, false],
    ['subject', false, true],
    ['both', true, true],
    ['none', false, false],
  ] as const)('puts the thread token where settings.threadToken = %s says', async (mode, inReplyTo, inSubject) => {
    await db.sql`update app.channels set settings = ${db.sql.json({ threadToken: mode })} where id = ${channelId}`;
    const { messageId } = await queueReply();
    expect(await drainJobs()).toEqual(['done']);
    const body = fake.requests[0]!.body;
    const token = threadTokenFor(T1).slice(2);
    expect(body.reply_to === undefined ? null : parseThreadToken(body.reply_to)).toBe(inReplyTo ? token : null);
    expect(parseThreadToken(body.subject)).toBe(inSubject ? token.slice(0, 12) : null);
    expect(body.subject.startsWith(`Re: ${T1_SUBJECT}`)).toBe(true);
    expect(body.subject.match(/\[#BX-/g)?.length ?? 0).toBe(inSubject ? 1 : 0);
    expect(body.from).toBe('"Seahawk Logistics Pvt Ltd" <ops@seahawk-logistics.in>');
    const row = await message(messageId);
    expect(row.subject).toBe(body.subject);
    expect(row.replyTo).toBe(body.reply_to ?? null);
  });

  it('gives an HTML-only reply a text part', async () => {
    await queueReply({ text: null, html: '<p>Dear Karthik,</p><p>SI cut-off is <b>Thursday 18:00</b>.</p>' });
    expect(await drainJobs()).toEqual(['done']);
    const body = fake.requests[0]!.body;
    expect(body.html).toContain('<b>Thursday 18:00</b>');
    expect(body.text).toContain('SI cut-off is Thursday 18:00');
  });

  it('does nothing when the job is delivered again after the message was sent', async () => {
    const { messageId, jobId } = await queueReply();
    expect(await drainJobs()).toEqual(['done']);
    await db.sql`update app.outbox set status = 'pending', run_at = now() where id = ${jobId}`;
    expect(await drainJobs()).toEqual(['done']);
    expect(fake.requests).toHaveLength(1);
    expect((await message(messageId)).status).toBe('sent');
  });
});

describe('email.send without a Resend key (local .eml sink)', () => {
  it('writes the composed message under MAIL_OUT_DIR and counts it as sent', async () => {
    setConfig(localConfig);
    const pdf = Buffer.from('%PDF-1.4 booking confirmation BKG 2611458\n');
    const { messageId } = await queueReply({ attachment: { filename: 'Booking BKG 2611458.pdf', contentType: 'application/pdf', bytes: pdf } });
    expect(await drainJobs()).toEqual(['done']);
    expect(fake.requests).toHaveLength(0);
    const row = await message(messageId);
    expect(row).toMatchObject({ status: 'sent', providerMessageId: `local-${messageId}` });
    const parsed = await parseEmail(readFileSync(join(mailOut, `${messageId}.eml`)));
    expect(parsed.messageId).toBe(row.rfcMessageId);
    expect(parsed.inReplyTo).toEqual(['seed-1-2@tatatextiles.example']);
    expect(parsed.references).toEqual(['seed-1-0@tatatextiles.example', 'seed-1-2@tatatextiles.example']);
    expect(parsed.subject).toBe(`Re: ${T1_SUBJECT}`);
    expect(parsed.to.map((a) => a.address)).toEqual([KARTHIK.address]);
    expect(parseThreadToken(parsed.replyTo[0]!.address)).toBe(threadTokenFor(T1).slice(2));
    expect(parsed.attachments[0]!.content.equals(pdf)).toBe(true);
    const [channel] = await db.sql`select sending_domain_status from app.channels where id = ${channelId}`;
    expect(channel!.sendingDomainStatus).toBe('verified');
  });
});

describe('POST /api/webhooks/resend', () => {
  /** Sends a reply through the fake and returns the row id and what Resend accepted. */
  async function sentReply(to = [KARTHIK]): Promise<{ messageId: string; email: SentEmail }> {
    const { messageId } = await queueReply({ to });
    expect(await drainJobs()).toEqual(['done']);
    return { messageId, email: fake.emails.at(-1)! };
  }

  async function deliver(payload: unknown, options: { id?: string; timestamp?: Date; secret?: string; headers?: Record<string, string>; body?: string } = {}) {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> & { 'svix-id': string } = { ...signResendWebhook(body, options), ...options.headers };
    const res = await call('POST', '/api/webhooks/resend', { token: null, rawBody: options.body ?? body, headers });
    return { status: res.status, body: (await res.json()) as any, svixId: headers['svix-id'], raw: options.body ?? body };
  }

  const storedEvents = (svixId: string) =>
    db.sql`select status, org_id, kind, payload->'data'->>'email_id' as email_id, raw_body from app.webhook_events where provider = 'resend' and dedupe_key = ${svixId}`;

  it('moves the message forward on each report and stores each report once', async () => {
    const { messageId, email } = await sentReply();
    const since = await broadcastsSince(db.sql);
    const delivered = await deliver(resendEvent(email, 'email.delivered'));
    expect(delivered).toMatchObject({ status: 200, body: { outcome: 'processed' } });
    const row = await message(messageId);
    expect(row.status).toBe('delivered');
    expect(row.deliveredAt).toBeInstanceOf(Date);
    // The id the provider sent under now finds the message too (replies quote it).
    expect(row.externalIds).toContain(email.messageId.slice(1, -1));
    const [stored] = await storedEvents(delivered.svixId);
    expect(stored).toMatchObject({ status: 'processed', orgId: SEED_ORG_ID, kind: 'email.delivered', emailId: email.id, rawBody: delivered.raw });
    const events = await since();
    expect(events.filter((e) => e.event === 'message.updated').map((e) => [e.topic, e.payload.data.status, e.payload.actorId])).toEqual([
      [`org:${SEED_ORG_ID}:thread:${T1}`, 'delivered', null],
    ]);

    // Resend delivers again with the same svix-id: answered, nothing changes, nothing is announced.
    const body = JSON.stringify(resendEvent(email, 'email.opened'));
    const headers = signResendWebhook(body, { id: delivered.svixId });
    const since2 = await broadcastsSince(db.sql);
    const again = await call('POST', '/api/webhooks/resend', { token: null, rawBody: body, headers });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ outcome: 'duplicate' });
    expect((await message(messageId)).status).toBe('delivered');
    expect(await storedEvents(delivered.svixId)).toHaveLength(1);
    expect(await since2()).toEqual([]);

    const opened = await deliver(resendEvent(email, 'email.opened'));
    expect(opened.body).toEqual({ outcome: 'processed' });
    const read = await message(messageId);
    expect(read.status).toBe('read');
    expect(read.readAt).toBeInstanceOf(Date);
  });

  it('never moves a status backwards when reports arrive out of order', async () => {
    const { messageId, email } = await sentReply();
    expect((await deliver(resendEvent(email, 'email.opened'))).status).toBe(200);
    expect((await deliver(resendEvent(email, 'email.delivered'))).status).toBe(200);
    expect((await deliver(resendEvent(email, 'email.sent'))).status).toBe(200);
    expect((await deliver(resendEvent(email, 'email.bounced', { bounce: { type: 'Permanent', subType: 'General', message: 'late' } }))).status).toBe(200);
    const row = await message(messageId);
    expect(row).toMatchObject({ status: 'read', errorCode: null, failedAt: null });
    expect(row.deliveredAt).toBeInstanceOf(Date);
  });

  it('marks a bounce on the message and on the recipient contact', async () => {
    const [contact] = await db.sql<{ id: string }[]>`
      insert into app.contacts (org_id, name, email) values (${SEED_ORG_ID}, 'Old Address', 'old.address@hamburghome.example') returning id`;
    const { messageId, email } = await sentReply([{ address: 'old.address@hamburghome.example', name: 'Old Address' }]);
    await deliver(resendEvent(email, 'email.delivered'));
    const since = await broadcastsSince(db.sql);
    const res = await deliver(
      resendEvent(email, 'email.bounced', {
        bounce: { type: 'Permanent', subType: 'General', message: "The recipient's email provider rejected the email: 550 5.1.1 user unknown" },
      }),
    );
    expect(res.body).toEqual({ outcome: 'processed' });
    const row = await message(messageId);
    expect(row).toMatchObject({ status: 'bounced', errorCode: 'bounced:permanent:general' });
    expect(row.errorMessage).toContain('550 5.1.1');
    expect(row.failedAt).toBeInstanceOf(Date);
    const [c] = await db.sql`select email_status from app.contacts where id = ${contact!.id}`;
    expect(c!.emailStatus).toBe('bounced');
    const events = await since();
    expect(events.find((e) => e.event === 'contact.updated')?.payload.data).toMatchObject({ id: contact!.id, emailStatus: 'bounced' });
    expect(events.find((e) => e.event === 'message.updated')?.payload.data).toMatchObject({ id: messageId, status: 'bounced' });
  });

  it('marks a complaint on the contact and keeps the message status', async () => {
    const [contact] = await db.sql<{ id: string }[]>`
      insert into app.contacts (org_id, name, email) values (${SEED_ORG_ID}, 'Annoyed', 'annoyed@rtmforwarding.example') returning id`;
    const { messageId, email } = await sentReply([{ address: 'annoyed@rtmforwarding.example', name: 'Annoyed' }]);
    await deliver(resendEvent(email, 'email.delivered'));
    expect((await deliver(resendEvent(email, 'email.complained'))).body).toEqual({ outcome: 'processed' });
    const row = await message(messageId);
    expect(row.status).toBe('delivered');
    expect(row.metadata.complainedAt).toBeTruthy();
    const [c] = await db.sql`select email_status from app.contacts where id = ${contact!.id}`;
    expect(c!.emailStatus).toBe('complained');
  });

  it('records a failure and a delivery delay', async () => {
    const { messageId, email } = await sentReply();
    expect((await deliver(resendEvent(email, 'email.delivery_delayed'))).body).toEqual({ outcome: 'processed' });
    const delayed = await message(messageId);
    expect(delayed.status).toBe('sent');
    expect(delayed.metadata.deliveryDelayedAt).toBeTruthy();
    await deliver(resendEvent(email, 'email.failed', { failed: { reason: 'reached_daily_quota' } }));
    expect(await message(messageId)).toMatchObject({ status: 'failed', errorCode: 'provider_failed', errorMessage: 'reached_daily_quota' });
  });

  it('finds the message by its tags when the report overtakes the send', async () => {
    const { messageId } = await queueReply();
    // No job ran: the provider id is not stored yet, but Resend echoes our tags.
    const early: SentEmail = {
      id: randomUUID(),
      messageId: '<early@email.amazonses.com>',
      idempotencyKey: messageId,
      body: {
        from: 'ops@seahawk-logistics.in',
        to: [KARTHIK.address],
        subject: 'x',
        tags: [
          { name: 'message_id', value: messageId },
          { name: 'org_id', value: SEED_ORG_ID },
        ],
      },
    };
    expect((await deliver(resendEvent(early, 'email.delivered'))).body).toEqual({ outcome: 'processed' });
    const row = await message(messageId);
    expect(row.status).toBe('delivered');
    expect(row.externalIds).toContain(early.id);
    // The job then finds the message no longer queued and sends nothing.
    expect(await drainJobs()).toEqual(['done']);
    expect(fake.requests).toHaveLength(0);
  });

  it('answers 200 and stores the event as ignored for an unknown email id', async () => {
    const stranger: SentEmail = { id: randomUUID(), messageId: '<x@y>', idempotencyKey: 'k', body: { from: 'a@b.c', to: ['d@e.f'], subject: 's' } };
    const res = await deliver(resendEvent(stranger, 'email.delivered'));
    expect(res).toMatchObject({ status: 200, body: { outcome: 'ignored' } });
    const [stored] = await storedEvents(res.svixId);
    expect(stored).toMatchObject({ status: 'ignored', orgId: null });
  });

  it('refuses a missing, forged, tampered or stale signature with 401 and stores nothing', async () => {
    const { email } = await sentReply();
    const payload = resendEvent(email, 'email.delivered');
    const body = JSON.stringify(payload);
    const good = signResendWebhook(body);
    const otherSecret = `whsec_${Buffer.from('another-secret-of-some-length').toString('base64')}`;
    const cases: { headers: Record<string, string>; body?: string }[] = [
      { headers: { 'content-type': 'application/json' } },
      { headers: { ...good, 'svix-signature': '' } },
      { headers: { ...good, 'svix-signature': 'v1,bm90IGEgc2lnbmF0dXJl' } },
      { headers: signResendWebhook(body, { secret: otherSecret }) },
      { headers: good, body: body.replace('email.delivered', 'email.bounced') },
      { headers: signResendWebhook(body, { timestamp: new Date(Date.now() - 10 * 60_000) }) },
      { headers: signResendWebhook(body, { timestamp: new Date(Date.now() + 10 * 60_000) }) },
      { headers: { ...good, 'svix-id': 'msg_other' } },
    ];
    for (const c of cases) {
      const res = await call('POST', '/api/webhooks/resend', { token: null, rawBody: c.body ?? body, headers: c.headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.code).toBe('unauthorized');
    }
    const [n] = await db.sql`select count(*)::int as n from app.webhook_events where dedupe_key = any(${[good['svix-id'], 'msg_other']}::text[])`;
    expect(n!.n).toBe(0);
    expect((await message((await db.sql`select id from app.messages where provider_message_id = ${email.id}`)[0]!.id)).status).toBe('sent');
  });

  it('refuses every report when no webhook secret is configured', async () => {
    setConfig(parseConfig({ ...process.env, RESEND_API_KEY: fake.apiKey, RESEND_BASE_URL: fake.url, APP_ENV: 'test' }));
    const stranger: SentEmail = { id: randomUUID(), messageId: '<x@y>', idempotencyKey: 'k', body: { from: 'a@b.c', to: ['d@e.f'], subject: 's' } };
    expect((await deliver(resendEvent(stranger, 'email.delivered'))).status).toBe(401);
  });
});
