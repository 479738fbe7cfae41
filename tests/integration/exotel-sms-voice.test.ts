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
const DLT_CONTAINER = '1107160000000067890';
const DLT_PICKUP = '1107160000000024680';
/** As registered on the DLT portal: the container update first, then a catch-all reply of up to 90 characters. */
const SMS_TEMPLATES = [
  { id: DLT_CONTAINER, name: 'container_update', body: 'Dear {#var#}, container {#alphanumeric#} is {#var#}. - Seahawk Logistics' },
  { id: DLT_TEMPLATE, name: 'general_reply', body: '{#var#}{#var#}{#var#} - Seahawk Logistics' },
  { id: DLT_PICKUP, name: 'pickup_otp', body: 'Pickup OTP {#numeric#} for booking {#alphanumeric#}. - Seahawk Logistics' },
];

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
    body: { kind: 'sms', name: 'Seahawk SMS', address: 'seahwk', exotel, dltEntityId: DLT_ENTITY, smsTemplates: SMS_TEMPLATES },
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
      smsTemplates: [
        { ...SMS_TEMPLATES[0], parameterCount: 3 },
        { ...SMS_TEMPLATES[1], parameterCount: 3 },
        { ...SMS_TEMPLATES[2], parameterCount: 2 },
      ],
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

    // SMS has no 24-hour window: a reply goes out with the DLT template its text matches.
    const reply = await json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'Yes, loaded and sealed. - Seahawk Logistics' } });
    expect(reply.status).toBe(201);
    await drainJobs();
    const r = fake.requests.find((x) => x.path.endsWith('/Sms/send.json'))!;
    expect(r.path).toBe('/v1/Accounts/seahawk1/Sms/send.json');
    expect(r.headers.authorization).toBe(basic);
    expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(r.form!)).toEqual({
      From: 'SEAHWK',
      To: '+919876500100',
      Body: 'Yes, loaded and sealed. - Seahawk Logistics',
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
    const reply = await json('POST', `/api/threads/${t!.threadId}/messages`, { as: 'agent', body: { text: 'Invoice attached - Seahawk Logistics' } });
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
    const refused = await json('POST', `/api/threads/${t!.threadId}/messages`, { as: 'agent', body: { text: 'Again - Seahawk Logistics' } });
    await drainJobs();
    const [x] = await db.sql<any[]>`select status, error_code, error_message from app.messages where id = ${refused.body.id}`;
    expect(x).toEqual({ status: 'failed', errorCode: 'exotel_400', errorMessage: 'Invalid DltTemplateId' });
  });

  it('keeps DLT templates only with their registered text: known placeholders, the parameter count they imply, each id and name once', async () => {
    const base = { kind: 'sms', name: 'DLT check', address: 'DLTCHK', exotel, dltEntityId: DLT_ENTITY };
    const bad = await json('POST', '/api/channels', {
      as: 'admin',
      body: {
        ...base,
        smsTemplates: [
          { id: '1107160000000000001', name: 'no_text' },
          { id: '1107160000000000002', name: 'typo', body: 'Dear {#name#}, your B/L {#VAR#} is ready - Seahawk' },
          { id: '1107160000000000003', name: 'eta', body: 'ETA {#var#} - Seahawk', parameterCount: 2 },
        ],
      },
    });
    expect(bad.status).toBe(422);
    const issues = bad.body.error.details.issues;
    expect(issues.map((i: any) => i.path)).toEqual(['body.smsTemplates.0.body', 'body.smsTemplates.1.body', 'body.smsTemplates.2.parameterCount']);
    expect(issues[1].message).toContain('{#name#}, {#VAR#}');
    expect(issues[1].message).toContain('{#var#}');
    expect(issues[2].message).toContain('the body has 1 placeholder');
    const twice = await json('POST', '/api/channels', {
      as: 'admin',
      body: { ...base, smsTemplates: [SMS_TEMPLATES[0], { ...SMS_TEMPLATES[1], id: DLT_CONTAINER }] },
    });
    expect(twice.status).toBe(422);
    expect(twice.body.error.details.issues.map((i: any) => i.path)).toEqual(['body.smsTemplates.1.id']);
    const patch = await json('PATCH', `/api/channels/${sms.id}`, { as: 'admin', body: { smsTemplates: [{ id: DLT_TEMPLATE, name: 'x', body: '{#otp#}' }] } });
    expect(patch.status).toBe(422);
    expect(patch.body.error.details.issues[0].path).toBe('body.smsTemplates.0.body');
    const shown = await json('GET', `/api/channels/${sms.id}`, { as: 'viewer' });
    expect(shown.body.smsTemplates.map((t: any) => t.body)).toEqual(SMS_TEMPLATES.map((t) => t.body));
  });

  describe('DLT templates of replies', () => {
    let threadId: string;
    beforeAll(async () => {
      await get(sms, { SmsSid: 'sms-in-0102', From: '09876500102', To: '0XXXXXX4890', Date: '2026-11-26 11:30:00', Body: 'Status of my container?' });
      const [t] = await db.sql<{ threadId: string }[]>`select thread_id from app.messages where from_address = '+919876500102'`;
      threadId = t!.threadId;
    });
    const send = (body: Record<string, unknown>) => json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body });
    /** The form Exotel received for this reply. */
    const sentForm = async (id: string) => {
      await drainJobs();
      const r = fake.requests.find((x) => x.path.endsWith('/Sms/send.json') && x.form!.get('CustomField') === id);
      expect(r, `no SMS sent for ${id}`).toBeDefined();
      return r!.form!;
    };
    const queuedCount = async () => (await db.sql`select 1 from app.messages where thread_id = ${threadId} and direction = 'outbound'`).length;

    it('sends free text with the first registered template it matches, each {#var#} up to 30 characters', async () => {
      const update = await send({ text: 'Dear Karthik, container MSKU1234565 is loaded and sealed. - Seahawk Logistics' });
      expect(update.status).toBe(201);
      expect((await sentForm(update.body.id)).get('DltTemplateId')).toBe(DLT_CONTAINER);
      // {#alphanumeric#} takes no hyphen: the same words are the catch-all template's text instead.
      const hyphen = await send({ text: 'Dear Karthik, container MSKU-1234565 is loaded and sealed. - Seahawk Logistics' });
      expect(hyphen.status).toBe(201);
      expect((await sentForm(hyphen.body.id)).get('DltTemplateId')).toBe(DLT_TEMPLATE);
      // Three {#var#} in a row hold 90 characters, not 91.
      const ninety = 'x'.repeat(90);
      const fits = await send({ text: `${ninety} - Seahawk Logistics` });
      expect(fits.status).toBe(201);
      expect((await sentForm(fits.body.id)).get('Body')).toBe(`${ninety} - Seahawk Logistics`);
    });

    it('refuses text that matches none of the templates with a 422 naming body.text and listing them, and queues nothing', async () => {
      const before = await queuedCount();
      for (const text of ['Your container is loaded', `${'y'.repeat(91)} - Seahawk Logistics`, 'Dear Karthik, container MSKU1234565 is loaded. - Seahawk']) {
        const res = await send({ text });
        expect(res.status, text).toBe(422);
        expect(res.body.error.details.issues).toEqual([
          { path: 'body.text', message: expect.stringContaining("matches none of this SMS channel's DLT templates") },
        ]);
        expect(res.body.error.details.templates).toEqual(SMS_TEMPLATES);
        expect(res.body.error.message).toContain(
          'container_update (1107160000000067890): "Dear {#var#}, container {#alphanumeric#} is {#var#}. - Seahawk Logistics"',
        );
      }
      expect(await queuedCount()).toBe(before);
      await drainJobs();
      expect(fake.sendRequests()).toHaveLength(0);
    });

    it('takes a template by id or name: with text that must match it, or with no text and its parameters', async () => {
      const named = await send({ text: 'Pickup OTP 482913 for booking BKG2291. - Seahawk Logistics', template: { name: 'pickup_otp' } });
      expect(named.status).toBe(201);
      expect((await sentForm(named.body.id)).get('DltTemplateId')).toBe(DLT_PICKUP);
      const mismatch = await send({ text: 'Dear Karthik, container MSKU1234565 is loaded. - Seahawk Logistics', template: { name: 'pickup_otp' } });
      expect(mismatch.status).toBe(422);
      expect(mismatch.body.error.details.issues).toEqual([
        { path: 'body.text', message: expect.stringContaining('does not match the DLT template pickup_otp') },
      ]);

      const filled = await send({ template: { name: DLT_PICKUP, parameters: ['482913', 'BKG 2291'] } });
      expect(filled.status).toBe(201);
      expect(filled.body).toMatchObject({ bodyText: 'Pickup OTP 482913 for booking BKG 2291. - Seahawk Logistics', status: 'queued' });
      const form = await sentForm(filled.body.id);
      expect(form.get('Body')).toBe('Pickup OTP 482913 for booking BKG 2291. - Seahawk Logistics');
      expect(form.get('DltTemplateId')).toBe(DLT_PICKUP);
      const [thread] = await db.sql<any[]>`select snippet from app.threads where id = ${threadId}`;
      expect(thread.snippet).toBe('Pickup OTP 482913 for booking BKG 2291. - Seahawk Logistics');

      const before = await queuedCount();
      const count = await send({ template: { name: 'pickup_otp', parameters: ['482913'] } });
      expect(count.status).toBe(422);
      expect(count.body.error.details.issues[0]).toEqual({ path: 'body.template.parameters', message: 'the template takes 2 parameters, 1 given' });
      const digits = await send({ template: { name: 'pickup_otp', parameters: ['48A913', 'BKG2291'] } });
      expect(digits.status).toBe(422);
      expect(digits.body.error.details.issues[0]).toEqual({ path: 'body.template.parameters.0', message: expect.stringContaining('takes digits') });
      const long = await send({ template: { name: 'container_update', parameters: ['Karthik', 'MSKU1234565', 'z'.repeat(31)] } });
      expect(long.status).toBe(422);
      expect(long.body.error.details.issues[0]).toEqual({ path: 'body.template.parameters.2', message: expect.stringContaining('more than the 30') });
      const unknown = await send({ template: { name: 'booking_confirmed' } });
      expect(unknown.status).toBe(422);
      expect(unknown.body.error.details.issues[0].path).toBe('body.template.name');
      expect(unknown.body.error.details.issues[0].message).toContain('general_reply (1107160000000012345)');
      expect(await queuedCount()).toBe(before);
    });

    it('sends a draft of a template with its parameters', async () => {
      const draft = await send({ draft: true, template: { name: 'container_update', parameters: ['Karthik', 'MSKU1234565', 'gated in at JNPT'] } });
      expect(draft.status).toBe(201);
      const sent = await json('POST', `/api/messages/${draft.body.id}/send`, { as: 'agent' });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      const form = await sentForm(draft.body.id);
      expect(form.get('Body')).toBe('Dear Karthik, container MSKU1234565 is gated in at JNPT. - Seahawk Logistics');
      expect(form.get('DltTemplateId')).toBe(DLT_CONTAINER);
    });

    it('asks for the registered text of templates stored before it was required', async () => {
      const legacy = await json('POST', '/api/channels', {
        as: 'admin',
        body: { kind: 'sms', name: 'Old SMS', address: 'OLDSMS', exotel, dltEntityId: DLT_ENTITY, smsTemplates: [SMS_TEMPLATES[1]] },
      });
      expect(legacy.status).toBe(201);
      await db.sql`update app.channels set settings = jsonb_set(settings, '{smsTemplates}', ${db.sql.json([{ id: DLT_TEMPLATE, name: 'general_reply', parameterCount: 0 }])}) where id = ${legacy.body.id}`;
      const old = { id: legacy.body.id, secret: legacy.body.webhook.secret };
      await get(old, { SmsSid: 'sms-in-0103', From: '09876500103', To: 'OLDSMS', Date: '2026-11-26 11:40:00', Body: 'Hello?' });
      const [t] = await db.sql<{ threadId: string }[]>`select thread_id from app.messages where from_address = '+919876500103'`;
      const res = await json('POST', `/api/threads/${t!.threadId}/messages`, { as: 'agent', body: { text: 'Hello - Seahawk Logistics' } });
      expect(res.status).toBe(422);
      expect(res.body.error.details.issues[0].path).toBe('body.text');
      expect(res.body.error.message).toContain('general_reply (1107160000000012345): no registered text');
      const byName = await json('POST', `/api/threads/${t!.threadId}/messages`, { as: 'agent', body: { template: { name: 'general_reply' } } });
      expect(byName.status).toBe(422);
      expect(byName.body.error.details.issues[0]).toEqual({ path: 'body.template.name', message: expect.stringContaining('has no registered text') });
      const shown = await json('GET', `/api/channels/${old.id}`, { as: 'viewer' });
      expect(shown.body.smsTemplates).toEqual([{ id: DLT_TEMPLATE, name: 'general_reply', parameterCount: 0, body: null }]);
    });
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
