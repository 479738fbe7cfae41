import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

describe('customers and contacts', () => {
  it('creates, reads, updates and soft-deletes a customer, announcing each change', async () => {
    const since = await broadcastsSince(db.sql);
    const created = await json('POST', '/api/customers', {
      body: { name: 'Blue Dart Logistics', kind: 'transporter', domains: ['BlueDart.example'], country: 'in' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Blue Dart Logistics', kind: 'transporter', tier: 'standard', domains: ['bluedart.example'], country: 'IN' });
    const id = created.body.id as string;

    const read = await json('GET', `/api/customers/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.contacts).toEqual([]);

    const updated = await json('PATCH', `/api/customers/${id}`, { body: { tier: 'key', notes: 'Prefers WhatsApp' } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ tier: 'key', notes: 'Prefers WhatsApp' });

    const deleted = await json('DELETE', `/api/customers/${id}`, { as: 'manager' });
    expect(deleted.status).toBe(204);
    expect((await json('GET', `/api/customers/${id}`)).status).toBe(404);

    const events = await since();
    expect(events.map((e) => [e.topic, e.event])).toEqual([
      [`org:${SEED_ORG_ID}`, 'customer.created'],
      [`org:${SEED_ORG_ID}`, 'customer.updated'],
      [`org:${SEED_ORG_ID}`, 'customer.deleted'],
    ]);
    expect(events[0]!.payload).toMatchObject({ event: 'customer.created', orgId: SEED_ORG_ID, data: { id, name: 'Blue Dart Logistics' } });
    const audit = await db.sql`select action, entity_id from app.audit_log where entity_id = ${id} order by id`;
    expect(audit.map((a) => a.action)).toEqual(['customer.created', 'customer.updated', 'customer.deleted']);
  });

  it('searches by name, domain, contact email and phone in any common format', async () => {
    const byName = await json('GET', '/api/customers?q=hamburg');
    expect(byName.body.data.map((c: any) => c.name)).toEqual(['Hamburg Home GmbH']);
    const byDomain = await json('GET', '/api/customers?domain=TATATEXTILES.example');
    expect(byDomain.body.data.map((c: any) => c.name)).toEqual(['Tata Textiles Exports Pvt Ltd']);
    const byEmail = await json('GET', '/api/customers?email=ramesh@jaihindcha.example');
    expect(byEmail.body.data.map((c: any) => c.name)).toEqual(['Jai Hind Customs Brokers']);
    const byPhone = await json('GET', `/api/customers?phone=${encodeURIComponent('099300 11223')}`);
    expect(byPhone.body.data.map((c: any) => c.name)).toEqual(['Sharma Roadlines']);
    const byKind = await json('GET', '/api/customers?kind=carrier,customs_broker');
    expect(byKind.body.data.map((c: any) => c.kind).sort()).toEqual(['carrier', 'customs_broker']);
  });

  it('pages with an opaque cursor and never repeats a row', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { id: string }[]; nextCursor: string | null } } = await json(
        'GET',
        `/api/customers?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.data.map((c) => c.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    const all = await json('GET', '/api/customers?limit=100');
    expect(seen).toEqual(all.body.data.map((c: any) => c.id));
    expect((await json('GET', '/api/customers?cursor=garbage')).body.error.details.issues[0].path).toBe('query.cursor');
  });

  it('answers 422 naming each bad field, and 400/415 for bodies that are not JSON', async () => {
    const bad = await json('POST', '/api/customers', { body: { name: '', kind: 'pirate', domains: ['not a domain'], extra: 1 } });
    expect(bad.status).toBe(422);
    const paths = bad.body.error.details.issues.map((i: any) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.name', 'body.kind', 'body.domains.0', 'body']));
    expect(bad.body.error.requestId).toBe(bad.headers.get('x-request-id'));
    const notJson = await json('POST', '/api/customers', { rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('bad_request');
    const form = await json('POST', '/api/customers', { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const big = await json('POST', '/api/customers', { body: { name: 'x', notes: 'y'.repeat(2_000_000) } });
    expect(big.status).toBe(413);
    const badId = await json('GET', '/api/customers/not-a-uuid');
    expect(badId.status).toBe(422);
    expect(badId.body.error.details.issues[0].path).toBe('path.id');
  });

  it('manages contacts with normalised E.164 phones and unique emails', async () => {
    const customer = (await json('POST', '/api/customers', { body: { name: 'Gati Express', kind: 'transporter' } })).body;
    const created = await json('POST', '/api/contacts', {
      body: { customerId: customer.id, name: 'Asha', email: 'Asha@Gati.example', phone: '98200 12345', whatsapp: '+91-98200-12345' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'asha@gati.example', phone: '+919820012345', whatsapp: '+919820012345' });
    const dup = await json('POST', '/api/contacts', { body: { name: 'Asha 2', email: 'asha@gati.example' } });
    expect(dup.status).toBe(409);
    const badPhone = await json('POST', '/api/contacts', { body: { name: 'X', phone: '12' } });
    expect(badPhone.status).toBe(422);
    expect(badPhone.body.error.details.issues[0].path).toBe('body.phone');
    const list = await json('GET', `/api/contacts?customerId=${customer.id}`);
    expect(list.body.data).toHaveLength(1);
    const byPhone = await json('GET', '/api/contacts?phone=%2B919820012345');
    expect(byPhone.body.data[0].id).toBe(created.body.id);
    const foreignCustomer = await json('POST', '/api/contacts', { body: { name: 'Y', customerId: '0d000000-0000-4000-8000-000000000099' } });
    expect(foreignCustomer.status).toBe(422);
    expect((await json('DELETE', `/api/contacts/${created.body.id}`, { as: 'manager' })).status).toBe(204);
  });
});
