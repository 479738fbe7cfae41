// Several messages at once from someone new make one contact and one conversation, on real
// PostgreSQL (PGlite runs one transaction at a time, so it cannot race): simultaneous Exotel
// callbacks over HTTP to the webhook handler (WhatsApp, SMS, incoming calls, and WhatsApp and SMS from
// the same number together), and simultaneous email ingests from one new sender.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ctx } from '../../lib/context.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { ingestEmail, lockForIngest, type Mailbox } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import { json, router } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_EXOTEL } from '../helpers/fake-exotel.js';
import { mail } from '../helpers/mail.js';

const ROUNDS = 5;
const AT_ONCE = 4;

let db: TestDatabase;
let server: Server;
let base: string;
const channels: Record<'whatsapp' | 'sms' | 'voice', { id: string; secret: string }> = {} as never;

beforeAll(async () => {
  db = await testDatabase();
  // Callbacks arrive over HTTP, each on its own connection, as Exotel sends them.
  const listener = getRequestListener((request) => router.fetch(request));
  server = createServer((req, res) => void listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const exotel = { ...FAKE_EXOTEL, subdomain: 'api.exotel.com' };
  const bodies = {
    whatsapp: { kind: 'whatsapp', name: 'Race WhatsApp', address: '+912250007001', exotel },
    sms: {
      kind: 'sms',
      name: 'Race SMS',
      address: 'RACESM',
      exotel,
      dltEntityId: '1101234567890123456',
      smsTemplates: [{ id: '1107160000000012345', name: 'reply', body: '{#var#}{#var#}{#var#}' }],
    },
    voice: { kind: 'voice', name: 'Race ExoPhone', address: '+912250007003', exotel },
  };
  for (const [kind, body] of Object.entries(bodies)) {
    const res = await json('POST', '/api/channels', { as: 'admin', body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    channels[kind as keyof typeof channels] = { id: res.body.id, secret: res.body.webhook.secret };
  }
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await db.close();
});

let numbers = 0;
/** A mobile number no contact has yet (E.164 and as Exotel writes it). */
function newNumber() {
  const local = `98${String(process.pid % 1000).padStart(3, '0')}${String(++numbers).padStart(5, '0')}`;
  return { e164: `+91${local}`, exotel: `0${local}` };
}

const whatsapp = (from: string) =>
  fetch(`${base}/api/webhooks/exotel/${channels.whatsapp.id}?token=${channels.whatsapp.secret}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      whatsapp: {
        messages: [
          {
            callback_type: 'icm',
            sid: `wa-${randomUUID()}`,
            from,
            to: '912250007001',
            profile_name: 'New Trucker',
            timestamp: new Date().toISOString(),
            content: { type: 'text', text: { body: `Truck at gate ${randomUUID()}` } },
          },
        ],
      },
    }),
  });
const sms = (from: string) =>
  fetch(
    `${base}/api/webhooks/exotel/${channels.sms.id}?${new URLSearchParams({ SmsSid: `sms-${randomUUID()}`, From: from, To: 'RACESM', Body: `Pickup done ${randomUUID()}`, token: channels.sms.secret })}`,
  );
const incomingCall = (from: string) =>
  fetch(
    `${base}/api/webhooks/exotel/${channels.voice.id}?${new URLSearchParams({ CallSid: `call-${randomUUID()}`, CallFrom: from, CallTo: '02250007003', CallType: 'call-attempt', token: channels.voice.secret })}`,
  );

async function partiesOf(e164: string) {
  const contacts = await db.sql`select id from app.contacts where org_id = ${SEED_ORG_ID} and (phone = ${e164} or whatsapp = ${e164}) and deleted_at is null`;
  const threads = await db.sql<{ id: string; channel: string; contactId: string }[]>`
    select id, channel, contact_id from app.threads where org_id = ${SEED_ORG_ID} and counterpart = ${e164} order by channel`;
  const messages = await db.sql<{ threadId: string }[]>`select thread_id from app.messages where org_id = ${SEED_ORG_ID} and from_address = ${e164}`;
  return { contacts, threads, messages };
}

describe('simultaneous Exotel callbacks from a new number', () => {
  for (const [kind, send] of [
    ['WhatsApp', whatsapp],
    ['SMS', sms],
    ['incoming call', incomingCall],
  ] as const) {
    it(`${AT_ONCE} ${kind} callbacks at once, ${ROUNDS} rounds: one contact and one thread each round`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const number = newNumber();
        const responses = await Promise.all(Array.from({ length: AT_ONCE }, () => send(number.exotel)));
        expect(responses.map((r) => r.status)).toEqual(Array(AT_ONCE).fill(200));
        const { contacts, threads, messages } = await partiesOf(number.e164);
        expect(contacts, `round ${round}`).toHaveLength(1);
        expect(threads, `round ${round}`).toHaveLength(1);
        expect(threads[0]!.contactId).toBe(contacts[0]!.id);
        expect(messages).toHaveLength(AT_ONCE);
        expect(new Set(messages.map((m) => m.threadId))).toEqual(new Set([threads[0]!.id]));
      }
    });
  }

  it('WhatsApp and SMS from the same new number at once share one contact, one thread per channel', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const number = newNumber();
      const responses = await Promise.all([whatsapp(number.exotel), sms(number.exotel), whatsapp(number.exotel), sms(number.exotel)]);
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      const { contacts, threads } = await partiesOf(number.e164);
      expect(contacts, `round ${round}`).toHaveLength(1);
      expect(threads.map((t) => t.channel)).toEqual(['sms', 'whatsapp']);
      expect(threads.every((t) => t.contactId === contacts[0]!.id)).toBe(true);
    }
  });
});

describe('simultaneous email from a new sender', () => {
  const mailbox: Mailbox = { channelId: null, address: 'ops@seahawk-logistics.in', ownDomains: ['seahawk-logistics.in'] };
  const ingest = async (raw: string) => {
    const parsed = await parseEmail(Buffer.from(raw));
    return withClaims(systemClaims(SEED_ORG_ID), (sql) => {
      const ctx: Ctx = { requestId: 'race', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] };
      return ingestEmail(ctx, parsed, mailbox);
    });
  };
  /** Several messages in one transaction, as the poller stores a run of a folder. */
  const storeRun = async (raws: string[]) => {
    const parsed = await Promise.all(raws.map((raw) => parseEmail(Buffer.from(raw))));
    return withClaims(systemClaims(SEED_ORG_ID), async (sql) => {
      const ctx: Ctx = { requestId: 'race-run', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] };
      await lockForIngest(ctx, parsed, mailbox);
      const out = [];
      for (const p of parsed) out.push(await ingestEmail(ctx, p, mailbox));
      return out;
    });
  };

  it(`${AT_ONCE} messages at once, ${ROUNDS} rounds: one contact and one thread each round`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const sender = `new.shipper.${randomUUID().slice(0, 8)}@freshcargo.example`;
      const subject = `Quote for 1x20GP Mundra to Jebel Ali ${round}`;
      const results = await Promise.all(
        Array.from({ length: AT_ONCE }, (_, i) =>
          ingest(mail({ from: `New Shipper <${sender}>`, subject: i === 0 ? subject : `Re: ${subject}`, body: `Part ${i}` })),
        ),
      );
      expect(results.every((r) => r.outcome === 'stored')).toBe(true);
      const contacts = await db.sql`select id from app.contacts where org_id = ${SEED_ORG_ID} and email = ${sender}`;
      const threads = await db.sql<{ id: string; messageCount: number; contactId: string }[]>`
        select id, message_count, contact_id from app.threads where org_id = ${SEED_ORG_ID} and counterpart = ${sender}`;
      expect(contacts, `round ${round}`).toHaveLength(1);
      expect(threads, `round ${round}`).toHaveLength(1);
      expect(threads[0]).toMatchObject({ messageCount: AT_ONCE, contactId: contacts[0]!.id });
      expect(new Set(results.map((r) => r.threadId))).toEqual(new Set([threads[0]!.id]));
      expect(results.filter((r) => r.threadCreated)).toHaveLength(1);
    }
  });

  it('two runs naming the same new senders in opposite orders both commit (no lock cycle), one thread per sender', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const senders = Array.from({ length: 6 }, (_, i) => `agent${i}.${randomUUID().slice(0, 8)}@overseas${i}.example`);
      const inbox = senders.map((s) => mail({ from: s, subject: `Pre-alert ${s}` }));
      // The Sent folder: our replies to the same people, newest customer first.
      const sent = [...senders].reverse().map((s) => mail({ from: 'ops@seahawk-logistics.in', to: s, subject: `Re: Pre-alert ${s}` }));
      const runs = await Promise.allSettled([storeRun(inbox), storeRun(sent)]);
      expect(
        runs.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')),
        `round ${round}`,
      ).toEqual(['ok', 'ok']);
      const threads = await db.sql<{ counterpart: string; messageCount: number }[]>`
        select counterpart, message_count from app.threads where org_id = ${SEED_ORG_ID} and counterpart = any(${senders}::text[])`;
      expect(threads.map((t) => t.counterpart).sort()).toEqual([...senders].sort());
      expect(threads.every((t) => t.messageCount === 2)).toBe(true);
    }
  });
});
