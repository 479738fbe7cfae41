// Every 4xx names the field it is about, including the ones the database raises: a reference to a
// record that does not exist in the organization (422) and a value another record already has (409).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization } from '../helpers/org.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const paths = (body: any) => body.error.details.issues.map((i: any) => i.path);

describe('database refusals', () => {
  it('name the field of a reference that does not exist in the organization', async () => {
    const org = await newOrganization(db.sql);
    const other = await newOrganization(db.sql);
    const theirs = await other.json('POST', '/api/customers', { body: { name: 'Elsewhere GmbH' } });
    for (const customerId of [randomUUID(), theirs.body.id]) {
      const res = await org.json('POST', '/api/threads', { body: { subject: 'Rate request', customerId } });
      expect(res.status).toBe(422);
      expect(paths(res.body)).toEqual(['body.customerId']);
    }
  });

  it('name the field of a value another record already has', async () => {
    const org = await newOrganization(db.sql);
    const email = `ops-${randomUUID().slice(0, 8)}@shipper.example`;
    expect((await org.json('POST', '/api/contacts', { body: { name: 'Asha', email } })).status).toBe(201);
    const again = await org.json('POST', '/api/contacts', { body: { name: 'Asha K', email: email.toUpperCase() } });
    expect(again.status).toBe(409);
    expect(paths(again.body)).toEqual(['body.email']);
  });
});
