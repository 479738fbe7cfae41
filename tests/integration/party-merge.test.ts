// Merging duplicate contacts and customers through the API: what pointed at a merged record (threads,
// contacts, shipments, domains, identities) moves to the one that stays; the merged record answers GET
// with a pointer, leaves the lists, is reported deleted by a sync, and is audited and announced; later
// mail and WhatsApp messages from its address or number land on the survivor; concurrent merges neither
// lose nor duplicate a row.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../lib/context.js';
import { ingestEmail } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import type { ExotelChannel } from '../../lib/exotel/common.js';
import { ingestExotelMessage } from '../../lib/exotel/inbound.js';
import { FAKE_EXOTEL } from '../helpers/fake-exotel.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { mail, type MailSpec } from '../helpers/mail.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let org: TestOrg;
let other: TestOrg;
let whatsapp: ExotelChannel;
beforeAll(async () => {
  db = await testDatabase();
  [org, other] = await Promise.all([newOrganization(db.sql), newOrganization(db.sql)]);
  const created = await org.json('POST', '/api/channels', {
    as: 'admin',
    body: { kind: 'whatsapp', name: 'WA', address: `+91 22 4${randomDigits(6)} 0`, exotel: { ...FAKE_EXOTEL, subdomain: 'api.exotel.com' } },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  whatsapp = (await db.sql<ExotelChannel[]>`select * from app.channels where id = ${created.body.id}`)[0]!;
});
afterAll(() => db.close());

function randomDigits(n: number): string {
  return String(Math.floor(Math.random() * 10 ** n)).padStart(n, '0');
}
const mobile = () => `+9198${randomDigits(8)}`;
const tag = () => randomUUID().slice(0, 8);
const paths = (body: any) => body.error.details.issues.map((i: any) => i.path);
const minuteAgo = () => new Date(Date.now() - 60_000).toISOString();

async function ingest(spec: Partial<MailSpec> & { from: string; subject: string }) {
  const parsed = await parseEmail(Buffer.from(mail({ to: `ops@${org.domain}`, ...spec })));
  return asSystem(org.id, `test:${randomUUID()}`, [], (ctx) => ingestEmail(ctx, parsed, { channelId: null, address: `ops@${org.domain}` }));
}

async function exotelFrom(number: string, text: string, channel: () => ExotelChannel = () => whatsapp): Promise<{ threadId: string; messageId: string }> {
  const out = await asSystem(org.id, `test:${randomUUID()}`, [], (ctx) =>
    ingestExotelMessage(ctx, channel(), {
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
  expect(out.outcome).toBe('stored');
  return { threadId: out.threadId!, messageId: out.messageId! };
}

async function createCustomer(name: string, extra: Record<string, unknown> = {}, on: TestOrg = org) {
  const res = await on.json('POST', '/api/customers', { body: { name, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}
async function createContact(body: Record<string, unknown>, on: TestOrg = org) {
  const res = await on.json('POST', '/api/contacts', { body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}
const threadOf = async (id: string) => (await db.sql<any[]>`select * from app.threads where id = ${id}`)[0]!;
const contactOf = async (id: string) => (await db.sql<any[]>`select * from app.contacts where id = ${id}`)[0]!;
const audits = (action: string, ids: string[]) =>
  db.sql<{ entityType: string; entityId: string; data: any }[]>`
    select entity_type, entity_id, data from app.audit_log where action = ${action} and entity_id = any(${ids}::uuid[]) order by entity_id`;

/** Pages a sync of `path` from `updatedSince` to its end; the rows changed and the ids deleted. */
async function syncAll(path: string, updatedSince: string) {
  const data: any[] = [];
  const deleted: string[] = [];
  let cursor: string | null = null;
  for (;;) {
    const qs: URLSearchParams = new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : { updatedSince }) });
    const res: { status: number; body: any } = await org.json('GET', `${path}?${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    data.push(...res.body.data);
    deleted.push(...res.body.deleted.map((d: any) => d.id));
    if (!res.body.nextCursor) return { data, deleted, syncCursor: res.body.syncCursor as string };
    cursor = res.body.nextCursor;
  }
}

describe('merging contacts', () => {
  it('moves threads and identities to the contact that stays; the merged ones answer with a pointer, leave the list and sync as deleted', async () => {
    const acme = await createCustomer(`Acme ${tag()}`);
    const survivor = await createContact({ name: 'Karan Mehta', email: `karan.${tag()}@acme.example`, customerId: acme, designation: 'Exports' });
    // The same person wrote from a free-mail address and on WhatsApp: two more contacts, each with a thread.
    const freemail = `karan.${tag()}@freemail.example`;
    const byMail = await ingest({ from: `Karan <${freemail}>`, subject: 'Rates to Jebel Ali' });
    const number = mobile();
    const byWhatsapp = await exotelFrom(number, 'Is the container released?');
    const mailContact = (await threadOf(byMail.threadId)).contactId as string;
    const waContact = (await threadOf(byWhatsapp.threadId)).contactId as string;
    expect(new Set([survivor, mailContact, waContact]).size).toBe(3);
    expect((await threadOf(byMail.threadId)).customerId).toBeNull();

    const updatedSince = minuteAgo();
    const since = await broadcastsSince(db.sql);
    const res = await org.json('POST', `/api/contacts/${survivor}/merge`, { as: 'manager', body: { mergeIds: [mailContact, waContact] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // It keeps its own email, takes the number it lacked (phone and WhatsApp), and stays with its customer.
    expect(res.body).toMatchObject({
      id: survivor,
      name: 'Karan Mehta',
      customerId: acme,
      email: expect.stringMatching(/@acme\.example$/),
      phone: number,
      whatsapp: number,
      designation: 'Exports',
      mergedIntoContactId: null,
    });

    // Every thread of the merged contacts is the survivor's now, and takes its customer.
    for (const threadId of [byMail.threadId, byWhatsapp.threadId]) {
      const thread = await org.json('GET', `/api/threads/${threadId}`);
      expect(thread.body).toMatchObject({ contactId: survivor, customerId: acme });
    }
    const messages = await org.json('GET', `/api/threads/${byMail.threadId}/messages`);
    expect(messages.body.data.map((m: any) => m.id)).toEqual([byMail.messageId]);
    const customerThreads = await org.json('GET', `/api/threads?customer=${acme}&limit=100`);
    expect(customerThreads.body.data.map((t: any) => t.id).sort()).toEqual([byMail.threadId, byWhatsapp.threadId].sort());

    // The merged contacts answer with where they went (an old link still leads somewhere), and are not edited.
    for (const id of [mailContact, waContact]) {
      const gone = await org.json('GET', `/api/contacts/${id}`);
      expect(gone.status).toBe(200);
      expect(gone.body).toMatchObject({ id, mergedIntoContactId: survivor });
      const edit = await org.json('PATCH', `/api/contacts/${id}`, { body: { designation: 'Ops' } });
      expect(edit.status).toBe(409);
      expect(edit.body.error.details).toMatchObject({ contactId: id, mergedIntoContactId: survivor });
      expect((await org.json('DELETE', `/api/contacts/${id}`, { as: 'manager' })).status).toBe(409);
    }
    expect((await org.json('GET', `/api/contacts/${mailContact}`)).body.email).toBe(freemail);
    const listed = await org.json('GET', `/api/contacts?q=${encodeURIComponent('karan')}&limit=100`);
    expect(listed.body.data.map((c: any) => c.id)).toContain(survivor);
    expect(listed.body.data.map((c: any) => c.id)).not.toContain(mailContact);
    const customer = await org.json('GET', `/api/customers/${acme}`);
    expect(customer.body.contacts.map((c: any) => c.id)).toEqual([survivor]);

    // A sync of the contacts reports the merged ones deleted and the survivor changed; the threads sync the moved threads.
    const contactSync = await syncAll('/api/contacts', updatedSince);
    expect(contactSync.deleted).toEqual(expect.arrayContaining([mailContact, waContact]));
    expect(contactSync.data.find((c) => c.id === survivor)).toMatchObject({ whatsapp: number });
    expect(contactSync.data.map((c) => c.id)).not.toContain(mailContact);
    const threadSync = await syncAll('/api/threads', updatedSince);
    expect(threadSync.data.filter((t) => [byMail.threadId, byWhatsapp.threadId].includes(t.id))).toHaveLength(2);

    // Audited on every contact and moved thread; announced as contact.merged, contact.updated and thread.updated.
    const rows = await audits('contact.merged', [survivor, mailContact, waContact, byMail.threadId, byWhatsapp.threadId]);
    expect(rows.map((r) => r.entityId).sort()).toEqual([survivor, mailContact, waContact, byMail.threadId, byWhatsapp.threadId].sort());
    expect(rows.find((r) => r.entityId === survivor)!.data).toMatchObject({
      intoContactId: survivor,
      mergedIds: [mailContact, waContact],
      took: { phone: waContact, whatsapp: waContact },
    });
    const events = await since();
    expect(events.filter((e) => e.event === 'contact.merged').map((e) => [e.payload.data.id, e.payload.data.mergedIntoContactId])).toEqual(
      expect.arrayContaining([
        [mailContact, survivor],
        [waContact, survivor],
      ]),
    );
    expect(events.find((e) => e.event === 'contact.updated')!.payload.data).toMatchObject({ id: survivor, whatsapp: number });
    const threadEvents = events.filter((e) => e.event === 'thread.updated' && e.topic === `org:${org.id}`);
    expect(threadEvents.map((e) => e.payload.data.id).sort()).toEqual([byMail.threadId, byWhatsapp.threadId].sort());
    expect(threadEvents.every((e) => e.payload.data.contactId === survivor && e.payload.data.customerName)).toBe(true);

    // Later messages from the merged contacts' address and number land on the survivor, making no new contact.
    const nextMail = await ingest({ from: `Karan <${freemail}>`, subject: 'A new enquiry: Mundra to Hamburg' });
    expect(nextMail.threadId).not.toBe(byMail.threadId);
    expect(await threadOf(nextMail.threadId)).toMatchObject({ contactId: survivor, customerId: acme });
    const reply = await ingest({ from: `Karan <${freemail}>`, subject: 'Re: Rates to Jebel Ali' });
    expect(reply.threadId).toBe(byMail.threadId);
    const nextWhatsapp = await exotelFrom(number, 'Any news?');
    expect(nextWhatsapp.threadId).toBe(byWhatsapp.threadId);
    expect(await db.sql`select id from app.contacts where org_id = ${org.id} and deleted_at is null and (email = ${freemail} or phone = ${number})`).toEqual([
      { id: survivor },
    ]);
  });

  it('keeps the numbers the survivor could not take on the merged contact, whose WhatsApp and SMS still reach the survivor', async () => {
    const own = mobile();
    const second = mobile();
    const survivor = await createContact({ name: 'Priya', phone: own, whatsapp: own });
    const first = await exotelFrom(second, 'Booking for 2x20GP');
    const duplicate = (await threadOf(first.threadId)).contactId as string;
    const res = await org.json('POST', `/api/contacts/${survivor}/merge`, { as: 'admin', body: { mergeIds: [duplicate] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ phone: own, whatsapp: own });
    expect(await contactOf(duplicate)).toMatchObject({ phone: second, whatsapp: second, mergedIntoContactId: survivor });

    const later = await exotelFrom(second, 'Please share the B/L draft');
    expect(later.threadId).toBe(first.threadId);
    expect((await threadOf(later.threadId)).contactId).toBe(survivor);
    // Once that thread is closed, a new one from the number is the survivor's too, and no contact is made for it.
    await db.sql`update app.threads set status = 'closed', closed_at = now() where id = ${first.threadId}`;
    const fresh = await exotelFrom(second, 'New booking');
    expect(fresh.threadId).not.toBe(first.threadId);
    expect((await threadOf(fresh.threadId)).contactId).toBe(survivor);
    // An SMS from the number reaches the survivor too (a thread of its own: each channel threads its own way).
    const [sms] = await db.sql<ExotelChannel[]>`
      insert into app.channels (org_id, kind, name, address, settings)
      values (${org.id}, 'sms', 'SMS', ${`SEAHWK${randomDigits(3)}`}, '{"subdomain":"api.exotel.com","accountSid":"s"}') returning *`;
    const text = await exotelFrom(second, 'Container gated in?', () => sms!);
    expect(await threadOf(text.threadId)).toMatchObject({ channel: 'sms', contactId: survivor });
    expect(await db.sql`select 1 from app.contacts where org_id = ${org.id} and deleted_at is null and phone = ${second}`).toHaveLength(0);
  });

  it('keeps chains one step long: a contact merged into one that is merged later points to the last survivor', async () => {
    const a = await createContact({ name: 'A', email: `a.${tag()}@chain.example` });
    const b = await createContact({ name: 'B' });
    const c = await createContact({ name: 'C' });
    expect((await org.json('POST', `/api/contacts/${b}/merge`, { as: 'manager', body: { mergeIds: [a] } })).status).toBe(200);
    expect((await contactOf(b)).email).toMatch(/@chain\.example$/);
    expect((await org.json('POST', `/api/contacts/${c}/merge`, { as: 'manager', body: { mergeIds: [b] } })).status).toBe(200);
    expect((await org.json('GET', `/api/contacts/${a}`)).body.mergedIntoContactId).toBe(c);
    expect((await org.json('GET', `/api/contacts/${c}`)).body.email).toMatch(/@chain\.example$/);
  });

  it('refuses itself, repeats, other organizations, merged records, two customers, and roles below manager', async () => {
    const acme = await createCustomer(`Acme ${tag()}`);
    const globex = await createCustomer(`Globex ${tag()}`);
    const a = await createContact({ name: 'At Acme', customerId: acme });
    const b = await createContact({ name: 'At Globex', customerId: globex });
    const loose = await createContact({ name: 'Unfiled' });
    const foreign = await createContact({ name: 'Elsewhere' }, other);
    const merge = (id: string, body: unknown, as: 'manager' | 'agent' | 'viewer' = 'manager') => org.json('POST', `/api/contacts/${id}/merge`, { as, body });

    const self = await merge(a, { mergeIds: [loose, a] });
    expect(self.status).toBe(422);
    expect(paths(self.body)).toEqual(['body.mergeIds.1']);
    const twice = await merge(a, { mergeIds: [loose, loose] });
    expect([twice.status, paths(twice.body)]).toEqual([422, ['body.mergeIds.1']]);
    const malformed: [unknown, string][] = [
      [{}, 'body.mergeIds'],
      [{ mergeIds: [] }, 'body.mergeIds'],
      [{ mergeIds: ['nope'] }, 'body.mergeIds.0'],
      [{ mergeIds: Array.from({ length: 21 }, () => randomUUID()) }, 'body.mergeIds'],
    ];
    for (const [body, path] of malformed) {
      const bad = await merge(a, body);
      expect([bad.status, paths(bad.body)], JSON.stringify(body)).toEqual([422, [path]]);
    }
    const crossCustomer = await merge(a, { mergeIds: [b] });
    expect(crossCustomer.status).toBe(422);
    expect(paths(crossCustomer.body)).toEqual(['body.mergeIds.0']);
    const foreignBody = await merge(a, { mergeIds: [foreign] });
    expect(foreignBody.status).toBe(404);
    expect(paths(foreignBody.body)).toEqual(['body.mergeIds.0']);
    expect((await merge(foreign, { mergeIds: [a] })).status).toBe(404);
    expect((await merge(a, { mergeIds: [loose] }, 'agent')).status).toBe(403);
    expect((await merge(a, { mergeIds: [loose] }, 'viewer')).status).toBe(403);
    expect(await contactOf(loose)).toMatchObject({ deletedAt: null, mergedIntoContactId: null });

    expect((await merge(a, { mergeIds: [loose] })).status).toBe(200);
    const again = await merge(a, { mergeIds: [loose] });
    expect(again.status).toBe(409);
    expect(again.body.error.details).toMatchObject({ contactId: loose, mergedIntoContactId: a });
    const into = await merge(loose, { mergeIds: [b] });
    expect(into.status).toBe(409);
    expect(into.body.error.details).toMatchObject({ contactId: loose, mergedIntoContactId: a });
    // A contact deleted without a merge is simply gone.
    expect((await org.json('DELETE', `/api/contacts/${b}`, { as: 'manager' })).status).toBe(204);
    expect((await merge(a, { mergeIds: [b] })).status).toBe(404);
    expect((await org.json('GET', `/api/contacts/${b}`)).status).toBe(404);
  });
});

describe('merging customers', () => {
  it('moves contacts, threads, shipments, domains and tags; the merged customer answers with a pointer and syncs as deleted', async () => {
    const sDomain = `s-${tag()}.example`;
    const mDomain = `m-${tag()}.example`;
    const survivor = await createCustomer(`Tata Textiles ${tag()}`, { domains: [sDomain], tags: ['key'], tier: 'key' });
    const merged = await createCustomer(`TATA TEXTILES LTD ${tag()}`, {
      domains: [mDomain],
      tags: ['reefer', 'key'],
      gstin: '27AAACT2727Q1ZW',
      city: 'Mumbai',
      country: 'IN',
    });
    const typed = await createContact({ name: 'Rohit', customerId: merged, phone: mobile() });
    const byMail = await ingest({ from: `Meera <meera@${mDomain}>`, subject: 'Shipping instructions' });
    const mailed = (await threadOf(byMail.threadId)) as { contactId: string; customerId: string };
    expect(mailed.customerId).toBe(merged);
    const [shipment] = await db.sql<{ id: string }[]>`
      insert into app.shipments (org_id, reference, mode, customer_id) values (${org.id}, ${`SE-${tag()}`}, 'sea_fcl', ${merged}) returning id`;

    const updatedSince = minuteAgo();
    const since = await broadcastsSince(db.sql);
    const res = await org.json('POST', `/api/customers/${survivor}/merge`, { as: 'manager', body: { mergeIds: [merged] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      id: survivor,
      tier: 'key',
      domains: [sDomain, mDomain],
      tags: ['key', 'reefer'],
      gstin: '27AAACT2727Q1ZW',
      city: 'Mumbai',
      country: 'IN',
      mergedIntoCustomerId: null,
    });
    expect(res.body.contacts.map((c: any) => c.id).sort()).toEqual([typed, mailed.contactId].sort());
    expect(await org.json('GET', `/api/threads/${byMail.threadId}`)).toMatchObject({ body: { customerId: survivor } });
    expect((await db.sql`select customer_id from app.shipments where id = ${shipment!.id}`)[0]!.customerId).toBe(survivor);
    expect(
      await db.sql`select 1 from app.threads where customer_id = ${merged} union all select 1 from app.contacts where customer_id = ${merged}`,
    ).toHaveLength(0);

    const gone = await org.json('GET', `/api/customers/${merged}`);
    expect(gone.status).toBe(200);
    expect(gone.body).toMatchObject({ id: merged, mergedIntoCustomerId: survivor, contacts: [] });
    const edit = await org.json('PATCH', `/api/customers/${merged}`, { body: { notes: 'x' } });
    expect(edit.status).toBe(409);
    expect(edit.body.error.details).toMatchObject({ customerId: merged, mergedIntoCustomerId: survivor });
    expect((await org.json('DELETE', `/api/customers/${merged}`, { as: 'manager' })).status).toBe(409);
    expect((await org.json('GET', `/api/customers?domain=${mDomain}`)).body.data.map((c: any) => c.id)).toEqual([survivor]);
    // A contact is not filed under the merged customer any more.
    const late = await org.json('POST', '/api/contacts', { body: { name: 'Late', customerId: merged } });
    expect([late.status, paths(late.body)]).toEqual([422, ['body.customerId']]);

    const customerSync = await syncAll('/api/customers', updatedSince);
    expect(customerSync.deleted).toContain(merged);
    expect(customerSync.data.find((c) => c.id === survivor)).toMatchObject({ domains: [sDomain, mDomain] });
    const contactSync = await syncAll('/api/contacts', updatedSince);
    const movedContacts = contactSync.data.filter((c) => [typed, mailed.contactId].includes(c.id));
    expect(movedContacts.map((c) => c.customerId)).toEqual([survivor, survivor]);

    const rows = await audits('customer.merged', [survivor, merged, byMail.threadId]);
    expect(rows.map((r) => r.entityId).sort()).toEqual([survivor, merged, byMail.threadId].sort());
    expect(rows.find((r) => r.entityId === merged)!.data).toMatchObject({
      intoCustomerId: survivor,
      mergedIds: [merged],
      threadIds: [byMail.threadId],
      shipmentIds: [shipment!.id],
    });
    const events = await since();
    expect(events.find((e) => e.event === 'customer.merged')!.payload.data).toMatchObject({ id: merged, mergedIntoCustomerId: survivor });
    expect(events.find((e) => e.event === 'customer.updated')!.payload.data).toMatchObject({ id: survivor, domains: [sDomain, mDomain] });
    expect(
      events
        .filter((e) => e.event === 'contact.updated')
        .map((e) => e.payload.data.id)
        .sort(),
    ).toEqual([typed, mailed.contactId].sort());
    expect(events.filter((e) => e.event === 'thread.updated' && e.topic === `org:${org.id}`).map((e) => e.payload.data)).toEqual([
      expect.objectContaining({ id: byMail.threadId, customerId: survivor }),
    ]);

    // Mail from a new sender on the merged customer's domain is filed under the survivor.
    const newcomer = await ingest({ from: `Anil <anil@${mDomain}>`, subject: 'Invoice query' });
    expect((await threadOf(newcomer.threadId)).customerId).toBe(survivor);
    expect((await contactOf((await threadOf(newcomer.threadId)).contactId)).customerId).toBe(survivor);
  });

  it('refuses itself, other organizations, merged customers, too many domains, and roles below manager', async () => {
    const a = await createCustomer(`A ${tag()}`);
    const b = await createCustomer(`B ${tag()}`);
    const foreign = await createCustomer(`F ${tag()}`, {}, other);
    const merge = (id: string, body: unknown, as: 'manager' | 'agent' = 'manager') => org.json('POST', `/api/customers/${id}/merge`, { as, body });
    expect(paths((await merge(a, { mergeIds: [a] })).body)).toEqual(['body.mergeIds.0']);
    const foreignBody = await merge(a, { mergeIds: [foreign] });
    expect([foreignBody.status, paths(foreignBody.body)]).toEqual([404, ['body.mergeIds.0']]);
    expect((await merge(foreign, { mergeIds: [a] })).status).toBe(404);
    expect((await merge(a, { mergeIds: [b] }, 'agent')).status).toBe(403);

    const many = (n: number) => Array.from({ length: n }, (_, i) => `d${i}-${tag()}.example`);
    const wide = await createCustomer(`W ${tag()}`, { domains: many(12) });
    const wider = await createCustomer(`X ${tag()}`, { domains: many(12) });
    const tooMany = await merge(wide, { mergeIds: [wider] });
    expect(tooMany.status).toBe(422);
    expect(paths(tooMany.body)).toEqual(['body.mergeIds']);
    expect((await db.sql`select deleted_at from app.customers where id = ${wider}`)[0]!.deletedAt).toBeNull();

    expect((await merge(a, { mergeIds: [b] })).status).toBe(200);
    const again = await merge(a, { mergeIds: [b] });
    expect(again.status).toBe(409);
    expect(again.body.error.details).toMatchObject({ customerId: b, mergedIntoCustomerId: a });
  });

  it('sends a write that names a merged customer or contact (read before the merge) to the survivor', async () => {
    const survivor = await createCustomer(`S ${tag()}`);
    const merged = await createCustomer(`M ${tag()}`);
    const contact = await createContact({ name: 'Stays' });
    const duplicate = await createContact({ name: 'Goes' });
    expect((await org.json('POST', `/api/customers/${survivor}/merge`, { as: 'manager', body: { mergeIds: [merged] } })).status).toBe(200);
    expect((await org.json('POST', `/api/contacts/${contact}/merge`, { as: 'manager', body: { mergeIds: [duplicate] } })).status).toBe(200);
    // As an ingest that looked the parties up just before the merges committed would write them.
    const [thread] = await db.sql<{ customerId: string; contactId: string }[]>`
      insert into app.threads (org_id, subject, channel, customer_id, contact_id) values (${org.id}, 'Late', 'email', ${merged}, ${duplicate})
      returning customer_id, contact_id`;
    expect(thread).toEqual({ customerId: survivor, contactId: contact });
  });
});

describe('concurrent merges', () => {
  it('send messages arriving during a contact merge from the merged address and number to the survivor', async () => {
    const survivor = await createContact({ name: 'Survivor', email: `s.${tag()}@race.example`, phone: mobile() });
    const number = mobile();
    const address = `dup.${tag()}@freemail.example`;
    const first = await exotelFrom(number, 'Hello');
    const duplicate = (await threadOf(first.threadId)).contactId as string;
    await db.sql`update app.contacts set email = ${address} where id = ${duplicate}`;
    const [merge, ...arrived] = await Promise.all([
      org.json('POST', `/api/contacts/${survivor}/merge`, { as: 'manager', body: { mergeIds: [duplicate] } }),
      ...Array.from({ length: 4 }, (_, i) => exotelFrom(number, `Message ${i}`)),
      ...Array.from({ length: 4 }, (_, i) => ingest({ from: address, subject: `Enquiry ${i} ${tag()}` })),
    ]);
    expect(merge!.status, JSON.stringify(merge!.body)).toBe(200);
    const threads = await db.sql<{ contactId: string }[]>`
      select distinct t.contact_id from app.messages m join app.threads t on t.id = m.thread_id
      where m.id = any(${[first.messageId, ...arrived.map((a) => a.messageId)]}::uuid[])`;
    expect(threads).toEqual([{ contactId: survivor }]);
    expect(
      await db.sql`select id from app.contacts where org_id = ${org.id} and deleted_at is null and (email = ${address} or phone = ${number})`,
    ).toHaveLength(0);
  });

  it('neither lose nor duplicate a row, and settle opposite merges with one 409', async () => {
    const ids = await Promise.all([0, 1, 2, 3].map((i) => createCustomer(`Race ${i} ${tag()}`, { domains: [`r${i}-${tag()}.example`] })));
    const threads: string[] = [];
    const contacts: string[] = [];
    for (const [i, id] of ids.entries()) {
      for (let n = 0; n < 3; n++) {
        contacts.push(await createContact({ name: `Person ${i}.${n}`, customerId: id }));
        const t = await org.json('POST', '/api/threads', { body: { subject: `Race ${i}.${n}`, customerId: id } });
        expect(t.status).toBe(201);
        threads.push(t.body.id);
      }
    }
    const [a, b, c, d] = ids as [string, string, string, string];
    const results = await Promise.all([
      org.json('POST', `/api/customers/${a}/merge`, { as: 'manager', body: { mergeIds: [b] } }),
      org.json('POST', `/api/customers/${b}/merge`, { as: 'manager', body: { mergeIds: [a] } }),
      org.json('POST', `/api/customers/${b}/merge`, { as: 'manager', body: { mergeIds: [c] } }),
      org.json('POST', `/api/customers/${d}/merge`, { as: 'manager', body: { mergeIds: [c, a] } }),
      org.json('POST', `/api/customers/${c}/merge`, { as: 'manager', body: { mergeIds: [d] } }),
    ]);
    expect(
      results.every((r) => [200, 409].includes(r.status)),
      JSON.stringify(results.map((r) => r.body)),
    ).toBe(true);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    // a and b merged into each other at once: at most one of the two won (another merge may have taken either first).
    expect([results[0]!.status, results[1]!.status].filter((s) => s === 200).length).toBeLessThanOrEqual(1);

    const live = await db.sql<{ id: string; domains: string[] }[]>`select id, domains from app.customers where id = any(${ids}::uuid[]) and deleted_at is null`;
    expect(live.length).toBeLessThan(4);
    // Every thread and contact is on a live customer, each exactly once; every domain is on exactly one live customer.
    const liveIds = live.map((l) => l.id);
    const threadRows = await db.sql<{ customerId: string }[]>`select customer_id from app.threads where id = any(${threads}::uuid[])`;
    expect(threadRows).toHaveLength(threads.length);
    expect(threadRows.every((t) => liveIds.includes(t.customerId))).toBe(true);
    const contactRows = await db.sql<{ customerId: string }[]>`select customer_id from app.contacts where id = any(${contacts}::uuid[]) and deleted_at is null`;
    expect(contactRows).toHaveLength(contacts.length);
    expect(contactRows.every((k) => liveIds.includes(k.customerId))).toBe(true);
    expect(live.flatMap((l) => l.domains)).toHaveLength(4);
    // Each merged customer points straight at a live one.
    const pointers = await db.sql<{ target: string }[]>`
      select merged_into_customer_id as target from app.customers where id = any(${ids}::uuid[]) and deleted_at is not null`;
    expect(pointers).toHaveLength(4 - live.length);
    expect(pointers.every((p) => liveIds.includes(p.target))).toBe(true);
  });
});
