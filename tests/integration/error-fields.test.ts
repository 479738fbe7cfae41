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

describe('input refusals', () => {
  it('say a field left out is required, and what is wrong with one given', async () => {
    const org = await newOrganization(db.sql);
    const thread = await org.json('POST', '/api/threads', { body: { subject: 'Booking 2x40HC' } });
    const other = await org.json('POST', '/api/threads', { body: { subject: 'Booking 1x20GP' } });
    const missing = await org.json('POST', `/api/threads/${thread.body.id}/merge`, { body: {} });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details.issues).toEqual([{ path: 'body.into', message: 'is required' }]);
    const wrong = await org.json('POST', `/api/threads/${thread.body.id}/merge`, { body: { into: 42 } });
    expect(wrong.body.error.details.issues).toEqual([{ path: 'body.into', message: expect.not.stringMatching(/required/) }]);
    const note = await org.json('POST', `/api/threads/${other.body.id}/notes`, { body: { body: 'x', mentions: [{}] } });
    expect(note.status).toBe(422);
    expect(paths(note.body).every((p: string) => p.startsWith('body.mentions'))).toBe(true);
    const noBody = await org.json('POST', `/api/threads/${other.body.id}/notes`, { body: {} });
    expect(noBody.body.error).toMatchObject({ message: 'body.body: is required' });
  });
});
