// WhatsApp through Exotel end to end: channels (sealed credentials, a webhook secret shown once, its
// rotation), the inbound callback (authentication, payload variants, contacts, threads, one message per
// delivery however often it arrives, media copied into storage), replies within and outside the
// 24-hour window (templates), what the adapter sends to a local server speaking Exotel's API, and
// delivery reports moving the message forward.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import { SECOND_ORG_ID, SEED_ORG_ID } from '../../lib/dev/seed.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_EXOTEL, fakeExotel, type FakeExotel } from '../helpers/fake-exotel.js';
import { column, textPdf } from '../helpers/documents.js';
import { broadcastsSince } from '../helpers/realtime.js';

const PUBLIC = 'https://banxway.example';
const KARTHIK_CONTACT = '0e000000-0000-4000-8000-000000000001';

let db: TestDatabase;
let fake: FakeExotel;
let saved: Config;
let storageDir: string;
let channelId: string;
let secret: string;

const exotel = () => ({ ...FAKE_EXOTEL, subdomain: 'api.in.exotel.com' });

async function createChannel(as: 'owner' | 'other' = 'owner', address = '+912250001111') {
  return json('POST', '/api/channels', {
    as,
    body: {
      kind: 'whatsapp',
      name: 'Seahawk WhatsApp',
      address,
      exotel: exotel(),
      templates: [
        { name: 'shipment_update', language: 'en', parameterCount: 2 },
        { name: 'hello', language: 'en' },
      ],
    },
  });
}

function hook(id: string, token: string | null, body: unknown, headers: Record<string, string> = {}) {
  const q = token === null ? '' : `?token=${encodeURIComponent(token)}`;
  return call('POST', `/api/webhooks/exotel/${id}${q}`, { token: null, ...(typeof body === 'string' ? { rawBody: body } : { body }), headers });
}

let seq = 0;
function icm(from: string, content: unknown, extra: Record<string, unknown> = {}) {
  seq += 1;
  return {
    callback_type: 'icm',
    sid: `wa-in-${Date.now()}-${seq}`,
    from,
    to: '912250001111',
    profile_name: 'Vikram Transport',
    timestamp: new Date().toISOString(),
    content,
    ...extra,
  };
}

const counts = async () => {
  const [r] = await db.sql<{ m: number; w: number }[]>`
    select (select count(*)::int from app.messages) as m, (select count(*)::int from app.webhook_events where provider = 'exotel') as w`;
  return r!;
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
  const res = await createChannel();
  expect(res.status).toBe(201);
  channelId = res.body.id;
  secret = res.body.webhook.secret;
});

afterAll(async () => {
  setConfig(saved);
  await fake.close();
  await db.close();
  rmSync(storageDir, { recursive: true, force: true });
});

beforeEach(() => fake.reset());

describe('WhatsApp channels', () => {
  it('shows the webhook secret and callback URL once, stores only its hash and seals the credentials', async () => {
    const res = await createChannel('owner', '+91 22 5000 2222');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ kind: 'whatsapp', address: '+912250002222', exotel: { subdomain: 'api.in.exotel.com', accountSid: 'seahawk1' } });
    expect(res.body.webhook.secret).toMatch(/^exw_/);
    expect(res.body.webhook.url).toBe(`${PUBLIC}/api/webhooks/exotel/${res.body.id}?token=${res.body.webhook.secret}`);
    expect(JSON.stringify(res.body)).not.toContain(FAKE_EXOTEL.apiToken);
    const [row] = await db.sql<{ webhookSecretHash: string; secretCiphertext: string; settings: any }[]>`
      select webhook_secret_hash, secret_ciphertext, settings from app.channels where id = ${res.body.id}`;
    expect(row!.webhookSecretHash).toBe(createHash('sha256').update(res.body.webhook.secret).digest('hex'));
    expect(row!.secretCiphertext).not.toContain(FAKE_EXOTEL.apiToken);
    expect(JSON.stringify(row!.settings)).not.toContain(FAKE_EXOTEL.apiKey);

    const shown = await json('GET', `/api/channels/${res.body.id}`, { as: 'viewer' });
    expect(shown.status).toBe(200);
    expect(JSON.stringify(shown.body)).not.toContain(res.body.webhook.secret);
    expect(JSON.stringify(shown.body)).not.toContain(FAKE_EXOTEL.apiKey);
    expect(shown.body.templates).toEqual([
      { name: 'shipment_update', language: 'en', parameterCount: 2 },
      { name: 'hello', language: 'en', parameterCount: 0 },
    ]);
    const audit = await db.sql`select data from app.audit_log where entity_id = ${res.body.id}`;
    expect(JSON.stringify(audit)).not.toContain(FAKE_EXOTEL.apiToken);
  });

  it('validates the body (422 naming fields) and refuses the same number twice (409)', async () => {
    const bad = await json('POST', '/api/channels', {
      as: 'owner',
      body: { kind: 'whatsapp', name: 'x', address: 'not a phone', exotel: { ...exotel(), subdomain: 'evil.example' } },
    });
    expect(bad.status).toBe(422);
    const paths = bad.body.error.details.issues.map((i: any) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.address', 'body.exotel.subdomain']));
    expect((await createChannel()).status).toBe(409);
    expect(
      (await json('POST', '/api/channels', { as: 'agent', body: { kind: 'whatsapp', name: 'x', address: '+912250009999', exotel: exotel() } })).status,
    ).toBe(403);
  });

  it('PATCH changes templates and credentials; email-only fields are refused', async () => {
    const res = await json('PATCH', `/api/channels/${channelId}`, {
      as: 'admin',
      body: {
        templates: [
          { name: 'shipment_update', language: 'en', parameterCount: 2 },
          { name: 'hello', language: 'en' },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.templates).toHaveLength(2);
    const bad = await json('PATCH', `/api/channels/${channelId}`, { as: 'admin', body: { folders: ['INBOX'] } });
    expect(bad.status).toBe(422);
    const dlt = await json('PATCH', `/api/channels/${channelId}`, { as: 'admin', body: { dltEntityId: '1101234567890123456' } });
    expect(dlt.status).toBe(422);
    expect(dlt.body.error.details.issues[0].path).toBe('body.dltEntityId');
  });
});

describe('incoming WhatsApp messages', () => {
  it('refuses a wrong or missing token with 401 and stores nothing', async () => {
    const before = await counts();
    const body = { whatsapp: { messages: [icm('919876500001', { type: 'text', text: { body: 'hi' } })] } };
    expect((await hook(channelId, null, body)).status).toBe(401);
    expect((await hook(channelId, 'exw_wrong', body)).status).toBe(401);
    expect((await hook(channelId, `${secret}x`, body)).status).toBe(401);
    expect((await hook('0a000000-0000-4000-8000-00000000dead', secret, body)).status).toBe(401);
    expect(await counts()).toEqual(before);
  });

  it('stores a message from an unknown number once, however often the callback arrives', async () => {
    const since = await broadcastsSince(db.sql);
    const body = { whatsapp: { messages: [icm('919876500002', { type: 'text', text: { body: 'Truck reached JNPT gate 4, please send the EIR' } })] } };
    const before = await counts();
    for (let i = 0; i < 3; i++) {
      const res = await hook(channelId, secret, body);
      expect(res.status).toBe(200);
    }
    const after = await counts();
    expect(after.m - before.m).toBe(1);
    expect(after.w - before.w).toBe(1);
    const [m] = await db.sql<any[]>`select * from app.messages where from_address = '+919876500002'`;
    expect(m).toMatchObject({
      channel: 'whatsapp',
      direction: 'inbound',
      status: 'received',
      contentType: 'text',
      bodyText: 'Truck reached JNPT gate 4, please send the EIR',
      fromName: 'Vikram Transport',
      channelId,
    });
    const [t] = await db.sql<any[]>`select * from app.threads where id = ${m.threadId}`;
    expect(t).toMatchObject({ channel: 'whatsapp', channelId, counterpart: '+919876500002', status: 'open', messageCount: 1 });
    const [c] = await db.sql<any[]>`select * from app.contacts where id = ${t.contactId}`;
    expect(c).toMatchObject({ whatsapp: '+919876500002', phone: '+919876500002', name: 'Vikram Transport' });
    const events = (await since()).map((b) => b.event);
    expect(events).toEqual(expect.arrayContaining(['contact.created', 'thread.created', 'message.created']));

    // The next message goes to the same open thread; once it is closed, a new one opens (the rule every
    // channel shares: tests/integration/reopen-rule.test.ts).
    await hook(channelId, secret, { whatsapp: { messages: [icm('+91 98765 00002', { type: 'text', text: { body: 'And the VGM?' } })] } });
    const threads = await db.sql<any[]>`select id, message_count from app.threads where counterpart = '+919876500002'`;
    expect(threads).toHaveLength(1);
    expect(threads[0].messageCount).toBe(2);
    await db.sql`update app.threads set status = 'closed', closed_at = now() where id = ${t.id}`;
    await hook(channelId, secret, { whatsapp: { messages: [icm('919876500002', { type: 'text', text: { body: 'New booking' } })] } });
    const again = await db.sql<any[]>`select id, previous_thread_id from app.threads where counterpart = '+919876500002' order by created_at`;
    expect(again).toHaveLength(2);
    expect(again[1].previousThreadId).toBe(t.id);
  });

  it('matches a known contact on the normalised number (customer kept)', async () => {
    const res = await hook(channelId, secret, {
      whatsapp: { messages: [icm('919840012345', { type: 'text', text: { body: 'Booking confirmed?' } }, { profile_name: 'Karthik' })] },
    });
    expect(res.status).toBe(200);
    const [t] = await db.sql<any[]>`select contact_id, customer_id from app.threads where counterpart = '+919840012345' and channel_id = ${channelId}`;
    expect(t.contactId).toBe(KARTHIK_CONTACT);
    expect(t.customerId).toBe('0d000000-0000-4000-8000-000000000001');
  });

  it('links the conversation to the shipment its container number names', async () => {
    const res = await hook(channelId, secret, {
      whatsapp: { messages: [icm('919930011223', { type: 'text', text: { body: 'Sir cntr MSKU 123456 5 gate-in done at JNPT' } })] },
    });
    expect(res.status).toBe(200);
    const links = await db.sql<any[]>`
      select ts.shipment_id, ts.link_source, ts.matched_identifier from app.thread_shipments ts
      join app.threads t on t.id = ts.thread_id where t.counterpart = '+919930011223' and t.channel_id = ${channelId}`;
    expect(links).toEqual([{ shipmentId: '0f000000-0000-4000-8000-000000000001', linkSource: 'automatic', matchedIdentifier: 'MSKU1234565' }]);
    const [m] = await db.sql<{ identifiers: string[] }[]>`
      select m.identifiers from app.messages m join app.threads t on t.id = m.thread_id
      where t.counterpart = '+919930011223' and t.channel_id = ${channelId} and m.body_text like '%gate-in done%'`;
    expect(m!.identifiers).toEqual(['MSKU1234565']);
  });

  it('takes several messages in one callback (image, document, location, contacts) and copies media into storage', async () => {
    const image = fake.serve('truck.jpg', 'image/jpeg', Buffer.from('fake-jpeg-bytes'));
    const body = {
      whatsapp: {
        messages: [
          icm('919876500003', { type: 'image', image: { url: image, caption: 'Seal photo' } }),
          icm('919876500003', { type: 'document', document: { link: 'https://files.example.org/x.pdf', filename: 'EIR.pdf' } }),
          icm('919876500003', { type: 'location', location: { latitude: 18.95, longitude: 72.95, name: 'JNPT' } }),
          icm('919876500003', { type: 'contacts', contacts: [{ name: { formatted_name: 'Driver Raju' }, phones: [{ phone: '+919812345678' }] }] }),
        ],
      },
    };
    const res = await hook(channelId, secret, body);
    expect(res.status).toBe(200);
    const out = (await res.json()) as any;
    expect(out.results.map((r: any) => r.outcome)).toEqual(['stored', 'stored', 'stored', 'stored']);
    const rows = await db.sql<
      any[]
    >`select id, content_type, body_text, metadata from app.messages where from_address = '+919876500003' order by occurred_at, created_at`;
    expect(rows.map((r) => r.contentType).sort()).toEqual(['contacts', 'document', 'image', 'location']);
    expect(new Set((await db.sql`select thread_id from app.messages where from_address = '+919876500003'`).map((r) => r.threadId)).size).toBe(1);
    await drainJobs();
    const img = rows.find((r) => r.contentType === 'image')!;
    expect(img.metadata.media.url).toBe(image);
    const attachments = await db.sql<
      any[]
    >`select filename, content_type, size_bytes::int as size_bytes, status from app.attachments where message_id = ${img.id}`;
    expect(attachments).toEqual([{ filename: 'truck.jpg', contentType: 'image/jpeg', sizeBytes: 15, status: 'ready' }]);
    // A URL outside Exotel's hosts is never fetched.
    const doc = rows.find((r) => r.contentType === 'document')!;
    expect(await db.sql`select 1 from app.attachments where message_id = ${doc.id}`).toHaveLength(0);
    const docNow = await json('GET', `/api/messages/${doc.id}`);
    expect(docNow.body.mediaError).toEqual({ reason: 'not fetched: files.example.org is not an Exotel host', at: expect.any(String) });
    expect((await json('GET', `/api/messages/${img.id}`)).body.mediaError).toBeNull();
    expect(fake.requests.filter((r) => r.path.startsWith('/media/'))).toHaveLength(1);
  });

  it('files a customer’s WhatsApp PDF as a document of the thread, read and classified, once however often the media job runs', async () => {
    const pdf = await textPdf([column(40, 60, ['BILL OF LADING', 'B/L No: MAEU263114520', 'Container No: TGHU7382915', 'Vessel: MSC ANNA'])]);
    const link = fake.serve('bl-draft.pdf', 'application/pdf', pdf);
    const from = '919876500077';
    const res = await hook(channelId, secret, { whatsapp: { messages: [icm(from, { type: 'document', document: { link, filename: 'bl-draft.pdf' } })] } });
    expect(res.status).toBe(200);
    await drainJobs();
    const documents = () =>
      db.sql<{ source: string; readStatus: string; type: string; threadId: string; sameThread: boolean; identifiers: string[] }[]>`
        select d.source, d.read_status, d.type, d.thread_id, d.thread_id = m.thread_id as same_thread, d.identifiers
        from app.documents d join app.messages m on m.id = d.message_id where m.from_address = ${`+${from}`}`;
    expect(await documents()).toEqual([
      {
        source: 'whatsapp',
        readStatus: 'done',
        type: 'bill_of_lading',
        threadId: expect.any(String),
        sameThread: true,
        identifiers: expect.arrayContaining(['TGHU7382915']),
      },
    ]);
    // The media job run again (a redelivery) files nothing twice.
    const [job] = await db.sql<{ id: string }[]>`
      select o.id from app.outbox o join app.messages m on m.id = (o.payload ->> 'messageId')::uuid
      where o.name = 'exotel.media.fetch' and m.from_address = ${`+${from}`}`;
    expect(job).toBeDefined();
    await db.sql`update app.outbox set status = 'pending', run_at = now(), attempts = 0 where id = ${job!.id}`;
    await drainJobs();
    expect(await documents()).toHaveLength(1);
  });

  it('accepts the payload variants of the documentation and refuses what it cannot use with a 4xx', async () => {
    // response.whatsapp.messages, a bare entry, unix timestamps, no sid (content hash dedupes).
    const nested = await hook(channelId, secret, { response: { whatsapp: { messages: [icm('919876500004', { type: 'text', text: { body: 'nested' } })] } } });
    expect(nested.status).toBe(200);
    const bare = icm('919876500004', { type: 'text', text: { body: 'bare' } }, { timestamp: Math.floor(Date.now() / 1000) });
    expect((await hook(channelId, secret, bare)).status).toBe(200);
    const noSid = {
      callback_type: 'icm',
      from: '919876500004',
      to: '912250001111',
      timestamp: '1764150000',
      content: { type: 'text', text: { body: 'no sid' } },
    };
    expect((await hook(channelId, secret, { whatsapp: { messages: [noSid] } })).status).toBe(200);
    expect((await hook(channelId, secret, { whatsapp: { messages: [noSid] } })).status).toBe(200);
    expect(await db.sql`select 1 from app.messages where body_text = 'no sid'`).toHaveLength(1);

    const before = await counts();
    expect((await hook(channelId, secret, 'not json', { 'content-type': 'application/json' })).status).toBe(400);
    for (const bad of [
      {},
      { whatsapp: { messages: [] } },
      { whatsapp: { messages: [{ callback_type: 'mystery', sid: 'x' }] } },
      { whatsapp: { messages: [icm('not-a-number', { type: 'text', text: { body: 'x' } })] } },
      { whatsapp: { messages: [icm('919876500004', { type: 'text' })] } },
      { whatsapp: { messages: [icm('919876500004', { type: 'hologram' })] } },
      { whatsapp: { messages: ['just a string'] } },
      [1, 2, 3],
    ]) {
      const res = await hook(channelId, secret, bad);
      expect(res.status, JSON.stringify(bad)).toBe(422);
      expect(((await res.json()) as any).error.code).toBe('validation_failed');
    }
    expect(await counts()).toEqual(before);
    // One bad entry does not lose the good one.
    const mixed = await hook(channelId, secret, {
      whatsapp: { messages: [{ callback_type: 'mystery' }, icm('919876500004', { type: 'text', text: { body: 'good one' } })] },
    });
    expect(mixed.status).toBe(200);
    expect(((await mixed.json()) as any).rejected).toHaveLength(1);
  });

  it('keeps one organization out of another: a secret only opens its own channel', async () => {
    const other = await createChannel('other', '+912250003333');
    expect(other.status).toBe(201);
    const before = await counts();
    const body = { whatsapp: { messages: [icm('919876500005', { type: 'text', text: { body: 'cross' } })] } };
    expect((await hook(channelId, other.body.webhook.secret, body)).status).toBe(401);
    expect((await hook(other.body.id, secret, body)).status).toBe(401);
    expect(await counts()).toEqual(before);
    expect((await hook(other.body.id, other.body.webhook.secret, body)).status).toBe(200);
    const [m] = await db.sql<any[]>`select org_id from app.messages where body_text = 'cross'`;
    expect(m.orgId).toBe(SECOND_ORG_ID);
    // Members of the first organization cannot see (or rotate) the second one's channel.
    expect((await json('GET', `/api/channels/${other.body.id}`, { as: 'owner' })).status).toBe(404);
    expect((await json('POST', `/api/channels/${other.body.id}/rotate-webhook-secret`, { as: 'owner' })).status).toBe(404);
  });
});

describe('replies', () => {
  /**
   * A conversation of the calling test's own, opened by the customer's message from this number: one
   * test moves its window into the past, which must not close another's.
   */
  async function conversation(from: string): Promise<string> {
    await hook(channelId, secret, { whatsapp: { messages: [icm(from, { type: 'text', text: { body: 'Rate for 20GP to Jebel Ali?' } })] } });
    const [t] = await db.sql<{ id: string }[]>`select id from app.threads where counterpart = ${`+${from}`}`;
    return t!.id;
  }

  it('sends free text inside the 24-hour window exactly as Exotel expects, then follows delivery reports', async () => {
    const threadId = await conversation('919876500010');
    const res = await json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'USD 450 all in, valid till 30 Nov' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'queued', channel: 'whatsapp', channelId, fromAddress: '+912250001111' });
    await drainJobs();
    const sent = fake.requests.filter((r) => r.path.includes('/messages'));
    expect(sent).toHaveLength(1);
    const r = sent[0]!;
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/v2/accounts/seahawk1/messages');
    expect(r.headers.authorization).toBe(`Basic ${Buffer.from(`${FAKE_EXOTEL.apiKey}:${FAKE_EXOTEL.apiToken}`).toString('base64')}`);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json).toEqual({
      custom_data: res.body.id,
      status_callback: expect.stringMatching(new RegExp(`^${PUBLIC}/api/webhooks/exotel/${channelId}\\?token=cb_[A-Za-z0-9_-]+$`)),
      whatsapp: {
        messages: [
          {
            from: '+912250001111',
            to: '+919876500010',
            content: { recipient_type: 'individual', type: 'text', text: { body: 'USD 450 all in, valid till 30 Nov' } },
          },
        ],
      },
    });
    const [m] = await db.sql<any[]>`select status, provider_message_id from app.messages where id = ${res.body.id}`;
    expect(m.status).toBe('sent');

    // Delivery reports arrive at the status_callback we passed (its derived token authenticates them).
    const cb = new URL(r.json.status_callback);
    const dlr = (code: number, extra: Record<string, unknown> = {}) =>
      call('POST', `${cb.pathname}${cb.search}`, {
        token: null,
        body: {
          whatsapp: {
            messages: [
              {
                callback_type: 'dlr',
                sid: m.providerMessageId,
                to: '919876500010',
                exo_status_code: code,
                exo_detailed_status: 'EX_MESSAGE_STATUS',
                timestamp: new Date().toISOString(),
                custom_data: res.body.id,
                ...extra,
              },
            ],
          },
        },
      });
    const since = await broadcastsSince(db.sql);
    expect((await dlr(30002)).status).toBe(200);
    expect((await db.sql<any[]>`select status, delivered_at from app.messages where id = ${res.body.id}`)[0]).toMatchObject({
      status: 'delivered',
      deliveredAt: expect.any(Date),
    });
    expect((await dlr(30003)).status).toBe(200);
    expect((await dlr(30002)).status).toBe(200);
    expect((await dlr(30001)).status).toBe(200);
    expect((await db.sql<any[]>`select status from app.messages where id = ${res.body.id}`)[0]!.status).toBe('read');
    expect((await since()).filter((b) => b.event === 'message.updated').map((b) => b.payload.data.status)).toEqual(['delivered', 'read']);
    // The customer answering our message arrives at the same endpoint as an icm.
    const reply = await call('POST', `${cb.pathname}${cb.search}`, {
      token: null,
      body: { whatsapp: { messages: [icm('919876500010', { type: 'text', text: { body: 'OK book it' } })] } },
    });
    expect(reply.status).toBe(200);
    expect((await db.sql`select 1 from app.messages where thread_id = ${threadId} and body_text = 'OK book it'`).length).toBe(1);
  });

  it('marks a message failed with the reason when Exotel reports a failure', async () => {
    const threadId = await conversation('919876500011');
    const res = await json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'Second quote' } });
    await drainJobs();
    const [m] = await db.sql<any[]>`select provider_message_id from app.messages where id = ${res.body.id}`;
    const [, query] = fake.requests.at(-1)!.json.status_callback.split('?');
    await call('POST', `/api/webhooks/exotel/${channelId}?${query}`, {
      token: null,
      body: {
        whatsapp: {
          messages: [
            {
              callback_type: 'dlr',
              sid: m.providerMessageId,
              exo_status_code: 30008,
              exo_detailed_status: 'EX_MESSAGE_FAILED',
              description: 'Message undeliverable: user not on WhatsApp',
            },
          ],
        },
      },
    });
    const [after] = await db.sql<any[]>`select status, error_code, error_message from app.messages where id = ${res.body.id}`;
    expect(after).toEqual({ status: 'failed', errorCode: '30008', errorMessage: 'Message undeliverable: user not on WhatsApp' });
  });

  it('fails the message at once when Exotel refuses an entry inside its 202', async () => {
    const threadId = await conversation('919876500012');
    fake.fail({ kind: 'whatsapp-entry', code: 1008, message: 'Recipient is not a valid WhatsApp user' });
    const res = await json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'Third' } });
    await drainJobs();
    const [m] = await db.sql<any[]>`select status, error_code, error_message from app.messages where id = ${res.body.id}`;
    expect(m).toEqual({ status: 'failed', errorCode: 'exotel_1008', errorMessage: 'Recipient is not a valid WhatsApp user' });
  });

  it('refuses free text outside the 24-hour window (422) and sends an approved template with its parameters', async () => {
    const threadId = await conversation('919876500013');
    await db.sql`update app.threads set last_inbound_at = now() - interval '25 hours' where id = ${threadId}`;
    const before = await counts();
    const res = await json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'Any update?' } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/24-hour/);
    expect(res.body.error.details.issues[0].path).toBe('body.template');
    expect((await counts()).m).toBe(before.m);

    const wrongCount = await json('POST', `/api/threads/${threadId}/messages`, {
      as: 'agent',
      body: { template: { name: 'shipment_update', language: 'en', parameters: ['MSKU1234565'] } },
    });
    expect(wrongCount.status).toBe(422);
    expect(wrongCount.body.error.details.issues[0].path).toBe('body.template.parameters');
    const unknown = await json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { template: { name: 'not_approved', language: 'en' } } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details.issues[0].path).toBe('body.template.name');
    // Text beside a template would be stored but never sent: refused, and nothing is queued.
    const sentBefore = fake.requests.length;
    const both = await json('POST', `/api/threads/${threadId}/messages`, {
      as: 'agent',
      body: { text: 'Your container sailed', template: { name: 'shipment_update', language: 'en', parameters: ['MSKU1234565', 'sailed'] } },
    });
    expect(both.status).toBe(422);
    expect(both.body.error.details.issues).toEqual([{ path: 'body.text', message: expect.stringContaining('either text or a template') }]);
    const draft = await json('POST', `/api/threads/${threadId}/messages`, {
      as: 'agent',
      body: { draft: true, template: { name: 'shipment_update', language: 'en', parameters: ['MSKU1234565', 'sailed'] } },
    });
    expect(draft.status).toBe(201);
    const edited = await json('PATCH', `/api/messages/${draft.body.id}`, { as: 'agent', body: { text: 'and a word of ours' } });
    expect(edited.status).toBe(422);
    expect((await call('DELETE', `/api/messages/${draft.body.id}`, { as: 'agent' })).status).toBe(204);
    await drainJobs();
    expect(fake.requests.length).toBe(sentBefore);

    const ok = await json('POST', `/api/threads/${threadId}/messages`, {
      as: 'agent',
      body: { template: { name: 'shipment_update', language: 'en', parameters: ['MSKU1234565', 'sailed on 24 Nov'] } },
    });
    expect(ok.status).toBe(201);
    await drainJobs();
    const r = fake.requests.at(-1)!;
    expect(r.json.whatsapp.messages[0].content).toEqual({
      recipient_type: 'individual',
      type: 'template',
      template: {
        name: 'shipment_update',
        language: { code: 'en', policy: 'deterministic' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'MSKU1234565' },
              { type: 'text', text: 'sailed on 24 Nov' },
            ],
          },
        ],
      },
    });
    const [m] = await db.sql<any[]>`select status, content_type, body_text from app.messages where id = ${ok.body.id}`;
    expect(m).toMatchObject({ status: 'sent', contentType: 'template' });
  });

  it('refuses templates on email threads', async () => {
    const res = await json('POST', '/api/threads/10000001-0000-4000-8000-000000000001/messages', {
      as: 'agent',
      body: { template: { name: 'hello', language: 'en' } },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues[0].path).toBe('body.template');
  });
});

describe('webhook secret rotation', () => {
  it('accepts the old secret during the grace period only, and the new one from now on', async () => {
    const created = await createChannel('owner', '+912250004444');
    const id = created.body.id;
    const old = created.body.webhook.secret;
    const rotated = await json('POST', `/api/channels/${id}/rotate-webhook-secret`, { as: 'admin' });
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.webhook.secret;
    expect(fresh).not.toBe(old);
    expect(rotated.body.webhook.url).toBe(`${PUBLIC}/api/webhooks/exotel/${id}?token=${fresh}`);
    expect(new Date(rotated.body.webhook.previousSecretExpiresAt).getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    const msg = () => ({ whatsapp: { messages: [icm('919876500020', { type: 'text', text: { body: 'rotation' } })] } });
    expect((await hook(id, fresh, msg())).status).toBe(200);
    expect((await hook(id, old, msg())).status).toBe(200);
    await db.sql`update app.channels set previous_webhook_secret_expires_at = now() - interval '1 second' where id = ${id}`;
    expect((await hook(id, old, msg())).status).toBe(401);
    expect((await hook(id, fresh, msg())).status).toBe(200);
    expect((await json('POST', `/api/channels/${id}/rotate-webhook-secret`, { as: 'agent' })).status).toBe(403);
    const [org] = await db.sql<any[]>`select org_id from app.channels where id = ${id}`;
    expect(org.orgId).toBe(SEED_ORG_ID);
  });
});
