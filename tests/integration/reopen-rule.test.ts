// The one rule for what a customer's new message does to its thread, once per channel (email,
// WhatsApp, SMS, an incoming call): it continues an open, pending, snoozed or recently resolved thread
// (reopening it), starts a new thread after a close or a resolve more than 30 days before it, and every
// channel announces the thread in the same shape, with nothing of one member in it. Machine-made mail
// (out-of-office) joins the counterpart's thread and makes no work; an archive import threads by
// subject around each message's own date.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../lib/context.js';
import { ingestEmail } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import type { ExotelChannel } from '../../lib/exotel/common.js';
import { applyCall, ingestExotelMessage } from '../../lib/exotel/inbound.js';
import { FAKE_EXOTEL } from '../helpers/fake-exotel.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { mail } from '../helpers/mail.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let org: TestOrg;
const channels: Partial<Record<'whatsapp' | 'sms' | 'voice', ExotelChannel>> = {};

const exotel = { ...FAKE_EXOTEL, subdomain: 'api.exotel.com' };

beforeAll(async () => {
  db = await testDatabase();
  org = await newOrganization(db.sql);
  const bodies = {
    whatsapp: { kind: 'whatsapp', name: 'WA', address: '+91 22 4000 1000', exotel },
    sms: {
      kind: 'sms',
      name: 'SMS',
      address: 'seahwk',
      exotel,
      dltEntityId: '1101234567890123456',
      smsTemplates: [{ id: '1107160000000012345', name: 'general', body: '{#var#}{#var#}{#var#}' }],
    },
    voice: { kind: 'voice', name: 'ExoPhone', address: '022 3333 5555', exotel },
  };
  for (const [kind, body] of Object.entries(bodies) as ['whatsapp' | 'sms' | 'voice', unknown][]) {
    const res = await org.json('POST', '/api/channels', { as: 'admin', body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const [row] = await db.sql<ExotelChannel[]>`select * from app.channels where id = ${res.body.id}`;
    channels[kind] = row!;
  }
});
afterAll(() => db.close());

const DAY = 86_400_000;
type Channel = 'email' | 'whatsapp' | 'sms' | 'voice';

/** A customer's new message on the channel, at the given time; the id of the thread it landed on. */
async function arrive(channel: Channel, from: string, at = new Date()): Promise<string> {
  const requestId = `test:${randomUUID()}`;
  if (channel === 'email') {
    const parsed = await parseEmail(Buffer.from(mail({ from, to: `ops@${org.domain}`, subject: 'Booking 2x40HC Nhava Sheva', date: at })));
    return asSystem(org.id, requestId, [], async (ctx) => (await ingestEmail(ctx, parsed, { channelId: null, address: `ops@${org.domain}` })).threadId);
  }
  const ch = channels[channel]!;
  return asSystem(org.id, requestId, [], async (ctx) => {
    const outcome =
      channel === 'voice'
        ? await applyCall(ctx, ch, {
            callSid: randomUUID(),
            customData: null,
            status: 'completed',
            durationSeconds: 30,
            recordingUrl: null,
            raw: {},
            caller: from,
            at,
          })
        : await ingestExotelMessage(ctx, ch, {
            from,
            name: null,
            occurredAt: at,
            contentType: 'text',
            text: 'Any update on the booking?',
            media: null,
            metadata: {},
            providerId: null,
            dedupeKey: randomUUID(),
          });
    return outcome.threadId!;
  });
}

const threadRow = async (id: string) => (await db.sql<any[]>`select * from app.threads where id = ${id}`)[0]!;
const setStatus = (id: string, status: string, resolvedAt: Date | null = null) =>
  db.sql`update app.threads set status = ${status}, resolved_at = ${resolvedAt}, snoozed_until = ${status === 'snoozed' ? new Date(Date.now() + DAY) : null},
    closed_at = ${status === 'closed' ? new Date() : null} where id = ${id}`;

/** What every channel's `thread.*` event carries (the thread view; no member's read state). */
const VIEW_KEYS = [
  'assigneeId',
  'channel',
  'channelId',
  'closedAt',
  'contactId',
  'counterpart',
  'createdAt',
  'createdBy',
  'customerId',
  'customerName',
  'firstInboundAt',
  'firstOutboundAt',
  'firstResponseDueAt',
  'id',
  'intent',
  'lastActivityAt',
  'lastInboundAt',
  'lastMessageAt',
  'lastOutboundAt',
  'mergedIntoThreadId',
  'messageCount',
  'nextResponseDueAt',
  'previousThreadId',
  'priority',
  'resolutionDueAt',
  'resolvedAt',
  'sentiment',
  'sentimentScore',
  'slaBreachedAt',
  'slaPausedSince',
  'slaPolicyId',
  'snippet',
  'snoozedUntil',
  'status',
  'subject',
  'tags',
  'teamId',
  'updatedAt',
  'urgency',
].sort();

describe.each<[Channel, () => string]>([
  ['email', () => `karan.${randomUUID().slice(0, 8)}@bharatexports.example`],
  ['whatsapp', () => `+9198${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`],
  ['sms', () => `+9197${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`],
  ['voice', () => `+9196${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`],
])('a customer message on %s', (channel, counterpart) => {
  it('continues and reopens pending, snoozed and recently resolved threads, and starts anew after a close or an old resolve', async () => {
    const from = counterpart();
    const since = await broadcastsSince(db.sql);
    const first = await arrive(channel, from);
    expect(await threadRow(first)).toMatchObject({ status: 'open', messageCount: 1 });

    for (const status of ['pending', 'snoozed', 'resolved'] as const) {
      await setStatus(first, status, status === 'resolved' ? new Date(Date.now() - 29 * DAY) : null);
      expect(await arrive(channel, from), status).toBe(first);
      expect(await threadRow(first), status).toMatchObject({ status: 'open', snoozedUntil: null, resolvedAt: null });
    }
    const reopens = await db.sql<any[]>`select data from app.audit_log where entity_id = ${first} and action = 'thread.reopened' order by created_at`;
    expect(reopens.map((r) => r.data.from)).toEqual(['pending', 'snoozed', 'resolved']);

    await setStatus(first, 'resolved', new Date(Date.now() - 31 * DAY));
    const second = await arrive(channel, from);
    expect(second).not.toBe(first);
    expect(await threadRow(second)).toMatchObject({ status: 'open', previousThreadId: first });

    await setStatus(second, 'closed');
    const third = await arrive(channel, from);
    expect(await threadRow(third)).toMatchObject({ status: 'open', previousThreadId: second });

    // Every thread event has the one view, on the organization's and the thread's topics.
    const events = (await since()).filter((b) => b.event.startsWith('thread.'));
    expect(events.map((b) => b.event)).toEqual(expect.arrayContaining(['thread.created', 'thread.updated']));
    for (const b of events) {
      expect(Object.keys(b.payload.data).sort(), `${b.event} on ${b.topic}`).toEqual(VIEW_KEYS);
      expect([`org:${org.id}`, `org:${org.id}:thread:${b.payload.data.id}`]).toContain(b.topic);
    }
    const messageEvents = (await since()).filter((b) => b.event === 'message.created');
    expect(messageEvents).toHaveLength(6);
    for (const b of messageEvents) expect(b.payload.data).not.toHaveProperty('bodyText');
  });
});

describe('machine-made mail and imported history', () => {
  const ingest = async (spec: Parameters<typeof mail>[0]) => {
    const parsed = await parseEmail(Buffer.from(mail({ to: `ops@${org.domain}`, ...spec })));
    return asSystem(org.id, `test:${randomUUID()}`, [], (ctx) => ingestEmail(ctx, parsed, { channelId: null, address: `ops@${org.domain}` }));
  };

  it("joins an out-of-office reply to the counterpart's latest thread without making work", async () => {
    const from = `j.becker.${randomUUID().slice(0, 8)}@hamburghome.example`;
    const first = await ingest({ from, subject: 'Invoice copy for HBL 4471' });
    await setStatus(first.threadId, 'resolved', new Date());
    const before = await threadRow(first.threadId);
    const ooo = await ingest({ from, subject: 'Out of office until Monday', headers: { 'Auto-Submitted': 'auto-replied' } });
    expect(ooo.threadId).toBe(first.threadId);
    const after = await threadRow(first.threadId);
    expect(after).toMatchObject({ status: 'resolved', messageCount: 2 });
    expect(after.lastActivityAt).toEqual(before.lastActivityAt);
    expect(after.lastMessageAt).toEqual(before.lastMessageAt);
    expect(after.lastInboundAt).toEqual(before.lastInboundAt);

    // Nothing of the counterpart to join: kept on a thread of its own that is no work (resolved).
    const lone = await ingest({
      from: `nobody.${randomUUID().slice(0, 8)}@hamburghome.example`,
      subject: 'Abwesenheitsnotiz',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    expect(lone.threadCreated).toBe(true);
    expect(await threadRow(lone.threadId)).toMatchObject({ status: 'resolved', lastInboundAt: null });
    // A person's later message on that thread is work again.
    const reply = await ingest({ from: `nobody.${randomUUID().slice(0, 8)}@hamburghome.example`, subject: 'Re: Abwesenheitsnotiz' });
    expect(reply.threadId).not.toBe(lone.threadId);
  });

  it('threads an archive by subject within 14 days of each message, not of today', async () => {
    const from = `karthik.${randomUUID().slice(0, 8)}@tatatextiles.example`;
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY);
    const first = await ingest({ from, subject: 'Rates Tuticorin to Colombo', date: at(300), messageId: null });
    const reply = await ingest({ from, subject: 'RE: Rates Tuticorin to Colombo', date: at(295), messageId: null });
    expect(reply.threadId).toBe(first.threadId);
    // Imported out of order: an earlier message still joins the thread it belongs to.
    const earlier = await ingest({ from, subject: 'Rates Tuticorin to Colombo', date: at(305), messageId: null });
    expect(earlier.threadId).toBe(first.threadId);
    // A month later the same subject is a new conversation.
    const later = await ingest({ from, subject: 'Rates Tuticorin to Colombo', date: at(260), messageId: null });
    expect(later.threadId).not.toBe(first.threadId);
    expect(await threadRow(first.threadId)).toMatchObject({ messageCount: 3 });
  });
});
