// Correcting the threading through the API: merging two threads of one customer, splitting a thread
// from a message on, moving one message. Messages take their ids along (later replies follow them),
// with their attachments, shipment links and read state; notes and actions of a merged thread go to
// the one that stays; roll-ups are recomputed; both threads are audited and announced. A merged
// thread answers GET with where it went, and mail naming its token lands there.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../lib/context.js';
import { ingestEmail } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import type { ExotelChannel } from '../../lib/exotel/common.js';
import { ingestExotelMessage } from '../../lib/exotel/inbound.js';
import { FAKE_EXOTEL } from '../helpers/fake-exotel.js';
import { subjectTag, tokenAddress } from '../../lib/email/threading.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { mail, type MailSpec } from '../helpers/mail.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let org: TestOrg;
let other: TestOrg;
beforeAll(async () => {
  db = await testDatabase();
  [org, other] = await Promise.all([newOrganization(db.sql), newOrganization(db.sql)]);
});
afterAll(() => db.close());

const DAY = 86_400_000;
/** Whole seconds (mail dates have no milliseconds), `days` before now. */
const daysAgo = (days: number) => new Date(Math.floor((Date.now() - days * DAY) / 1000) * 1000);
const paths = (body: any) => body.error.details.issues.map((i: any) => i.path);

async function ingest(spec: Partial<MailSpec> & { subject: string }, into: TestOrg = org) {
  const parsed = await parseEmail(Buffer.from(mail({ from: 'someone@example.com', to: `ops@${into.domain}`, ...spec })));
  return asSystem(into.id, `test:${randomUUID()}`, [], (ctx) => ingestEmail(ctx, parsed, { channelId: null, address: `ops@${into.domain}` }));
}

/** A customer owning a fresh domain, and an address of a person there. */
async function customer(name: string) {
  const domain = `c-${randomUUID().slice(0, 8)}.example`;
  const res = await org.json('POST', '/api/customers', { body: { name, domains: [domain] } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id as string, address: (local: string) => `${local}@${domain}` };
}

/** A customer's conversation: messages `dates` apart, each replying to the one before; their ids. */
async function conversation(from: string, subject: string, dates: Date[], body = 'Please confirm') {
  const ids: { messageId: string; rfc: string; threadId: string }[] = [];
  for (const [i, date] of dates.entries()) {
    const rfc = `${randomUUID()}@mail.example`;
    const previous = ids[i - 1];
    const out = await ingest({ from, subject: i ? `Re: ${subject}` : subject, date, messageId: rfc, inReplyTo: previous?.rfc, body: `${body} ${i}` });
    if (previous) expect(out.threadId).toBe(previous.threadId);
    ids.push({ messageId: out.messageId, rfc, threadId: out.threadId });
  }
  return ids;
}

const threadRow = async (id: string) => (await db.sql<any[]>`select * from app.threads where id = ${id}`)[0]!;
const messageThread = async (id: string) => (await db.sql<{ threadId: string }[]>`select thread_id from app.messages where id = ${id}`)[0]!.threadId;
const occurred = async (id: string) => (await db.sql<{ occurredAt: Date }[]>`select occurred_at from app.messages where id = ${id}`)[0]!.occurredAt;
const auditOf = (action: string, ids: string[]) =>
  db.sql<
    { entityId: string; data: any }[]
  >`select entity_id, data from app.audit_log where action = ${action} and entity_id = any(${ids}::uuid[]) order by created_at`;

describe('merging two threads of one customer', () => {
  it('moves messages, notes, actions, attachments, shipment links, tags and read state; the merged thread points to the survivor', async () => {
    const acme = await customer('Acme Exports');
    const from = acme.address(`karan.${randomUUID().slice(0, 6)}`);
    const [a1, a2] = await conversation(from, 'Booking 2x40HC Nhava Sheva', [daysAgo(5), daysAgo(4)]);
    const [b1] = await conversation(from, 'Rates Chennai to Jebel Ali', [daysAgo(2)], 'Container CSQU3054383 please');
    const A = a1!.threadId;
    const B = b1!.threadId;
    expect(A).not.toBe(B);

    // Each thread has its own shipment link (B's automatic, from the container number), plus one both link.
    const [ship] = await db.sql<{ id: string }[]>`
      insert into app.shipments (org_id, reference, mode, container_numbers) values (${org.id}, 'SE-1001', 'sea_fcl', '{CSQU3054383}') returning id`;
    const [both] = await db.sql<{ id: string }[]>`insert into app.shipments (org_id, reference, mode) values (${org.id}, 'SE-1002', 'sea_fcl') returning id`;
    await db.sql`insert into app.message_shipments (org_id, message_id, shipment_id, matched_identifier) values (${org.id}, ${b1!.messageId}, ${ship!.id}, 'CSQU3054383')`;
    await db.sql`insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source) values
      (${org.id}, ${B}, ${ship!.id}, 'automatic'), (${org.id}, ${A}, ${both!.id}, 'automatic'), (${org.id}, ${B}, ${both!.id}, 'manual')`;
    const [attachment] = await db.sql<{ id: string }[]>`
      insert into app.attachments (org_id, message_id, thread_id, filename, storage_path)
      values (${org.id}, ${b1!.messageId}, ${B}, 'rate-sheet.pdf', ${`org/${org.id}/attachments/${randomUUID()}/rate-sheet.pdf`}) returning id`;

    expect((await org.json('PATCH', `/api/threads/${A}`, { body: { tags: ['reefer'], priority: 'high' } })).status).toBe(200);
    expect((await org.json('PATCH', `/api/threads/${B}`, { body: { tags: ['urgent', 'reefer'] } })).status).toBe(200);
    const note = await org.json('POST', `/api/threads/${B}/notes`, { body: { body: 'Customer wants 2 rates' } });
    const action = await org.json('POST', '/api/actions', { body: { title: 'Send the Jebel Ali rates', threadId: B } });
    expect([note.status, action.status]).toEqual([201, 201]);
    // The agent has read both threads; the manager only A (B's message is unread for them).
    for (const id of [A, B]) expect((await org.call('PUT', `/api/threads/${id}/read`)).status).toBe(200);
    await org.call('PUT', `/api/threads/${A}/read`, { as: 'manager' });

    const since = await broadcastsSince(db.sql);
    const res = await org.json('POST', `/api/threads/${B}/merge`, { body: { into: A } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      id: A,
      customerId: acme.id,
      messageCount: 3,
      lastMessageAt: (await occurred(b1!.messageId)).toISOString(),
      snippet: 'Container CSQU3054383 please 0',
      priority: 'high',
      tags: ['reefer', 'urgent'],
      mergedIntoThreadId: null,
      unread: false,
    });
    expect(res.body.shipments.map((s: any) => [s.reference, s.linkSource]).sort()).toEqual([
      ['SE-1001', 'automatic'],
      ['SE-1002', 'manual'],
    ]);

    // The merged thread answers with where it went, holds nothing, and is out of the inbox.
    const gone = await org.json('GET', `/api/threads/${B}`);
    expect(gone.status).toBe(200);
    expect(gone.body).toMatchObject({ id: B, status: 'closed', mergedIntoThreadId: A, messageCount: 0, shipments: [] });
    const list = await org.json('GET', '/api/threads?limit=100');
    expect(list.body.data.map((t: any) => t.id)).toContain(A);
    expect(list.body.data.map((t: any) => t.id)).not.toContain(B);
    const closed = await org.json('GET', '/api/threads?status=closed&limit=100');
    expect(closed.body.data.map((t: any) => t.id)).not.toContain(B);

    const messages = await org.json('GET', `/api/threads/${A}/messages`);
    expect(messages.body.data.map((m: any) => m.id)).toEqual([a1!.messageId, a2!.messageId, b1!.messageId]);
    expect((await org.json('GET', `/api/threads/${A}/notes`)).body.data.map((n: any) => n.id)).toEqual([note.body.id]);
    expect((await org.json('GET', `/api/actions/${action.body.id}`)).body.threadId).toBe(A);
    expect((await db.sql`select thread_id from app.attachments where id = ${attachment!.id}`)[0]!.threadId).toBe(A);
    expect(await db.sql`select 1 from app.thread_shipments where thread_id = ${B}`).toHaveLength(0);

    // Read state: read for whoever had read both, unread for the manager who had not read B.
    expect((await org.json('GET', `/api/threads/${A}`, { as: 'manager' })).body.unread).toBe(true);
    expect((await org.json('GET', `/api/threads/${A}`)).body.unread).toBe(false);

    // Audited and announced on both threads; the moved message on both threads' topics.
    const audits = await auditOf('thread.merged', [A, B]);
    expect(audits.map((a) => a.entityId).sort()).toEqual([A, B].sort());
    expect(audits[0]!.data).toMatchObject({ fromThreadId: B, intoThreadId: A, messageIds: [b1!.messageId] });
    const events = await since();
    const threadEvents = events.filter((e) => e.event === 'thread.updated' && e.topic === `org:${org.id}`);
    expect(threadEvents.map((e) => e.payload.data.id).sort()).toEqual([A, B].sort());
    expect(threadEvents.find((e) => e.payload.data.id === B)!.payload.data).toMatchObject({ mergedIntoThreadId: A, status: 'closed' });
    const moved = events.filter((e) => e.event === 'message.updated');
    expect(moved.map((e) => e.topic).sort()).toEqual([`org:${org.id}:thread:${A}`, `org:${org.id}:thread:${B}`].sort());
    expect(moved.every((e) => e.payload.data.id === b1!.messageId && e.payload.data.threadId === A)).toBe(true);
    const readStates = events.filter((e) => e.event === 'thread.read_state');
    expect(readStates.map((e) => [e.topic, e.payload.data.unread]).sort()).toEqual(
      [
        [`user:${org.users.agent.id}`, false],
        [`user:${org.users.manager.id}`, true],
      ].sort(),
    );

    // Later mail follows: a reply to B's message, B's subject tag, B's plus-address token all land on A.
    const reply = await ingest({ from, subject: 'Re: Rates Chennai to Jebel Ali', inReplyTo: b1!.rfc });
    const tagged = await ingest({
      from: `someone.else.${randomUUID().slice(0, 6)}@elsewhere.example`,
      subject: `Fwd: rates ${subjectTag(B)}`,
      messageId: null,
    });
    const plus = await ingest({
      from: `third.${randomUUID().slice(0, 6)}@elsewhere.example`,
      to: tokenAddress(`ops@${org.domain}`, B),
      subject: 'Another thing',
    });
    expect([reply.threadId, tagged.threadId, plus.threadId]).toEqual([A, A, A]);
    expect(await threadRow(A)).toMatchObject({ messageCount: 6 });

    // Nothing lands on or changes the merged thread any more.
    const noteOnB = await org.json('POST', `/api/threads/${B}/notes`, { body: { body: 'Too late' } });
    expect(noteOnB.status).toBe(409);
    expect(noteOnB.body.error.message).toContain(`merged into thread ${A}`);
    expect((await org.json('PATCH', `/api/threads/${B}`, { body: { status: 'open' } })).status).toBe(409);
    const again = await org.json('POST', `/api/threads/${B}/merge`, { body: { into: A } });
    expect(again.status).toBe(409);
    expect(again.body.error.details).toMatchObject({ threadId: B, mergedIntoThreadId: A });
  });

  it('reopens the survivor when the merged thread was open, and keeps chains one step long', async () => {
    const from = `maya.${randomUUID().slice(0, 6)}@freemail.example`;
    const [x] = await conversation(from, 'Invoice 4471', [daysAgo(9)]);
    const [y] = await conversation(from, 'Invoice 4471 copy', [daysAgo(8)]);
    const [z] = await conversation(from, 'Invoice 4471 again', [daysAgo(7)]);
    await org.json('PATCH', `/api/threads/${z!.threadId}`, { body: { status: 'resolved' } });
    expect((await org.json('POST', `/api/threads/${x!.threadId}/merge`, { body: { into: y!.threadId } })).status).toBe(200);
    const merged = await org.json('POST', `/api/threads/${y!.threadId}/merge`, { body: { into: z!.threadId } });
    expect(merged.body).toMatchObject({ id: z!.threadId, status: 'open', resolvedAt: null, messageCount: 3 });
    expect((await threadRow(x!.threadId)).mergedIntoThreadId).toBe(z!.threadId);
    const tagged = await ingest({ from: `n.${randomUUID().slice(0, 6)}@elsewhere.example`, subject: `Re: ${subjectTag(x!.threadId)}` });
    expect(tagged.threadId).toBe(z!.threadId);
  });

  it('refuses merging a thread into itself, across customers or channels, and into a merged thread', async () => {
    const [acme, zenith] = [await customer('Acme'), await customer('Zenith')];
    const [a] = await conversation(acme.address('ops'), 'Acme booking', [daysAgo(3)]);
    const [z] = await conversation(zenith.address('ops'), 'Zenith booking', [daysAgo(3)]);
    const self = await org.json('POST', `/api/threads/${a!.threadId}/merge`, { body: { into: a!.threadId } });
    expect(self.status).toBe(422);
    expect(paths(self.body)).toEqual(['body.into']);
    const customers = await org.json('POST', `/api/threads/${a!.threadId}/merge`, { body: { into: z!.threadId } });
    expect(customers.status).toBe(422);
    expect(paths(customers.body)).toEqual(['body.into']);
    expect(customers.body.error.message).toMatch(/another customer/);
    const whatsapp = await org.json('POST', '/api/threads', { body: { subject: 'WhatsApp chat', channel: 'whatsapp', customerId: acme.id } });
    const channels = await org.json('POST', `/api/threads/${a!.threadId}/merge`, { body: { into: whatsapp.body.id } });
    expect(channels.status).toBe(422);
    expect(paths(channels.body)).toEqual(['body.into']);
    expect(channels.body.error.message).toMatch(/whatsapp thread/);
    const bad = await org.json('POST', `/api/threads/${a!.threadId}/merge`, { body: { into: 'nope' } });
    expect(paths(bad.body)).toEqual(['body.into']);
    // Nothing changed.
    expect(await threadRow(a!.threadId)).toMatchObject({ messageCount: 1, mergedIntoThreadId: null, status: 'open' });
  });

  it('refuses a note written while a merge holds the thread, once the merge commits', async () => {
    const from = `vik.${randomUUID().slice(0, 6)}@freemail.example`;
    const [keep] = await conversation(from, 'Stays', [daysAgo(4)]);
    const [goes] = await conversation(from, 'Goes', [daysAgo(3)]);
    let release!: () => void;
    let locked!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    // A merge (which locks its threads as lockThreads does), left uncommitted while a member writes a note.
    const merging = db.sql.begin(async (tx) => {
      await tx`select id from app.threads where id = any(${[keep!.threadId, goes!.threadId]}::uuid[]) order by id for update`;
      await tx`update app.threads set status = 'closed', merged_into_thread_id = ${keep!.threadId} where id = ${goes!.threadId}`;
      locked();
      await held;
    });
    await lockTaken;
    const note = org.json('POST', `/api/threads/${goes!.threadId}/notes`, { body: { body: 'Written during the merge' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    await merging;
    expect((await note).status).toBe(409);
    expect(await db.sql`select 1 from app.notes where thread_id = ${goes!.threadId}`).toHaveLength(0);
  });

  it('settles two merges of the same threads in opposite directions: one merges, the other is told where it went', async () => {
    const from = `rita.${randomUUID().slice(0, 6)}@freemail.example`;
    const [p] = await conversation(from, 'Customs query', [daysAgo(4)]);
    const [q] = await conversation(from, 'Customs query 2', [daysAgo(3)]);
    const results = await Promise.all([
      org.json('POST', `/api/threads/${p!.threadId}/merge`, { body: { into: q!.threadId } }),
      org.json('POST', `/api/threads/${q!.threadId}/merge`, { body: { into: p!.threadId } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const survivor = results.find((r) => r.status === 200)!.body.id;
    expect((await threadRow(survivor)).messageCount).toBe(2);
  });
});

describe('merging WhatsApp threads', () => {
  it("sends the customer's next WhatsApp message to the thread the number's thread was merged into", async () => {
    const created = await org.json('POST', '/api/channels', {
      as: 'admin',
      body: {
        kind: 'whatsapp',
        name: 'WA',
        address: `+91 22 4${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')} 0`,
        exotel: { ...FAKE_EXOTEL, subdomain: 'api.exotel.com' },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const [channel] = await db.sql<ExotelChannel[]>`select * from app.channels where id = ${created.body.id}`;
    const number = `+9198${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const message = (text: string) =>
      asSystem(org.id, `test:${randomUUID()}`, [], (ctx) =>
        ingestExotelMessage(ctx, channel!, {
          from: number,
          name: null,
          occurredAt: new Date(),
          contentType: 'text',
          text,
          media: null,
          metadata: {},
          providerId: null,
          dedupeKey: randomUUID(),
        }),
      );
    const first = await message('Is the container released?');
    // The thread that stays is with another number of the customer: only the pointer leads there.
    const survivor = await org.json('POST', '/api/threads', {
      body: { subject: 'Release of MSKU container', channel: 'whatsapp', counterpart: '+919800000001' },
    });
    const merged = await org.json('POST', `/api/threads/${first.threadId}/merge`, { body: { into: survivor.body.id } });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    const next = await message('Any news?');
    expect(next.threadId).toBe(survivor.body.id);
    expect(await threadRow(survivor.body.id)).toMatchObject({ messageCount: 2, status: 'open' });
  });
});

describe('splitting a thread', () => {
  it('moves the message and every later one to a new thread, and replies to them follow', async () => {
    const from = `arjun.${randomUUID().slice(0, 6)}@tatatextiles.example`;
    const [m1, m2] = await conversation(from, 'Booking Mundra to Hamburg', [daysAgo(6), daysAgo(5)]);
    const T = m1!.threadId;
    // Our answer, then a new request on the same thread, and an out-of-office after it.
    const ours = await ingest({ from: `ops@${org.domain}`, to: from, subject: 'Re: Booking Mundra to Hamburg', date: daysAgo(4.5), inReplyTo: m2!.rfc });
    const newRequestRfc = `${randomUUID()}@mail.example`;
    const m3 = await ingest({
      from,
      subject: 'Re: Booking Mundra to Hamburg',
      date: daysAgo(3),
      messageId: newRequestRfc,
      inReplyTo: m2!.rfc,
      body: 'New: air freight 2 pallets, AWB 176-12345675',
    });
    const ooo = await ingest({ from, subject: 'Out of office', date: daysAgo(2), inReplyTo: newRequestRfc, headers: { 'Auto-Submitted': 'auto-replied' } });
    expect([ours.threadId, m3.threadId, ooo.threadId]).toEqual([T, T, T]);
    expect(ours.direction).toBe('outbound');
    await org.json('POST', `/api/threads/${T}/notes`, { body: { body: 'Sea booking confirmed' } });
    await db.sql`
      insert into app.attachments (org_id, message_id, thread_id, filename, storage_path)
      values (${org.id}, ${m3.messageId}, ${T}, 'packing-list.pdf', ${`org/${org.id}/attachments/${randomUUID()}/packing-list.pdf`})`;
    const [air] = await db.sql<{ id: string }[]>`insert into app.shipments (org_id, reference, mode) values (${org.id}, 'AE-77', 'air') returning id`;
    await db.sql`insert into app.message_shipments (org_id, message_id, shipment_id, matched_identifier) values (${org.id}, ${m3.messageId}, ${air!.id}, '176-12345675')`;
    await db.sql`insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source) values (${org.id}, ${T}, ${air!.id}, 'automatic')`;
    await org.call('PUT', `/api/threads/${T}/read`);

    const since = await broadcastsSince(db.sql);
    const res = await org.json('POST', `/api/threads/${T}/split`, { body: { fromMessageId: m3.messageId } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const S = res.body.id as string;
    expect(res.body).toMatchObject({
      status: 'open',
      previousThreadId: T,
      subject: 'Re: Booking Mundra to Hamburg',
      messageCount: 2,
      // The out-of-office is a message but never activity.
      lastMessageAt: (await occurred(m3.messageId)).toISOString(),
      lastInboundAt: (await occurred(m3.messageId)).toISOString(),
      firstOutboundAt: null,
      snippet: expect.stringContaining('air freight'),
      unread: false,
    });
    expect(res.body.shipments.map((s: any) => s.reference)).toEqual(['AE-77']);
    // The thread keeps what came before, recomputed.
    const kept = await threadRow(T);
    expect(kept).toMatchObject({
      messageCount: 3,
      lastMessageAt: await occurred(ours.messageId),
      lastOutboundAt: await occurred(ours.messageId),
      lastInboundAt: await occurred(m2!.messageId),
      firstInboundAt: await occurred(m1!.messageId),
    });
    expect(await db.sql`select 1 from app.thread_shipments where thread_id = ${T}`).toHaveLength(0);
    expect((await db.sql`select thread_id from app.attachments where message_id = ${m3.messageId}`)[0]!.threadId).toBe(S);
    expect((await org.json('GET', `/api/threads/${T}/notes`)).body.data).toHaveLength(1);
    expect((await org.json('GET', `/api/threads/${S}/notes`)).body.data).toHaveLength(0);
    expect((await org.json('GET', `/api/threads/${S}/messages`)).body.data.map((m: any) => m.id)).toEqual([m3.messageId, ooo.messageId]);

    const events = await since();
    expect(
      events
        .filter((e) => e.topic === `org:${org.id}` && e.event.startsWith('thread.'))
        .map((e) => [e.event, e.payload.data.id])
        .sort(),
    ).toEqual(
      [
        ['thread.created', S],
        ['thread.updated', T],
      ].sort(),
    );
    expect(events.filter((e) => e.event === 'message.updated')).toHaveLength(4);
    expect((await auditOf('thread.split', [T, S])).map((a) => a.entityId).sort()).toEqual([S, T].sort());

    // A reply naming the new request's Message-ID lands on the new thread; one to the old mail stays.
    const followUp = await ingest({ from, subject: 'Re: Booking Mundra to Hamburg', inReplyTo: newRequestRfc });
    expect(followUp.threadId).toBe(S);
    const old = await ingest({ from, subject: 'Re: Booking Mundra to Hamburg', inReplyTo: m1!.rfc });
    expect(old.threadId).toBe(T);
  });

  it('splits messages of the same second in the order they arrived', async () => {
    const from = `lena.${randomUUID().slice(0, 6)}@freemail.example`;
    const second = daysAgo(3);
    const [first, sameSecond] = await conversation(from, 'Two at once', [second, second]);
    const res = await org.json('POST', `/api/threads/${first!.threadId}/split`, {
      body: { fromMessageId: sameSecond!.messageId, subject: 'The second question' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ subject: 'The second question', messageCount: 1 });
    expect(await messageThread(first!.messageId)).toBe(first!.threadId);
    expect(await messageThread(sameSecond!.messageId)).toBe(res.body.id);
  });

  it('refuses a split at the first message or at a message of another thread', async () => {
    const from = `omar.${randomUUID().slice(0, 6)}@freemail.example`;
    const [one, two] = await conversation(from, 'Split me not', [daysAgo(4), daysAgo(3)]);
    const [elsewhere] = await conversation(from, 'Elsewhere', [daysAgo(2)]);
    const first = await org.json('POST', `/api/threads/${one!.threadId}/split`, { body: { fromMessageId: one!.messageId } });
    expect(first.status).toBe(422);
    expect(paths(first.body)).toEqual(['body.fromMessageId']);
    expect(first.body.error.message).toMatch(/first message/);
    const foreign = await org.json('POST', `/api/threads/${one!.threadId}/split`, { body: { fromMessageId: elsewhere!.messageId } });
    expect(foreign.status).toBe(422);
    expect(paths(foreign.body)).toEqual(['body.fromMessageId']);
    expect(await messageThread(two!.messageId)).toBe(one!.threadId);
  });
});

describe('moving a message', () => {
  it('moves it to another thread (of any customer), recomputes both, and replies to it follow', async () => {
    const [acme, zenith] = [await customer('Acme'), await customer('Zenith')];
    const [a1, a2] = await conversation(acme.address('ops'), 'Acme rates', [daysAgo(6), daysAgo(2)]);
    const [z1] = await conversation(zenith.address('ops'), 'Zenith rates', [daysAgo(4)]);
    // An action about the moved message (as a missed call opens one) goes with it; the others stay.
    const about = await org.json('POST', '/api/actions', {
      body: { title: 'Call back', type: 'call_back', description: `call:${a2!.messageId}`, threadId: a1!.threadId },
    });
    const general = await org.json('POST', '/api/actions', { body: { title: 'Quote the Acme rates', threadId: a1!.threadId } });
    const since = await broadcastsSince(db.sql);
    const res = await org.json('POST', `/api/messages/${a2!.messageId}/move`, { body: { threadId: z1!.threadId } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: a2!.messageId, threadId: z1!.threadId });
    expect(await threadRow(a1!.threadId)).toMatchObject({ messageCount: 1, lastMessageAt: await occurred(a1!.messageId), snippet: 'Please confirm 0' });
    expect(await threadRow(z1!.threadId)).toMatchObject({ messageCount: 2, lastMessageAt: await occurred(a2!.messageId), snippet: 'Please confirm 1' });

    expect((await org.json('GET', `/api/actions/${about.body.id}`)).body.threadId).toBe(z1!.threadId);
    expect((await org.json('GET', `/api/actions/${general.body.id}`)).body.threadId).toBe(a1!.threadId);

    const events = await since();
    expect(
      events
        .filter((e) => e.event === 'message.updated')
        .map((e) => e.topic)
        .sort(),
    ).toEqual([`org:${org.id}:thread:${a1!.threadId}`, `org:${org.id}:thread:${z1!.threadId}`].sort());
    const audits = await db.sql<
      any[]
    >`select entity_type, entity_id from app.audit_log where action = 'message.moved' and data ->> 'messageId' = ${a2!.messageId}`;
    expect(audits.map((a) => a.entityType).sort()).toEqual(['message', 'thread', 'thread']);

    const reply = await ingest({ from: acme.address('ops'), subject: 'Re: Acme rates', inReplyTo: a2!.rfc });
    expect(reply.threadId).toBe(z1!.threadId);
  });

  it('refuses moving the only message of a thread, to its own thread, across channels or into a merged thread', async () => {
    const from = `priya.${randomUUID().slice(0, 6)}@freemail.example`;
    const [only] = await conversation(from, 'Lonely message', [daysAgo(3)]);
    const [t1, t2] = await conversation(from, 'Pair', [daysAgo(3), daysAgo(2)]);
    const [gone] = await conversation(from, 'Merged away', [daysAgo(2)]);
    await org.json('POST', `/api/threads/${gone!.threadId}/merge`, { body: { into: t1!.threadId } });

    const last = await org.json('POST', `/api/messages/${only!.messageId}/move`, { body: { threadId: t1!.threadId } });
    expect(last.status).toBe(422);
    expect(paths(last.body)).toEqual(['path.id']);
    expect(last.body.error.message).toMatch(/only message.*merge/);
    const same = await org.json('POST', `/api/messages/${t2!.messageId}/move`, { body: { threadId: t1!.threadId } });
    expect(same.status).toBe(422);
    expect(paths(same.body)).toEqual(['body.threadId']);
    const whatsapp = await org.json('POST', '/api/threads', { body: { subject: 'WhatsApp', channel: 'whatsapp' } });
    const channel = await org.json('POST', `/api/messages/${t2!.messageId}/move`, { body: { threadId: whatsapp.body.id } });
    expect(channel.status).toBe(422);
    expect(paths(channel.body)).toEqual(['body.threadId']);
    const merged = await org.json('POST', `/api/messages/${t2!.messageId}/move`, { body: { threadId: gone!.threadId } });
    expect(merged.status).toBe(409);
    expect(merged.body.error.details.mergedIntoThreadId).toBe(t1!.threadId);
    expect(await messageThread(t2!.messageId)).toBe(t1!.threadId);
  });
});

describe('who may regroup', () => {
  it("answers 404 for another organization's threads and messages, and 403 to a viewer", async () => {
    const from = `sec.${randomUUID().slice(0, 6)}@freemail.example`;
    const [m1, m2] = await conversation(from, 'Ours', [daysAgo(3), daysAgo(2)]);
    const [theirs1, theirs2] = await conversation(from, 'Theirs', [daysAgo(3), daysAgo(2)]);
    const foreign = await (async () => {
      const parsed = await parseEmail(Buffer.from(mail({ from, to: `ops@${other.domain}`, subject: 'Another org' })));
      return asSystem(other.id, `test:${randomUUID()}`, [], (ctx) => ingestEmail(ctx, parsed, { channelId: null, address: `ops@${other.domain}` }));
    })();

    const notFound = [
      await org.json('POST', `/api/threads/${foreign.threadId}/merge`, { body: { into: m1!.threadId } }),
      await org.json('POST', `/api/threads/${m1!.threadId}/merge`, { body: { into: foreign.threadId } }),
      await org.json('POST', `/api/threads/${foreign.threadId}/split`, { body: { fromMessageId: foreign.messageId } }),
      await org.json('POST', `/api/messages/${foreign.messageId}/move`, { body: { threadId: m1!.threadId } }),
      await org.json('POST', `/api/messages/${m2!.messageId}/move`, { body: { threadId: foreign.threadId } }),
    ];
    expect(notFound.map((r) => r.status)).toEqual([404, 404, 404, 404, 404]);
    expect(paths(notFound[1]!.body)).toEqual(['body.into']);
    expect(paths(notFound[4]!.body)).toEqual(['body.threadId']);
    // A message of another organization is no message of this thread.
    const split = await org.json('POST', `/api/threads/${m1!.threadId}/split`, { body: { fromMessageId: foreign.messageId } });
    expect(split.status).toBe(422);

    const viewer = [
      await org.json('POST', `/api/threads/${theirs1!.threadId}/merge`, { as: 'viewer', body: { into: m1!.threadId } }),
      await org.json('POST', `/api/threads/${theirs1!.threadId}/split`, { as: 'viewer', body: { fromMessageId: theirs2!.messageId } }),
      await org.json('POST', `/api/messages/${theirs2!.messageId}/move`, { as: 'viewer', body: { threadId: m1!.threadId } }),
    ];
    expect(viewer.map((r) => r.status)).toEqual([403, 403, 403]);
    expect(await threadRow(foreign.threadId)).toMatchObject({ messageCount: 1, mergedIntoThreadId: null });
    expect(await messageThread(theirs2!.messageId)).toBe(theirs1!.threadId);
    expect(await messageThread(m2!.messageId)).toBe(m1!.threadId);
  });
});
