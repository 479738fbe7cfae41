// Sends under faults: a run that dies after the provider accepted the message (before anything was
// committed) or whose final commit fails must not send a second copy; and the retry of a dead send job
// (POST /api/admin/jobs/{id}/retry) really sends, with a fresh Resend idempotency key only when Resend
// certainly sent nothing under the old one. Against local servers speaking Resend's and Exotel's APIs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { resendAdapter, useOutboundAdapter } from '../../lib/email/outbound.js';
import { httpExotel, useExotelAdapter, type ExotelAdapter } from '../../lib/exotel/adapter.js';
import { runJob } from '../../lib/jobs/run.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_EXOTEL, fakeExotel, type AcceptedMessage, type FakeExotel } from '../helpers/fake-exotel.js';
import { fakeResend, TEST_WEBHOOK_SECRET, type FakeResend } from '../helpers/fake-resend.js';

const PUBLIC = 'https://banxway.example';
const T1 = '10000001-0000-4000-8000-000000000001'; // an email thread of the seed (Karthik)
const DLT_ENTITY = '1101234567890123456';
const DLT_TEMPLATE = '1107160000000012345';

let db: TestDatabase;
let resend: FakeResend;
let exotel: FakeExotel;
let saved: Config;
let dirs: string[] = [];
let whatsapp: { id: string; secret: string; threadId: string };
let sms: { id: string; secret: string; threadId: string };

const credentials = { ...FAKE_EXOTEL, subdomain: 'api.in.exotel.com' };

beforeAll(async () => {
  db = await testDatabase();
  resend = await fakeResend();
  exotel = await fakeExotel();
  saved = config();
  const tmp = (p: string) => {
    const d = mkdtempSync(join(tmpdir(), p));
    dirs.push(d);
    return d;
  };
  setConfig(
    parseConfig({
      ...process.env,
      PUBLIC_BASE_URL: PUBLIC,
      RESEND_API_KEY: resend.apiKey,
      RESEND_BASE_URL: resend.url,
      RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      EXOTEL_BASE_URL: exotel.url,
      EXOTEL_MEDIA_HOSTS: exotel.host,
      ALLOW_PRIVATE_NETWORK_HOSTS: 'true',
      STORAGE_DIR: tmp('banxway-storage-'),
      MAIL_OUT_DIR: tmp('banxway-mail-out-'),
    }),
  );
  await db.sql`
    insert into app.channels (org_id, kind, name, address, sending_domain_status)
    values (${SEED_ORG_ID}, 'email', 'Ops mailbox', 'ops@seahawk-logistics.in', 'verified')
    on conflict (org_id, kind, address) do update set name = excluded.name, sending_domain_status = excluded.sending_domain_status`;

  const wa = await json('POST', '/api/channels', {
    as: 'owner',
    body: { kind: 'whatsapp', name: 'Faults WhatsApp', address: '+912250007777', exotel: credentials },
  });
  expect(wa.status, JSON.stringify(wa.body)).toBe(201);
  await call('POST', `/api/webhooks/exotel/${wa.body.id}?token=${encodeURIComponent(wa.body.webhook.secret)}`, {
    token: null,
    body: {
      whatsapp: {
        messages: [
          {
            callback_type: 'icm',
            sid: 'wa-in-faults-1',
            from: '919876500077',
            to: '912250007777',
            profile_name: 'Vikram Transport',
            timestamp: new Date().toISOString(),
            content: { type: 'text', text: { body: 'Truck at gate 4?' } },
          },
        ],
      },
    },
  });
  const [waThread] = await db.sql<{ id: string }[]>`select id from app.threads where counterpart = '+919876500077'`;
  whatsapp = { id: wa.body.id, secret: wa.body.webhook.secret, threadId: waThread!.id };

  const s = await json('POST', '/api/channels', {
    as: 'owner',
    body: {
      kind: 'sms',
      name: 'Faults SMS',
      address: 'SEAFLT',
      exotel: credentials,
      dltEntityId: DLT_ENTITY,
      smsTemplates: [{ id: DLT_TEMPLATE, name: 'general_reply', body: '{#var#}{#var#}{#var#}' }],
    },
  });
  expect(s.status, JSON.stringify(s.body)).toBe(201);
  const incoming = new URLSearchParams({
    SmsSid: 'sms-in-faults-1',
    From: '09876500078',
    To: 'SEAFLT',
    Date: '2026-11-26 10:15:00',
    Body: 'Send the DO please',
    token: s.body.webhook.secret,
  });
  expect((await call('GET', `/api/webhooks/exotel/${s.body.id}?${incoming}`, { token: null })).status).toBe(200);
  const [smsThread] = await db.sql<{ id: string }[]>`select id from app.threads where counterpart = '+919876500078'`;
  sms = { id: s.body.id, secret: s.body.webhook.secret, threadId: smsThread!.id };
});

afterAll(async () => {
  setConfig(saved);
  await resend.close();
  await exotel.close();
  await db.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

beforeEach(() => {
  resend.reset();
  exotel.reset();
});
afterEach(() => {
  useExotelAdapter(undefined);
  useOutboundAdapter(undefined);
});

/** Exotel accepts the message, then this process dies before it records anything: the call throws after it returned. */
function crashAfterExotelAccepts(times = 1) {
  let left = times;
  const crashing: ExotelAdapter = {
    ...httpExotel,
    async sendWhatsApp(creds, msg) {
      const accepted = await httpExotel.sendWhatsApp(creds, msg);
      if (left-- > 0) throw new Error('simulated crash after Exotel accepted the message');
      return accepted;
    },
    async sendSms(creds, msg) {
      const accepted = await httpExotel.sendSms(creds, msg);
      if (left-- > 0) throw new Error('simulated crash after Exotel accepted the SMS');
      return accepted;
    },
  };
  useExotelAdapter(crashing);
}

async function reply(threadId: string, text: string): Promise<{ messageId: string; jobId: string; jobName: string }> {
  const res = await json('POST', `/api/threads/${threadId}/messages`, { body: { text } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const [job] = await db.sql<{ id: string; name: string }[]>`
    select id, name from app.outbox where name in ('email.send', 'exotel.send') and payload->>'messageId' = ${res.body.id}`;
  return { messageId: res.body.id, jobId: job!.id, jobName: job!.name };
}

const message = async (id: string) =>
  (
    await db.sql<{ status: string; providerMessageId: string | null; errorCode: string | null }[]>`
    select status, provider_message_id, error_code from app.messages where id = ${id}`
  )[0]!;
const job = async (id: string) =>
  (await db.sql<{ status: string; attempts: number; lastError: string | null }[]>`select status, attempts, last_error from app.outbox where id = ${id}`)[0]!;
const attempts = async (messageId: string) =>
  db.sql<{ state: string; idempotencyKey: string; providerMessageId: string | null }[]>`
    select state, idempotency_key, provider_message_id from app.send_attempts where message_id = ${messageId} order by started_at, id`;
const dueNow = (jobId: string) => db.sql`update app.outbox set run_at = now() where id = ${jobId} and status = 'pending'`;

/** Delivers the status callback Exotel sends for an accepted message, to the status_callback URL we gave it. */
async function exotelReports(m: AcceptedMessage): Promise<number> {
  const cb = exotel.statusCallback(m);
  const url = new URL(cb.url);
  const path = `${url.pathname}${url.search}`;
  const res = cb.json
    ? await call('POST', path, { token: null, body: cb.json })
    : await call('POST', path, {
        token: null,
        rawBody: new URLSearchParams(cb.form).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
  return res.status;
}

describe('WhatsApp and SMS sends that die after Exotel accepted them', () => {
  it('WhatsApp: the retry waits for Exotel instead of sending again; the status callback completes it', async () => {
    const { messageId, jobId } = await reply(whatsapp.threadId, 'Yes, truck MH04 AB 1234 at gate 4.');
    crashAfterExotelAccepts();
    expect(await runJob(jobId)).toBe('retry');
    expect(exotel.accepted).toHaveLength(1);
    expect(await message(messageId)).toMatchObject({ status: 'queued', providerMessageId: null });
    // The attempt was committed before the call: the retry knows an earlier call may have been accepted.
    expect(await attempts(messageId)).toEqual([{ state: 'calling', idempotencyKey: messageId, providerMessageId: null }]);

    await dueNow(jobId);
    expect(await runJob(jobId)).toBe('retry');
    expect(exotel.sendRequests()).toHaveLength(1);
    expect((await job(jobId)).lastError).toContain("waiting for Exotel's status callback");

    // Exotel's delivery report names our custom data: the message is sent under Exotel's sid.
    expect(await exotelReports(exotel.accepted[0]!)).toBe(200);
    expect(await message(messageId)).toMatchObject({ status: 'sent', providerMessageId: exotel.accepted[0]!.sid });
    await dueNow(jobId);
    expect(await runJob(jobId)).toBe('done');
    expect(exotel.sendRequests()).toHaveLength(1);
    expect(await message(messageId)).toMatchObject({ status: 'sent', providerMessageId: exotel.accepted[0]!.sid });
    expect(await attempts(messageId)).toEqual([{ state: 'accepted', idempotencyKey: messageId, providerMessageId: exotel.accepted[0]!.sid }]);
  });

  it('SMS: when the final commit fails after the sid was recorded, the retry finishes without calling Exotel', async () => {
    const { messageId, jobId } = await reply(sms.threadId, 'DO sent to your mail.');
    await db.sql.unsafe(`
      create sequence if not exists public.fail_sent_commit;
      create or replace function public.fail_sent_commit() returns trigger language plpgsql security definer set search_path = '' as $$
      begin
        if nextval('public.fail_sent_commit') = 1 then raise exception 'simulated commit failure after Exotel accepted the SMS'; end if;
        return new;
      end $$;
      create trigger fail_sent_commit before update of status on app.messages
        for each row when (new.status = 'sent' and new.channel = 'sms') execute function public.fail_sent_commit();`);
    try {
      expect(await runJob(jobId)).toBe('retry');
      expect(exotel.accepted).toHaveLength(1);
      expect(await message(messageId)).toMatchObject({ status: 'queued' });
      expect(await attempts(messageId)).toEqual([{ state: 'accepted', idempotencyKey: messageId, providerMessageId: exotel.accepted[0]!.sid }]);
      await dueNow(jobId);
      expect(await runJob(jobId)).toBe('done');
      expect(exotel.sendRequests()).toHaveLength(1);
      expect(await message(messageId)).toMatchObject({ status: 'sent', providerMessageId: exotel.accepted[0]!.sid });
    } finally {
      await db.sql.unsafe(`drop trigger fail_sent_commit on app.messages; drop function public.fail_sent_commit(); drop sequence public.fail_sent_commit;`);
    }
  });

  it('SMS: with no report in time the message fails for a person; a late report and the retry settle it through the SMS details API', async () => {
    const { messageId, jobId } = await reply(sms.threadId, 'Container released, DO attached.');
    crashAfterExotelAccepts();
    expect(await runJob(jobId)).toBe('retry');
    const accepted = exotel.accepted[0]!;
    // Exotel said nothing for longer than the wait: it may or may not have gone out, so a person decides.
    await db.sql`update app.send_attempts set started_at = now() - interval '10 minutes' where message_id = ${messageId}`;
    await dueNow(jobId);
    expect(await runJob(jobId)).toBe('dead');
    expect(await message(messageId)).toMatchObject({ status: 'failed', errorCode: 'send_outcome_unknown' });
    expect(exotel.sendRequests()).toHaveLength(1);

    // Exotel's status callback comes late: the message stays failed, but now Exotel's sid is known.
    expect(await exotelReports(accepted)).toBe(200);
    expect(await message(messageId)).toMatchObject({ status: 'failed', providerMessageId: accepted.sid });

    const retried = await json('POST', `/api/admin/jobs/${jobId}/retry`, { as: 'admin' });
    expect(retried.status).toBe(200);
    expect(await message(messageId)).toMatchObject({ status: 'queued' });
    expect(await runJob(jobId)).toBe('done');
    // Confirmed through GET .../SMS/Messages/<sid>.json, not sent again.
    const detailRequests = exotel.requests.filter(
      (r) => r.method === 'GET' && r.path === `/v1/Accounts/${FAKE_EXOTEL.accountSid}/SMS/Messages/${accepted.sid}.json`,
    );
    expect(detailRequests).toHaveLength(1);
    expect(exotel.sendRequests()).toHaveLength(1);
    // The details say DELIVERED_TO_HANDSET: the message moves on to delivered under that sid.
    expect(await message(messageId)).toMatchObject({ status: 'delivered', providerMessageId: accepted.sid });
  });

  it('reads the SMS details API as documented: the SMS by its Sid, null for a Sid Exotel never issued', async () => {
    const { jobId } = await reply(sms.threadId, 'Vessel ETA Friday.');
    expect(await runJob(jobId)).toBe('done');
    const sent = exotel.accepted[0]!;
    const creds = { ...FAKE_EXOTEL, subdomain: 'api.in.exotel.com' as const };
    expect(await httpExotel.smsDetails(creds, sent.sid)).toEqual({
      sid: sent.sid,
      status: 'sent',
      detailedStatus: 'DELIVERED_TO_HANDSET',
      detailedStatusCode: '20005',
    });
    expect(await httpExotel.smsDetails(creds, 'f00dfeedf00dfeedf00dfeedf00dfeed')).toBeNull();
    const get = exotel.requests.filter((r) => r.method === 'GET');
    expect(get.map((r) => r.path)).toEqual([
      `/v1/Accounts/${FAKE_EXOTEL.accountSid}/SMS/Messages/${sent.sid}.json`,
      `/v1/Accounts/${FAKE_EXOTEL.accountSid}/SMS/Messages/f00dfeedf00dfeedf00dfeedf00dfeed.json`,
    ]);
    expect(get[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`${FAKE_EXOTEL.apiKey}:${FAKE_EXOTEL.apiToken}`).toString('base64')}`);
  });

  it('WhatsApp: the retry of a send whose outcome stayed unknown sends again, because a person decided', async () => {
    const { messageId, jobId } = await reply(whatsapp.threadId, 'Gate pass emailed.');
    crashAfterExotelAccepts();
    expect(await runJob(jobId)).toBe('retry');
    await db.sql`update app.send_attempts set started_at = now() - interval '10 minutes' where message_id = ${messageId}`;
    await dueNow(jobId);
    expect(await runJob(jobId)).toBe('dead');
    expect(await message(messageId)).toMatchObject({ status: 'failed', errorCode: 'send_outcome_unknown' });

    const retried = await json('POST', `/api/admin/jobs/${jobId}/retry`, { as: 'owner' });
    expect(retried.status).toBe(200);
    expect(await runJob(jobId)).toBe('done');
    expect(exotel.sendRequests()).toHaveLength(2);
    expect(await message(messageId)).toMatchObject({ status: 'sent', providerMessageId: exotel.accepted[1]!.sid });
    expect((await attempts(messageId)).map((a) => a.state)).toEqual(['abandoned', 'accepted']);
  });

  it('WhatsApp: a refusal is recorded as one and the admin retry sends anew', async () => {
    const { messageId, jobId } = await reply(whatsapp.threadId, 'Loading photos follow.');
    exotel.fail({ kind: 'whatsapp-entry', code: 1008, message: 'Message undeliverable' });
    expect(await runJob(jobId)).toBe('dead');
    expect(await message(messageId)).toMatchObject({ status: 'failed', errorCode: 'exotel_1008' });
    expect((await attempts(messageId)).map((a) => a.state)).toEqual(['refused']);
    expect((await json('POST', `/api/admin/jobs/${jobId}/retry`, { as: 'owner' })).status).toBe(200);
    expect(await runJob(jobId)).toBe('done');
    expect(exotel.accepted).toHaveLength(1);
    expect(await message(messageId)).toMatchObject({ status: 'sent', providerMessageId: exotel.accepted[0]!.sid });
  });
});

describe('email sends under faults and the admin retry', () => {
  const real = () => resendAdapter({ apiKey: resend.apiKey, baseUrl: resend.url });

  it('sends once when the process dies after Resend accepted the email (the retry reuses the key)', async () => {
    const { messageId, jobId } = await reply(T1, 'Karthik, SI cut-off is Thursday 17:00.');
    const resendApi = real();
    let crash = true;
    useOutboundAdapter({
      ...resendApi,
      async send(email, options) {
        const sent = await resendApi.send(email, options);
        if (crash) {
          crash = false;
          throw new Error('simulated crash after Resend accepted the email');
        }
        return sent;
      },
    });
    expect(await runJob(jobId)).toBe('retry');
    expect(resend.emails).toHaveLength(1);
    await dueNow(jobId);
    expect(await runJob(jobId)).toBe('done');
    expect(resend.requests).toHaveLength(2);
    expect(resend.requests[1]!.headers['idempotency-key']).toBe(messageId);
    expect(resend.emails).toHaveLength(1);
    expect(await message(messageId)).toMatchObject({ status: 'sent', providerMessageId: resend.emails[0]!.id });
  });

  it('resends a dead email.send through POST /api/admin/jobs/{id}/retry, with a fresh key after Resend refused it', async () => {
    const { messageId, jobId } = await reply(T1, 'Karthik, please confirm the consignee address.');
    resend.failNext(
      403,
      'validation_error',
      'The seahawk-logistics.in domain is not verified. Please, add and verify your domain on https://resend.com/domains',
    );
    expect(await runJob(jobId)).toBe('dead');
    expect(await message(messageId)).toMatchObject({ status: 'failed', errorCode: 'domain_not_verified' });
    expect(resend.emails).toHaveLength(0);
    const dead = await json('GET', '/api/admin/jobs?status=dead&name=email.send', { as: 'admin' });
    expect(dead.body.data.map((j: { id: string }) => j.id)).toContain(jobId);

    const retried = await json('POST', `/api/admin/jobs/${jobId}/retry`, { as: 'owner' });
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual({ id: jobId, name: 'email.send', status: 'pending' });
    expect(await message(messageId)).toMatchObject({ status: 'queued', errorCode: null });
    expect(await runJob(jobId)).toBe('done');
    expect(resend.emails).toHaveLength(1);
    // Resend sent nothing under the first key: the resend is a request of its own.
    expect(resend.requests.map((r) => r.headers['idempotency-key'])).toEqual([messageId, `${messageId}/2`]);
    expect(await message(messageId)).toMatchObject({ status: 'sent', providerMessageId: resend.emails[0]!.id });
    expect((await attempts(messageId)).map((a) => a.state)).toEqual(['refused', 'accepted']);
  });

  it('keeps the key when Resend may have accepted it: the retry of a dead send sends nothing twice and records the first email', async () => {
    const { messageId, jobId } = await reply(T1, 'Karthik, the vessel sails Saturday.');
    const resendApi = real();
    useOutboundAdapter({
      ...resendApi,
      async send(email, options) {
        await resendApi.send(email, options);
        throw new Error('simulated crash after Resend accepted the email');
      },
    });
    expect(await runJob(jobId)).toBe('retry');
    // It dies again on its last attempt: the job is dead and the message failed.
    await db.sql`update app.outbox set max_attempts = 2, run_at = now() where id = ${jobId}`;
    expect(await runJob(jobId)).toBe('dead');
    expect(await message(messageId)).toMatchObject({ status: 'failed' });
    useOutboundAdapter(undefined);

    expect((await json('POST', `/api/admin/jobs/${jobId}/retry`, { as: 'owner' })).status).toBe(200);
    expect(await runJob(jobId)).toBe('done');
    expect(resend.requests.map((r) => r.headers['idempotency-key'])).toEqual([messageId, messageId, messageId]);
    expect(resend.emails).toHaveLength(1);
    expect(await message(messageId)).toMatchObject({ status: 'sent', providerMessageId: resend.emails[0]!.id });
  });

  it('answers 404 for a job that is not dead, and leaves a message that is not failed alone', async () => {
    const { messageId, jobId } = await reply(T1, 'Thanks, noted.');
    expect(await runJob(jobId)).toBe('done');
    expect((await json('POST', `/api/admin/jobs/${jobId}/retry`, { as: 'owner' })).status).toBe(404);
    expect((await json('POST', `/api/admin/jobs/${jobId}/retry`, { as: 'agent' })).status).toBe(403);
    expect(await message(messageId)).toMatchObject({ status: 'sent' });
  });
});
