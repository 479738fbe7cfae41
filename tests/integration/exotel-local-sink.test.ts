// The local Exotel sink (EXOTEL_ADAPTER=local, the default without Exotel): every request it would have
// sent is written whole as <kind>-<message id>.json under EXOTEL_OUT_DIR, so a developer sees exactly
// what Exotel would receive: WhatsApp content (text, template), SMS body with the DLT ids, the call's
// connect parameters, the status callback and the custom data; the in-memory record stays.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import { SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { localOutbox } from '../../lib/exotel/adapter.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_EXOTEL } from '../helpers/fake-exotel.js';

const PUBLIC = 'https://banxway.example';
const T1 = '10000001-0000-4000-8000-000000000001';
const DLT_ENTITY = '1101234567890123456';
const DLT_TEMPLATE = '1107160000000012345';

let db: TestDatabase;
let saved: Config;
let outDir: string;
let storageDir: string;
const channels: Record<'whatsapp' | 'sms' | 'voice', { id: string; secret: string }> = {} as never;
const exotel = { ...FAKE_EXOTEL, subdomain: 'api.in.exotel.com' };

/** The file the sink wrote for this key, parsed. */
const written = (name: string) => JSON.parse(readFileSync(join(outDir, name), 'utf8'));

async function conversation(kind: 'whatsapp' | 'sms', from: string): Promise<string> {
  const ch = channels[kind];
  if (kind === 'whatsapp') {
    const res = await call('POST', `/api/webhooks/exotel/${ch.id}?token=${ch.secret}`, {
      token: null,
      body: {
        whatsapp: {
          messages: [
            {
              callback_type: 'icm',
              sid: `wa-in-sink-${from}`,
              from,
              to: '912250005555',
              timestamp: new Date().toISOString(),
              content: { type: 'text', text: { body: 'Rates?' } },
            },
          ],
        },
      },
    });
    expect(res.status).toBe(200);
  } else {
    const q = new URLSearchParams({ SmsSid: `sms-in-sink-${from}`, From: from, To: 'SEAHWK', Date: '2026-11-26 10:15:00', Body: 'Status?', token: ch.secret });
    expect((await call('GET', `/api/webhooks/exotel/${ch.id}?${q}`, { token: null })).status).toBe(200);
  }
  const [t] = await db.sql<{ threadId: string }[]>`select thread_id from app.messages where provider_message_id like ${`%-sink-${from}`}`;
  return t!.threadId;
}

beforeAll(async () => {
  db = await testDatabase();
  saved = config();
  outDir = mkdtempSync(join(tmpdir(), 'banxway-exotel-out-'));
  storageDir = mkdtempSync(join(tmpdir(), 'banxway-exotel-storage-'));
  setConfig(parseConfig({ ...process.env, PUBLIC_BASE_URL: PUBLIC, EXOTEL_ADAPTER: 'local', EXOTEL_OUT_DIR: outDir, STORAGE_DIR: storageDir }));
  const bodies = {
    whatsapp: {
      kind: 'whatsapp',
      name: 'Sink WhatsApp',
      address: '+912250005555',
      exotel,
      templates: [{ name: 'shipment_update', language: 'en', parameterCount: 2 }],
    },
    sms: {
      kind: 'sms',
      name: 'Sink SMS',
      address: 'SEAHWK',
      exotel,
      dltEntityId: DLT_ENTITY,
      smsTemplates: [{ id: DLT_TEMPLATE, name: 'general_reply', body: '{#var#}{#var#}{#var#} - Seahawk Logistics' }],
    },
    voice: { kind: 'voice', name: 'Sink ExoPhone', address: '+912233336666', exotel },
  };
  for (const [kind, body] of Object.entries(bodies)) {
    const res = await json('POST', '/api/channels', { as: 'admin', body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    channels[kind as keyof typeof channels] = { id: res.body.id, secret: res.body.webhook.secret };
  }
});

afterAll(async () => {
  setConfig(saved);
  await db.close();
  rmSync(outDir, { recursive: true, force: true });
  rmSync(storageDir, { recursive: true, force: true });
});

const callback = (kind: keyof typeof channels) => expect.stringMatching(new RegExp(`^${PUBLIC}/api/webhooks/exotel/${channels[kind].id}\\?token=cb_`));

describe('the local Exotel sink', () => {
  it('writes a WhatsApp reply and a template as the JSON Exotel would receive, and keeps the in-memory record', async () => {
    const threadId = await conversation('whatsapp', '919876500301');
    const text = await json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'USD 450 all in' } });
    expect(text.status).toBe(201);
    await drainJobs();
    const file = written(`whatsapp-${text.body.id}.json`);
    expect(file).toEqual({
      note: expect.stringContaining('not sent'),
      kind: 'whatsapp',
      sid: expect.stringMatching(/^local-wa-/),
      at: expect.any(String),
      request: {
        method: 'POST',
        url: 'https://api.in.exotel.com/v2/accounts/seahawk1/messages',
        contentType: 'application/json',
        json: {
          custom_data: text.body.id,
          status_callback: callback('whatsapp'),
          whatsapp: {
            messages: [
              { from: '+912250005555', to: '+919876500301', content: { recipient_type: 'individual', type: 'text', text: { body: 'USD 450 all in' } } },
            ],
          },
        },
      },
    });
    const [m] = await db.sql<any[]>`select status, provider_message_id from app.messages where id = ${text.body.id}`;
    expect(m).toEqual({ status: 'sent', providerMessageId: file.sid });
    const recorded = localOutbox.find((o) => o.sid === file.sid)!;
    expect(recorded).toMatchObject({ kind: 'whatsapp', file: join(outDir, `whatsapp-${text.body.id}.json`), request: { customData: text.body.id } });
    expect(JSON.stringify(file)).not.toContain(FAKE_EXOTEL.apiToken);
    expect(JSON.stringify(file)).not.toContain(FAKE_EXOTEL.apiKey);

    const template = await json('POST', `/api/threads/${threadId}/messages`, {
      as: 'agent',
      body: { template: { name: 'shipment_update', language: 'en', parameters: ['MSKU1234565', 'sailed'] } },
    });
    await drainJobs();
    expect(written(`whatsapp-${template.body.id}.json`).request.json.whatsapp.messages[0].content).toEqual({
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
              { type: 'text', text: 'sailed' },
            ],
          },
        ],
      },
    });
  });

  it('writes an SMS with its body and DLT ids, and a click-to-call with its connect parameters', async () => {
    const threadId = await conversation('sms', '09876500302');
    const sms = await json('POST', `/api/threads/${threadId}/messages`, { as: 'agent', body: { text: 'Loaded and sealed. - Seahawk Logistics' } });
    expect(sms.status).toBe(201);
    await drainJobs();
    expect(written(`sms-${sms.body.id}.json`).request).toEqual({
      method: 'POST',
      url: 'https://api.in.exotel.com/v1/Accounts/seahawk1/Sms/send.json',
      contentType: 'application/x-www-form-urlencoded',
      form: {
        From: 'SEAHWK',
        To: '+919876500302',
        Body: 'Loaded and sealed. - Seahawk Logistics',
        StatusCallback: callback('sms'),
        CustomField: sms.body.id,
        DltEntityId: DLT_ENTITY,
        DltTemplateId: DLT_TEMPLATE,
      },
    });

    await db.sql`update app.members set phone = '+919811122244' where org_id = ${SEED_ORG_ID} and user_id = ${SEED_USERS.manager.id}`;
    const placed = await json('POST', `/api/threads/${T1}/calls`, { as: 'manager', body: {} });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    await drainJobs();
    expect(written(`call-${placed.body.id}.json`).request).toEqual({
      method: 'POST',
      url: 'https://api.in.exotel.com/v1/Accounts/seahawk1/Calls/connect.json',
      contentType: 'application/x-www-form-urlencoded',
      form: {
        From: '+919811122244',
        To: '+919840012345',
        CallerId: '+912233336666',
        Record: 'true',
        StatusCallback: callback('voice'),
        StatusCallbackContentType: 'application/json',
        CustomField: placed.body.id,
        'StatusCallbackEvents[0]': 'terminal',
        'StatusCallbackEvents[1]': 'answered',
      },
    });
    // Each file is written whole: no partial file is left behind.
    expect(readdirSync(outDir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });
});
