// A company email domain belongs to one customer per organization, so mail from a new sender on it
// has one customer to be filed under: a second claim is a 409 naming the field and the first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization } from '../helpers/org.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

describe('customer domains', () => {
  it('refuse a domain another customer claims, on create and edit, naming it', async () => {
    const org = await newOrganization(db.sql);
    const first = await org.json('POST', '/api/customers', { body: { name: 'Hamburg Home GmbH', domains: ['hamburghome.example'] } });
    expect(first.status).toBe(201);
    const second = await org.json('POST', '/api/customers', { body: { name: 'HH Imports', domains: ['hh-imports.example', 'HamburgHome.example'] } });
    expect(second.status).toBe(409);
    expect(second.body.error.details).toMatchObject({
      issues: [{ path: 'body.domains.1', message: 'already belongs to the customer Hamburg Home GmbH' }],
      customer: { id: first.body.id, name: 'Hamburg Home GmbH' },
    });
    const other = (await org.json('POST', '/api/customers', { body: { name: 'HH Imports', domains: ['hh-imports.example'] } })).body;
    const edit = await org.json('PATCH', `/api/customers/${other.id}`, { body: { domains: ['hh-imports.example', 'hamburghome.example'] } });
    expect(edit.status).toBe(409);
    expect((await org.json('PATCH', `/api/customers/${first.body.id}`, { body: { domains: ['hamburghome.example', 'hamburghome.de.example'] } })).status).toBe(
      200,
    );
    // Another organization's customers are not in the way.
    const elsewhere = await newOrganization(db.sql);
    expect((await elsewhere.json('POST', '/api/customers', { body: { name: 'Hamburg Home', domains: ['hamburghome.example'] } })).status).toBe(201);
    // A deleted customer frees its domains.
    expect((await org.json('DELETE', `/api/customers/${first.body.id}`, { as: 'manager' })).status).toBe(204);
    expect((await org.json('PATCH', `/api/customers/${other.id}`, { body: { domains: ['hamburghome.example'] } })).status).toBe(200);
  });

  it('let only one of two concurrent claims of a new domain win', async () => {
    const org = await newOrganization(db.sql);
    const results = await Promise.all(
      ['Rotterdam Forwarding BV', 'RTM Forwarding'].map((name) => org.json('POST', '/api/customers', { body: { name, domains: ['rtm-fwd.example'] } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });
});
