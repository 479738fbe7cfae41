// Exotel callbacks at the edges: a disabled channel takes nothing in (410 after authentication, so a
// stranger learns nothing, and nothing stored); a body carrying NUL characters, which PostgreSQL
// cannot store as text, is stored without them and kept exactly as bytes beside.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { call } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

async function channel(kind: 'whatsapp' | 'sms' | 'voice', status: 'active' | 'disabled') {
  const secret = `exw_${randomUUID().replace(/-/g, '')}`;
  const address = `+9122${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.channels (org_id, kind, name, address, status, settings, webhook_secret_hash)
    values (${SEED_ORG_ID}, ${kind}, 'Old number', ${address}, ${status}, '{"subdomain":"api.exotel.com","accountSid":"s"}',
            ${createHash('sha256').update(secret).digest('hex')})
    returning id`;
  return { id: row!.id, secret, address };
}

const stored = async (channelId: string) => {
  const [r] = await db.sql<{ events: number; messages: number }[]>`
    select (select count(*)::int from app.webhook_events where provider = 'exotel' and channel_id = ${channelId}) as events,
           (select count(*)::int from app.messages where channel_id = ${channelId}) as messages`;
  return r!;
};

describe('callbacks on a disabled Exotel channel', () => {
  it('answer 410 and store nothing: WhatsApp messages, incoming SMS and its HEAD check, calls', async () => {
    const wa = await channel('whatsapp', 'disabled');
    const icm = {
      whatsapp: {
        messages: [
          {
            callback_type: 'icm',
            sid: `wa-${randomUUID()}`,
            from: '919820098200',
            to: wa.address.slice(1),
            timestamp: new Date().toISOString(),
            content: { type: 'text', text: { body: 'Is the truck placed?' } },
          },
        ],
      },
    };
    const res = await call('POST', `/api/webhooks/exotel/${wa.id}?token=${wa.secret}`, { token: null, body: icm });
    expect(res.status).toBe(410);
    expect(((await res.json()) as any).error.code).toBe('gone');
    expect(await stored(wa.id)).toEqual({ events: 0, messages: 0 });

    const sms = await channel('sms', 'disabled');
    const query = `token=${sms.secret}&SmsSid=${randomUUID()}&From=09820098200&To=${sms.address}&Body=hello`;
    expect((await call('HEAD', `/api/webhooks/exotel/${sms.id}?${query}`, { token: null })).status).toBe(410);
    expect((await call('GET', `/api/webhooks/exotel/${sms.id}?${query}`, { token: null })).status).toBe(410);
    expect(await stored(sms.id)).toEqual({ events: 0, messages: 0 });

    const voice = await channel('voice', 'disabled');
    expect(
      (
        await call(
          'GET',
          `/api/webhooks/exotel/${voice.id}?token=${voice.secret}&CallSid=${randomUUID()}&CallFrom=09820098200&CallTo=${voice.address}&Direction=incoming`,
          { token: null },
        )
      ).status,
    ).toBe(410);
    expect(await stored(voice.id)).toEqual({ events: 0, messages: 0 });
  });

  it('still refuse a wrong token with 401, and an active channel takes the same callback', async () => {
    const disabled = await channel('sms', 'disabled');
    expect((await call('GET', `/api/webhooks/exotel/${disabled.id}?token=wrong&SmsSid=x&From=09820098200&Body=hi`, { token: null })).status).toBe(401);
    const active = await channel('sms', 'active');
    const res = await call(
      'GET',
      `/api/webhooks/exotel/${active.id}?token=${active.secret}&SmsSid=${randomUUID()}&From=09820098200&To=${active.address}&Body=hello`,
      { token: null },
    );
    expect(res.status).toBe(200);
    expect(await stored(active.id)).toEqual({ events: 1, messages: 1 });
  });
});

describe('callbacks carrying NUL characters', () => {
  it('store an incoming SMS without them, and keep the exact callback as bytes', async () => {
    const sms = await channel('sms', 'active');
    const sid = randomUUID();
    const res = await call(
      'GET',
      `/api/webhooks/exotel/${sms.id}?token=${sms.secret}&SmsSid=${sid}&From=09820098200&To=${sms.address}&Body=Truck%00 at gate%00`,
      { token: null },
    );
    expect(res.status).toBe(200);
    const [m] = await db.sql<{ bodyText: string }[]>`select body_text from app.messages where channel_id = ${sms.id}`;
    expect(m!.bodyText).toBe('Truck at gate');
    const [e] = await db.sql<{ payload: any; rawBytes: Buffer }[]>`select payload, raw_bytes from app.webhook_events where channel_id = ${sms.id}`;
    expect(e!.payload.Body).toBe('Truck at gate');
    expect(new URLSearchParams(e!.rawBytes.toString('utf8')).get('Body')).toBe('Truck\u0000 at gate\u0000');
    // Exotel retries: still one message.
    expect(
      (
        await call('GET', `/api/webhooks/exotel/${sms.id}?token=${sms.secret}&SmsSid=${sid}&From=09820098200&To=${sms.address}&Body=Truck%00 at gate%00`, {
          token: null,
        })
      ).status,
    ).toBe(200);
    expect(await stored(sms.id)).toEqual({ events: 1, messages: 1 });
  });

  it('store a WhatsApp message whose JSON escapes a NUL', async () => {
    const wa = await channel('whatsapp', 'active');
    const body = `{"whatsapp":{"messages":[{"callback_type":"icm","sid":"wa-${randomUUID()}","from":"919820098200","to":"${wa.address.slice(1)}","timestamp":"${new Date().toISOString()}","content":{"type":"text","text":{"body":"Seal no\\u0000 ABC123"}}}]}}`;
    const res = await call('POST', `/api/webhooks/exotel/${wa.id}?token=${wa.secret}`, {
      token: null,
      rawBody: body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    const [m] = await db.sql<{ bodyText: string }[]>`select body_text from app.messages where channel_id = ${wa.id}`;
    expect(m!.bodyText).toBe('Seal no ABC123');
    const [e] = await db.sql<{ rawBytes: Buffer }[]>`select raw_bytes from app.webhook_events where channel_id = ${wa.id}`;
    expect(e!.rawBytes.toString('utf8')).toBe(body);
  });
});
