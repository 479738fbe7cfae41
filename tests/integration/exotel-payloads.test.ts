// The callback shapes of Exotel's newer pages, through the webhook endpoint: WhatsApp events posted one
// per callback (`{ event: "incoming_message", message, contact }`, `message_status` with `event` +
// `message` or `type` + `data`, the bare status of the status-codes page, the URL check with its
// challenge) and the two-way SMS posted as JSON (`{ SmsSid, Direction, Sender, ReceivedOn, MessageBody,
// ReceivedTime }`). Each is stored once per provider id, whichever shape or method brings it, and a body
// that cannot be used is a 422 naming what is missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { exotelTestbed, type ExotelTestbed } from '../helpers/exotel-setup.js';

let db: TestDatabase;
let bed: ExotelTestbed;
let wa: { id: string; secret: string };
let sms: { id: string; secret: string };

beforeAll(async () => {
  db = await testDatabase();
  bed = await exotelTestbed();
  wa = await bed.channel({ kind: 'whatsapp', name: 'WA events', address: '+912250007777' });
  sms = await bed.channel({
    kind: 'sms',
    name: 'Two-way SMS',
    address: 'SEAHWK',
    dltEntityId: '1101234567890123456',
    smsTemplates: [{ id: '1107160000000012345', name: 'general_reply', body: 'Dear customer, {#var#} Team Seahawk' }],
  });
});

afterAll(async () => {
  await bed.close();
  await db.close();
});

const post = async (ch: { id: string; secret: string }, body: unknown) => {
  const res = await call('POST', `/api/webhooks/exotel/${ch.id}?token=${ch.secret}`, { token: null, body });
  return { status: res.status, body: (await res.json()) as any };
};
const stored = async (channelId: string) => {
  const [r] = await db.sql<{ events: number; messages: number }[]>`
    select (select count(*)::int from app.webhook_events where provider = 'exotel' and channel_id = ${channelId}) as events,
           (select count(*)::int from app.messages where channel_id = ${channelId}) as messages`;
  return r!;
};

/** An incoming message as the receive-messages page shows it. */
function incomingMessage(id: string, from: string, message: Record<string, unknown>, at = '2026-11-26T05:00:00.000Z', name = 'Vikram Transport') {
  return {
    event: 'incoming_message',
    timestamp: at,
    account_sid: 'seahawk1',
    message: { id, from, to: '+912250007777', timestamp: at, ...message },
    contact: { wa_id: from.replace(/^\+/, ''), profile: { name } },
  };
}

describe('WhatsApp events', () => {
  it('stores an incoming_message once, with the sender, its name and its time', async () => {
    const body = incomingMessage('msg_in_001', '+919876500301', { type: 'text', text: { body: 'Is container MSKU1234565 gated in?' } });
    const first = await post(wa, body);
    expect(first.status).toBe(200);
    expect(first.body.results).toEqual([{ kind: 'whatsapp.icm', outcome: 'stored', messageId: expect.any(String), threadId: expect.any(String) }]);
    const again = await post(wa, body);
    expect(again.body.results).toEqual([{ kind: 'whatsapp.icm', outcome: 'duplicate' }]);
    const rows = await db.sql<any[]>`select * from app.messages where provider_message_id = 'msg_in_001'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      channel: 'whatsapp',
      direction: 'inbound',
      fromAddress: '+919876500301',
      fromName: 'Vikram Transport',
      bodyText: 'Is container MSKU1234565 gated in?',
      contentType: 'text',
    });
    expect(rows[0].occurredAt.toISOString()).toBe('2026-11-26T05:00:00.000Z');
    // The same message in the older list shape (same sid) is the same message.
    const list = await post(wa, {
      whatsapp: {
        messages: [
          { callback_type: 'icm', sid: 'msg_in_001', from: '919876500301', content: { type: 'text', text: { body: 'Is container MSKU1234565 gated in?' } } },
        ],
      },
    });
    expect(list.body.results[0].outcome).toBe('duplicate');
    expect(await db.sql`select 1 from app.messages where provider_message_id = 'msg_in_001'`).toHaveLength(1);
  });

  it('keeps an image sent only by its media id, with why it has no file; a location and a button reply', async () => {
    const image = await post(
      wa,
      incomingMessage('msg_in_002', '+919876500302', {
        type: 'image',
        image: { id: 'media_abc123', mime_type: 'image/jpeg', sha256: 'abc123', caption: 'Seal photo' },
      }),
    );
    expect(image.status).toBe(200);
    const [m] = await db.sql<any[]>`select id, content_type, body_text, metadata from app.messages where provider_message_id = 'msg_in_002'`;
    expect(m).toMatchObject({ contentType: 'image', bodyText: 'Seal photo' });
    expect(m.metadata.media).toMatchObject({ url: null, id: 'media_abc123', mimeType: 'image/jpeg', caption: 'Seal photo' });
    expect(m.metadata.media.fetchError).toEqual({ reason: 'Exotel sent the media id media_abc123 without a download URL', at: expect.any(String) });
    // Nothing to fetch: no job was queued for it.
    expect(await db.sql`select 1 from app.outbox where name = 'exotel.media.fetch' and payload->>'messageId' = ${m.id}`).toHaveLength(0);

    await post(
      wa,
      incomingMessage('msg_in_003', '+919876500302', {
        type: 'location',
        location: { latitude: 18.95, longitude: 72.95, name: 'JNPT', address: 'Nhava Sheva' },
      }),
    );
    await post(
      wa,
      incomingMessage('msg_in_004', '+919876500302', {
        type: 'interactive',
        interactive: { type: 'button_reply', button_reply: { id: 'confirm', title: 'Confirm booking' } },
      }),
    );
    const texts = await db.sql<any[]>`
      select provider_message_id, content_type, body_text from app.messages where provider_message_id in ('msg_in_003', 'msg_in_004') order by provider_message_id`;
    expect(texts).toEqual([
      { providerMessageId: 'msg_in_003', contentType: 'location', bodyText: 'Location: JNPT, Nhava Sheva (18.95, 72.95)' },
      { providerMessageId: 'msg_in_004', contentType: 'text', bodyText: 'Confirm booking' },
    ]);
  });

  it('moves a reply on from message_status events in both documented shapes and from the bare status', async () => {
    // Inside the 24-hour window: the customer wrote just now.
    await post(wa, incomingMessage('msg_in_010', '+919876500310', { type: 'text', text: { body: 'Rate for 20GP to Jebel Ali?' } }, new Date().toISOString()));
    const [t] = await db.sql<{ threadId: string }[]>`select thread_id from app.messages where provider_message_id = 'msg_in_010'`;
    const reply = await json('POST', `/api/threads/${t!.threadId}/messages`, { as: 'agent', body: { text: 'USD 450 all in' } });
    expect(reply.status).toBe(201);
    await drainJobs();
    const [{ providerMessageId: sid }] = await db.sql<any[]>`select provider_message_id from app.messages where id = ${reply.body.id}`;
    const status = async () => (await db.sql<any[]>`select status from app.messages where id = ${reply.body.id}`)[0]!.status;

    const sent = await post(wa, { sid, from: '+912250007777', to: '+919876500310', status: 'sent', exo_status_code: 30001, timestamp: '2026-11-26T05:01:00Z' });
    expect(sent.body.results).toEqual([{ kind: 'whatsapp.dlr', outcome: 'ignored', messageId: reply.body.id, threadId: t!.threadId }]);
    const delivered = {
      event: 'message_status',
      timestamp: '2026-11-26T05:02:00Z',
      message: { id: sid, status: 'delivered', timestamp: '2026-11-26T05:02:00Z' },
    };
    expect((await post(wa, delivered)).body.results[0].outcome).toBe('updated');
    expect(await status()).toBe('delivered');
    expect((await post(wa, delivered)).body.results[0].outcome).toBe('duplicate');
    const read = {
      type: 'message_status',
      timestamp: '2026-11-26T05:03:00.000Z',
      account_sid: 'seahawk1',
      data: {
        message_sid: sid,
        from: '+912250007777',
        to: '+919876500310',
        status: 'read',
        timestamp: '2026-11-26T05:03:00.000Z',
        conversation: { id: 'conv_xyz789', category: 'service' },
        pricing: { billable: true, category: 'service' },
      },
    };
    expect((await post(wa, read)).body.results[0].outcome).toBe('updated');
    expect(await status()).toBe('read');
    expect(await db.sql`select 1 from app.webhook_events where kind = 'whatsapp.dlr' and channel_id = ${wa.id}`).toHaveLength(3);

    const second = await json('POST', `/api/threads/${t!.threadId}/messages`, { as: 'agent', body: { text: 'Second quote' } });
    await drainJobs();
    const [{ providerMessageId: sid2 }] = await db.sql<any[]>`select provider_message_id from app.messages where id = ${second.body.id}`;
    await post(wa, { type: 'message_status', data: { message_sid: sid2, status: 'failed', error: { code: 131026, title: 'Message undeliverable' } } });
    const [failed] = await db.sql<any[]>`select status, error_message from app.messages where id = ${second.body.id}`;
    expect(failed).toEqual({ status: 'failed', errorMessage: 'Message undeliverable' });
  });

  it("answers Exotel's URL check with its challenge and stores nothing", async () => {
    const before = await stored(wa.id);
    const res = await post(wa, { type: 'verification', challenge: 'random_challenge_string' });
    expect(res).toEqual({ status: 200, body: { challenge: 'random_challenge_string' } });
    expect(await stored(wa.id)).toEqual(before);
  });

  it('refuses an event it cannot use with a 422 naming what is missing, storing nothing', async () => {
    const before = await stored(wa.id);
    const cases: [unknown, string][] = [
      [{ event: 'incoming_message', timestamp: '2026-11-26T05:00:00Z' }, 'incoming_message has no message object'],
      [{ event: 'template_status', template: { name: 'hello', status: 'APPROVED' } }, 'event template_status is neither incoming_message nor message_status'],
      [incomingMessage('msg_bad_1', 'nobody', { type: 'text', text: { body: 'x' } }), 'from is not a phone number'],
      [incomingMessage('msg_bad_2', '+919876500399', { type: 'image', image: { caption: 'no file' } }), 'content.image.url is missing'],
      [incomingMessage('msg_bad_3', '+919876500399', { type: 'text' }), 'content.text.body is missing'],
      [{ event: 'message_status', message: { status: 'delivered' } }, 'a delivery report needs sid or custom_data'],
    ];
    for (const [body, reason] of cases) {
      const res = await post(wa, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.message).toContain(reason);
    }
    expect(await stored(wa.id)).toEqual(before);
  });
});

describe('two-way SMS as JSON', () => {
  it('stores the JSON inbound SMS once, and the same SmsSid by GET is the same message', async () => {
    const body = {
      SmsSid: 'sms-json-0001',
      Direction: 'incoming',
      Sender: '09876500401',
      ReceivedOn: '08047112233',
      MessageBody: 'Pls share the DO for BL 7788',
      ReceivedTime: '2026-11-26 10:15:00',
    };
    const first = await post(sms, body);
    expect(first.status).toBe(200);
    expect(first.body.results[0]).toMatchObject({ kind: 'sms.incoming', outcome: 'stored' });
    expect((await post(sms, body)).body.results).toEqual([{ kind: 'sms.incoming', outcome: 'duplicate' }]);
    const byGet = await call(
      'GET',
      `/api/webhooks/exotel/${sms.id}?${new URLSearchParams({ token: sms.secret, SmsSid: 'sms-json-0001', From: '09876500401', To: '08047112233', Date: '2026-11-26 10:15:00', Body: 'Pls share the DO for BL 7788' })}`,
      { token: null },
    );
    expect(byGet.status).toBe(200);
    const rows = await db.sql<any[]>`select * from app.messages where provider_message_id = 'sms-json-0001'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ channel: 'sms', direction: 'inbound', fromAddress: '+919876500401', bodyText: 'Pls share the DO for BL 7788' });
    expect(rows[0].metadata).toMatchObject({ to: '08047112233' });
    expect(rows[0].occurredAt.toISOString()).toBe('2026-11-26T04:45:00.000Z');
    expect(await db.sql`select 1 from app.webhook_events where channel_id = ${sms.id} and payload->>'SmsSid' = 'sms-json-0001'`).toHaveLength(1);
  });

  it('refuses a JSON SMS without its sender, naming it', async () => {
    const before = await stored(sms.id);
    for (const [body, reason] of [
      [{ Direction: 'incoming', MessageBody: 'hello', ReceivedTime: '2026-11-26 10:15:00' }, 'Sender is missing'],
      [{ SmsSid: 'sms-json-bad', Direction: 'incoming', Sender: 'someone', MessageBody: 'hello' }, 'Sender is not a phone number'],
      [{ Direction: 'incoming' }, 'neither SmsSid, CallSid nor a WhatsApp message list was found'],
    ] as const) {
      const res = await post(sms, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.message).toContain(reason);
    }
    expect(await stored(sms.id)).toEqual(before);
  });
});
