import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const count = async (name: string) => (await db.sql`select 1 from app.customers where name = ${name}`).length;

describe('Idempotency-Key', () => {
  it('returns the first response for a repeated key and body, creating once', async () => {
    const headers = { 'idempotency-key': 'create-customer-1' };
    const first = await json('POST', '/api/customers', { body: { name: 'Once Only Ltd' }, headers });
    const second = await json('POST', '/api/customers', { body: { name: 'Once Only Ltd' }, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await count('Once Only Ltd')).toBe(1);
  });

  it('answers 422 when the key is reused with a different body', async () => {
    const headers = { 'idempotency-key': 'create-customer-2' };
    await json('POST', '/api/customers', { body: { name: 'First Body Ltd' }, headers });
    const reused = await json('POST', '/api/customers', { body: { name: 'Second Body Ltd' }, headers });
    expect(reused.status).toBe(422);
    expect(reused.body.error.details.issues[0].path).toBe('header.idempotency-key');
    expect(await count('Second Body Ltd')).toBe(0);
  });

  it('creates once when the same request races itself', async () => {
    const headers = { 'idempotency-key': 'race-1' };
    const results = await Promise.all(Array.from({ length: 5 }, () => json('POST', '/api/customers', { body: { name: 'Race Condition Pvt Ltd' }, headers })));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await count('Race Condition Pvt Ltd')).toBe(1);
  });

  it('keeps keys per user: another member may use the same key', async () => {
    const headers = { 'idempotency-key': 'shared-key' };
    const a = await json('POST', '/api/customers', { body: { name: 'Per User A' }, headers });
    const b = await json('POST', '/api/customers', { as: 'manager', body: { name: 'Per User B' }, headers });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
  });

  it('does not store a failed request, so a corrected retry with the same key works', async () => {
    const headers = { 'idempotency-key': 'fails-then-works' };
    const bad = await json('POST', '/api/contacts', { body: { name: 'X', customerId: '0d000000-0000-4000-8000-000000000099' }, headers });
    expect(bad.status).toBe(422);
    const good = await json('POST', '/api/contacts', { body: { name: 'X', customerId: '0d000000-0000-4000-8000-000000000099' }, headers });
    expect(good.status).toBe(422);
    const invalidKey = await json('POST', '/api/customers', { body: { name: 'Y' }, headers: { 'idempotency-key': 'é'.repeat(3) } });
    expect(invalidKey.status).toBe(422);
  });
});
