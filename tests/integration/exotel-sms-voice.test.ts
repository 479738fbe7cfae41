// SMS and voice through Exotel: DLT-registered SMS channels, incoming SMS (GET after a HEAD), replies
// sent as Exotel's form with the DLT ids, status callbacks keyed off DetailedStatus; click-to-call
// (the agent's phone first), call status callbacks as JSON, multipart and form, the recording copied
// into storage, and incoming calls through Passthru (a missed one opens a call-back action).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import { SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_EXOTEL, fakeExotel, type FakeExotel } from '../helpers/fake-exotel.js';
import { noise } from '../helpers/mail.js';

const PUBLIC = 'https://banxway.example';
const DLT_ENTITY = '1101234567890123456';
const DLT_TEMPLATE = '1107160000000012345';

let db: TestDatabase;
let fake: FakeExotel;
let saved: Config;
let storageDir: string;
let sms: { id: string; secret: string };
let voice: { id: string; secret: string };

const exotel = { ...FAKE_EXOTEL, subdomain: 'api.exotel.com' };
const basic = `Basic ${Buffer.from(`${FAKE_EXOTEL.apiKey}:${FAKE_EXOTEL.apiToken}`).toString('base64')}`;

const get = (ch: { id: string; secret: string }, params: Record<string, string>, method = 'GET') =>
  call(method, `/api/webhooks/exotel/${ch.id}?${new URLSearchParams({ ...params, token: ch.secret })}`, { token: null });
const postForm = (url: string, fields: Record<string, string>) =>
  call('POST', url, { token: null, rawBody: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
const pathOf = (u: string) => {
  const url = new URL(u);
  return `${url.pathname}${url.search}`;
};

beforeAll(async () => {
  db = await testDatabase();
  fake = await fakeExotel();
  saved = config();
  storageDir = mkdtempSync(join(tmpdir(), 'banxway-exotel-'));
  setConfig(
    parseConfig({
      ...process.env,
      PUBLIC_BASE_URL: PUBLIC,
      EXOTEL_BASE_URL: fake.url,
      EXOTEL_MEDIA_HOSTS: fake.host,
      ALLOW_PRIVATE_NETWORK_HOSTS: 'true',
      STORAGE_DIR: storageDir,
    }),
  );
  const s = await json('POST', '/api/channels', {
    as: 'admin',
    body: { kind: 'sms', name: 'Seahawk SMS', address: 'seahwk', exotel, dltEntityId: DLT_ENTITY, smsTemplates: [{ id: DLT_TEMPLATE, name: 'general_reply' }] },
  });
  expect(s.status, JSON.stringify(s.body)).toBe(201);
  sms = { id: s.body.id, secret: s.body.webhook.secret };
  const v = await json('POST', '/api/channels', { as: 'admin', body: { kind: 'voice', name: 'ExoPhone', address: '022 3333 5555', exotel } });
  expect(v.status, JSON.stringify(v.body)).toBe(201);
  voice = { id: v.body.id, secret: v.body.webhook.secret };
});

afterAll(async () => {
  setConfig(saved);
  await fake.close();
  await db.close();
  rmSync(storageDir, { recursive: true, force: true });
});

beforeEach(() => fake.reset());

describe('SMS', () => {
  it('needs the DLT entity id and a template (Indian SMS)', async () => {
    const res = await json('POST', '/api/channels', { as: 'admin', body: { kind: 'sms', name: 'x', address: 'OTHERS', exotel } });
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues.map((i: any) => i.path)).toEqual(expect.arrayContaining(['body.dltEntityId', 'body.smsTemplates']));
    const shown = await json('GET', `/api/channels/${sms.id}`, { as: 'viewer' });
    expect(shown.body).toMatchObject({
      kind: 'sms',
      address: 'SEAHWK',
      dltEntityId: DLT_ENTITY,
      smsTemplates: [{ id: DLT_TEMPLATE, name: 'general_reply', parameterCount: 0 }],
    });
  });

  it('answers the HEAD check, stores an incoming SMS once, and replies with the DLT ids in Exotel form fields', async () => {
    expect((await get(sms, {}, 'HEAD')).status).toBe(200);
    expect((await call('HEAD', `/api/webhooks/exotel/${sms.id}?token=wrong`, { token: null })).status).toBe(401);
    const incoming = { SmsSid: 'sms-in-0001', From: '09876500100', To: '0XXXXXX4890', Date: '2026-11-26 10:15:00', Body: 'Container loaded? Pls confirm' };
    for (let i = 0; i < 3; i++) {
      // Exotel's applet texts a GET's answer back to the customer: the answer is empty plain text.
      const res = await get(sms, incoming);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('');
    }
    const rows = await db.sql<any[]>`select * from app.messages where from_address = '+919876500100'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      channel: 'sms',
      direction: 'inbound',
      status: 'received',
      bodyText: 'Container loaded? Pls confirm',
      providerMessageId: 'sms-in-0001',
    });
    expect(rows[0].occurredAt.toISOString()).toBe('2026-11-26T04:45:00.000Z');
    const threadId = rows[0].threadId;
    await db.sql`update app.threads set last_inbound_at = now() - interval '3 days' where id = ${threadId}`;

    // SMS has no 24-hour window: a reply goes out with the default DLT template.
    const reply = await json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'Yes, loaded and sealed. Seahawk' } });
    expect(reply.status).toBe(201);
    await drainJobs();
    const r = fake.requests.find((x) => x.path.endsWith('/Sms/send.json'))!;
    expect(r.path).toBe('/v1/Accounts/seahawk1/Sms/send.json');
    expect(r.headers.authorization).toBe(basic);
    expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(r.form!)).toEqual({
      From: 'SEAHWK',
      To: '+919876500100',
      Body: 'Yes, loaded and sealed. Seahawk',
      StatusCallback: expect.stringMatching(new RegExp(`^${PUBLIC}/api/webhooks/exotel/${sms.id}\\?token=cb_`)),
      CustomField: reply.body.id,
      DltEntityId: DLT_ENTITY,
      DltTemplateId: DLT_TEMPLATE,
    });
    const [sent] = await db.sql<any[]>`select status, provider_message_id from app.messages where id = ${reply.body.id}`;
    expect(sent.status).toBe('sent');

    const cb = pathOf(r.form!.get('StatusCallback')!);
    const status = (fields: Record<string, string>) =>
      postForm(cb, { SmsSid: sent.providerMessageId, To: '+919876500100', DateSent: '2026-11-26 10:20:00', CustomField: reply.body.id, ...fields });
    expect((await status({ Status: 'sent', DetailedStatus: 'DELIVERED_TO_HANDSET', DetailedStatusCode: '20005' })).status).toBe(200);
    expect((await status({ Status: 'sent', DetailedStatus: 'DELIVERED_TO_HANDSET', DetailedStatusCode: '20005' })).status).toBe(200);
    const [after] = await db.sql<any[]>`select status, delivered_at from app.messages where id = ${reply.body.id}`;
    expect(after.status).toBe('delivered');
    expect(await db.sql`select 1 from app.webhook_events where kind = 'sms.status' and payload->>'SmsSid' = ${sent.providerMessageId}`).toHaveLength(1);
  });

  it('records a DND failure from DetailedStatus, and a RestException refusal at send time', async () => {
    // A conversation of its own, from a number no other test uses.
    const incoming = { SmsSid: 'sms-in-0101', From: '09876500101', To: '0XXXXXX4890', Date: '2026-11-26 10:30:00', Body: 'Pls send the invoice' };
    expect((await get(sms, incoming)).status).toBe(200);
    const [t] = await db.sql<{ threadId: string }[]>`select thread_id from app.messages where from_address = '+919876500101'`;
    const reply = await json('POST', `/api/threads/${t!.threadId}/messages`, { as: 'agent', body: { text: 'Invoice attached' } });
    await drainJobs();
    const r = fake.requests.at(-1)!;
    const [m] = await db.sql<any[]>`select provider_message_id from app.messages where id = ${reply.body.id}`;
    await postForm(pathOf(r.form!.get('StatusCallback')!), {
      SmsSid: m.providerMessageId,
      Status: 'failed-dnd',
      DetailedStatus: 'FAILED_DND',
      DetailedStatusCode: '20003',
    });
    const [failed] = await db.sql<any[]>`select status, error_message from app.messages where id = ${reply.body.id}`;
    expect(failed).toEqual({ status: 'failed', errorMessage: 'FAILED_DND' });

    fake.fail({ kind: 'http', status: 400, message: 'Invalid DltTemplateId' });
    const refused = await json('POST', `/api/threads/${t!.threadId}/messages`, { as: 'agent', body: { text: 'Again' } });
    await drainJobs();
    const [x] = await db.sql<any[]>`select status, error_code, error_message from app.messages where id = ${refused.body.id}`;
    expect(x).toEqual({ status: 'failed', errorCode: 'exotel_400', errorMessage: 'Invalid DltTemplateId' });
  });

  it('refuses callbacks that belong to another kind of channel, or carry nothing usable, with 422', async () => {
    // A refused GET says nothing in its body either (it would be texted to the customer): the log has why.
    const refused = await get(sms, { CallSid: 'c1', CallFrom: '09876500100' });
    expect(refused.status).toBe(422);
    expect(await refused.text()).toBe('');
    expect(await (await call('GET', `/api/webhooks/exotel/${sms.id}?token=wrong&SmsSid=x&From=09820098200&Body=hi`, { token: null })).text()).toBe('');
    expect((await get(sms, { Foo: 'bar' })).status).toBe(422);
    expect((await get(voice, { SmsSid: 's1', From: '09876500100', Body: 'x' })).status).toBe(422);
    expect((await get(sms, { SmsSid: 's2', From: 'nonsense', Body: 'x' })).status).toBe(422);
  });

  it('refuses a provider id too long to be one (422 naming it), and stores a long status text once', async () => {
    const long = noise(3000, '');
    expect((await get(sms, { SmsSid: long, From: '09876500177', Body: 'hi' })).status).toBe(422);
    // A POSTed callback is answered in JSON, naming what is wrong (a GET's reason is only logged).
    const tooLong = await postForm(`/api/webhooks/exotel/${sms.id}?token=${sms.secret}`, { SmsSid: long, From: '09876500177', Body: 'hi' });
    expect(tooLong.status).toBe(422);
    expect(((await tooLong.json()) as any).error.message).toContain('SmsSid');
    expect((await get(voice, { CallSid: long, CallFrom: '09876500177' })).status).toBe(422);
    expect(await db.sql`select 1 from app.webhook_events where payload::text like ${`%${long.slice(0, 40)}%`}`).toHaveLength(0);
    const detail = noise(5000, '');
    const report = () => postForm(`/api/webhooks/exotel/${sms.id}?token=${sms.secret}`, { SmsSid: 'sms-out-unknown', Status: 'sent', DetailedStatus: detail });
    const first = await report();
    expect(first.status).toBe(200);
    const again = await report();
    expect(((await again.json()) as any).results).toEqual([{ kind: 'sms.status', outcome: 'duplicate' }]);
  });
});

describe('voice', () => {
  const T1 = '10000001-0000-4000-8000-000000000001';

  it('click-to-call needs the agent phone (422), then rings the agent and the customer through Calls/connect', async () => {
    const none = await json('POST', `/api/threads/${T1}/calls`, { as: 'agent', body: {} });
    expect(none.status).toBe(422);
    expect(none.body.error.details.issues[0].path).toBe('member.phone');
    await db.sql`update app.members set phone = '+919811122233' where org_id = ${SEED_ORG_ID} and user_id = ${SEED_USERS.agent.id}`;
    const res = await json('POST', `/api/threads/${T1}/calls`, { as: 'agent', body: {} });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ kind: 'call', channel: 'voice', direction: 'outbound', status: 'ringing', channelId: voice.id });
    await drainJobs();
    const r = fake.requests.find((x) => x.path.endsWith('/Calls/connect.json'))!;
    expect(r.path).toBe('/v1/Accounts/seahawk1/Calls/connect.json');
    expect(r.headers.authorization).toBe(basic);
    expect(Object.fromEntries(r.form!)).toEqual({
      From: '+919811122233',
      To: '+919840012345',
      CallerId: '+912233335555',
      Record: 'true',
      StatusCallback: expect.stringMatching(new RegExp(`^${PUBLIC}/api/webhooks/exotel/${voice.id}\\?token=cb_`)),
      StatusCallbackContentType: 'application/json',
      CustomField: res.body.id,
      'StatusCallbackEvents[0]': 'terminal',
      'StatusCallbackEvents[1]': 'answered',
    });
    const [m] = await db.sql<any[]>`select provider_message_id from app.messages where id = ${res.body.id}`;
    const cb = pathOf(r.form!.get('StatusCallback')!);

    // JSON (answered), then multipart (terminal, with the recording), then a late form "ringing".
    const answered = await call('POST', cb, {
      token: null,
      body: { CallSid: m.providerMessageId, EventType: 'answered', Status: 'in-progress', CustomField: res.body.id },
    });
    expect(answered.status).toBe(200);
    expect((await db.sql<any[]>`select status from app.messages where id = ${res.body.id}`)[0]!.status).toBe('in_progress');
    const recording = fake.serve('call.mp3', 'audio/mpeg', Buffer.from('ID3-fake-recording'));
    const form = new FormData();
    for (const [k, v] of Object.entries({
      CallSid: m.providerMessageId,
      EventType: 'terminal',
      Status: 'completed',
      ConversationDuration: '42',
      RecordingUrl: recording,
      CustomField: res.body.id,
    }))
      form.append(k, v);
    const multipart = new Request('http://x', { method: 'POST', body: form });
    const terminal = await call('POST', cb, {
      token: null,
      rawBody: await multipart.text(),
      headers: { 'content-type': multipart.headers.get('content-type')! },
    });
    expect(terminal.status).toBe(200);
    expect((await postForm(cb, { CallSid: m.providerMessageId, Status: 'ringing' })).status).toBe(200);
    await drainJobs();
    const [done] = await db.sql<any[]>`select status, call_duration_seconds, recording_path from app.messages where id = ${res.body.id}`;
    expect(done).toMatchObject({ status: 'completed', callDurationSeconds: 42, recordingPath: expect.stringContaining(`/messages/${res.body.id}/`) });
    const files = await db.sql<any[]>`select filename, content_type from app.attachments where message_id = ${res.body.id}`;
    expect(files).toEqual([{ filename: 'call.mp3', contentType: 'audio/mpeg' }]);
  });

  it('records an incoming call from Passthru and opens one call-back action for a missed call', async () => {
    const params = {
      CallSid: 'call-in-0001',
      CallFrom: '09820098200',
      CallTo: '02233335555',
      Direction: 'incoming',
      CallType: 'call-attempt',
      DialCallStatus: 'no-answer',
      StartTime: '2026-11-26 11:00:00',
      digits: '"1"',
    };
    for (let i = 0; i < 3; i++) expect((await get(voice, params)).status).toBe(200);
    const calls = await db.sql<any[]>`select id, thread_id, kind, direction, status from app.messages where provider_message_id = 'call-in-0001'`;
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ kind: 'call', direction: 'inbound', status: 'no_answer' });
    const actions = await db.sql<any[]>`select type, title, status from app.actions where thread_id = ${calls[0].threadId} and type = 'call_back'`;
    expect(actions).toEqual([{ type: 'call_back', title: 'Call back +919820098200', status: 'open' }]);
    // Announced as every action is: the same view GET /api/actions/{id} answers.
    const [announced] = await db.sql<
      any[]
    >`select payload from realtime.messages where event = 'action.created' and payload->'data'->>'threadId' = ${calls[0].threadId}`;
    const shown = await json('GET', `/api/actions/${announced!.payload.data.id}`);
    expect(Object.keys(announced!.payload.data).sort()).toEqual(Object.keys(shown.body).sort());
    expect(shown.body).toMatchObject({ source: 'system', priority: 'high', type: 'call_back' });
    const [t] = await db.sql<any[]>`select channel, contact_id from app.threads where id = ${calls[0].threadId}`;
    expect(t).toEqual({ channel: 'voice', contactId: '0e000000-0000-4000-8000-000000000006' });

    // An answered call on the same thread is recorded without an action.
    await get(voice, { ...params, CallSid: 'call-in-0002', CallType: 'completed', DialCallStatus: 'completed', DialCallDuration: '65' });
    const [answered] = await db.sql<any[]>`select thread_id, status, call_duration_seconds from app.messages where provider_message_id = 'call-in-0002'`;
    expect(answered).toEqual({ threadId: calls[0].threadId, status: 'completed', callDurationSeconds: 65 });
    expect(await db.sql`select 1 from app.actions where thread_id = ${calls[0].threadId} and type = 'call_back'`).toHaveLength(1);
  });
});
