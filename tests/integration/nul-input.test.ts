// A NUL character in API input is a 422 naming the field (PostgreSQL's text and jsonb cannot hold it),
// never a 500, in a body string, a body key or a query parameter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization } from '../helpers/org.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const paths = (body: any) => body.error.details.issues.map((i: any) => i.path);

describe('NUL characters in API input', () => {
  it('answer 422 naming the field', async () => {
    const org = await newOrganization(db.sql);
    const customer = await org.json('POST', '/api/customers', { body: { name: 'Tata\u0000Textiles' } });
    expect(customer.status).toBe(422);
    expect(paths(customer.body)).toEqual(['body.name']);
    const tags = await org.json('POST', '/api/threads', { body: { subject: 'Rates', tags: ['ok', 'bad\u0000'] } });
    expect(paths(tags.body)).toEqual(['body.tags.1']);
    const key = await org.json('POST', '/api/customers', { rawBody: '{"na\\u0000me":"x"}', headers: { 'content-type': 'application/json' } });
    expect(key.status).toBe(422);
    expect(paths(key.body)).toEqual(['body.na\\u0000me']);
    const search = await org.json('GET', '/api/threads?q=bill%00of%20lading');
    expect(search.status).toBe(422);
    expect(paths(search.body)).toEqual(['query.q']);
    expect((await org.json('POST', '/api/customers', { body: { name: 'Tata Textiles' } })).status).toBe(201);
  });
});
