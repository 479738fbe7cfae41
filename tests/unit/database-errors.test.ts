// Which database errors mean "unavailable, retry later" (503 with Retry-After) and which stay what
// they were: the one mapping every edge (routes, webhooks, cron, job deliveries) answers with.
import { describe, expect, it } from 'vitest';
import { DATABASE_RETRY_AFTER_SECONDS, fromDatabase, isDatabaseUnavailable, statusOf } from '../../lib/http/errors.js';
import { toErrorResponse } from '../../lib/http/route.js';

const err = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('database unavailable', () => {
  it.each([
    // postgres.js: connect timeout, lost and ended connections, its own timeouts
    'CONNECT_TIMEOUT',
    'CONNECTION_CLOSED',
    'CONNECTION_ENDED',
    'CONNECTION_DESTROYED',
    'QUERY_TIMEOUT',
    'QUEUE_TIMEOUT',
    // the socket to the database
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EAI_AGAIN',
    // SQLSTATEs: connection exceptions, shutdown, crash, starting up, too many connections, out of memory,
    // ended sessions, statement_timeout
    '08000',
    '08001',
    '08006',
    '57P01',
    '57P02',
    '57P03',
    '57P05',
    '53300',
    '53200',
    '25P03',
    '57014',
  ])('%s answers 503 with Retry-After', (code) => {
    const mapped = fromDatabase(err(code));
    expect(statusOf(mapped!)).toBe(503);
    expect(mapped?.code).toBe('unavailable');
    expect(mapped?.headers?.['retry-after']).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
  });

  it("maps Supavisor's availability errors (XX000 with its code in the message) but not other XX000s", () => {
    expect(isDatabaseUnavailable(err('XX000', '(EMAXCONN) max client connections reached, limit: 200'))).toBe(true);
    expect(isDatabaseUnavailable(err('XX000', '(ECHECKOUTTIMEOUT) unable to check out connection from the pool after 15000ms'))).toBe(true);
    expect(isDatabaseUnavailable(err('XX000', '(EDBHANDLEREXITED) connection to database closed. Check logs for more information'))).toBe(true);
    expect(isDatabaseUnavailable(err('XX000', '(EWRONGPASSWORD) password authentication failed for user "x"'))).toBe(false);
    expect(fromDatabase(err('XX000', 'cache lookup failed for relation 123'))).toBeUndefined();
  });

  it('leaves requests the database refused and unknown failures as they were', () => {
    expect(statusOf(fromDatabase(err('23505'))!)).toBe(409);
    expect(statusOf(fromDatabase(err('40001'))!)).toBe(409);
    expect(statusOf(fromDatabase(err('42501'))!)).toBe(403);
    expect(fromDatabase(err('ENOTFOUND'))).toBeUndefined();
    expect(fromDatabase(new TypeError("Cannot read properties of null (reading 'write')"))).toBeUndefined();
    expect(isDatabaseUnavailable(null)).toBe(false);
    expect(isDatabaseUnavailable({ code: 57 })).toBe(false);
  });

  it('answers in the JSON error shape with Retry-After and the request id', async () => {
    const request = new Request('https://banxway.test/api/threads');
    const res = toErrorResponse(err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), 'req-12345678', request, new Headers());
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
    expect(res.headers.get('x-request-id')).toBe('req-12345678');
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('unavailable');
    expect(body.error.requestId).toBe('req-12345678');
  });
});

describe('key violations name the request fields', () => {
  const keyError = (code: string, detail: string) => Object.assign(new Error('x'), { code, detail, constraint_name: 'some_idx' });
  it('names each key column but the organization, in camelCase, for unique and foreign keys', () => {
    const dup = fromDatabase(keyError('23505', 'Key (org_id, lower(email))=(6f8..., a@b.c) already exists.'))!;
    expect(statusOf(dup)).toBe(409);
    expect((dup.details as any).issues).toEqual([{ path: 'body.email', message: 'is already used by another record' }]);
    const fk = fromDatabase(keyError('23503', 'Key (org_id, assignee_id)=(6f8..., 0b0...) is not present in table "members".'))!;
    expect(statusOf(fk)).toBe(422);
    expect((fk.details as any).issues).toEqual([{ path: 'body.assigneeId', message: 'does not exist in this organization' }]);
    expect(fk.message).toMatch(/^body\.assigneeId:/);
    const plain = fromDatabase(keyError('23503', 'Key (customer_id)=(0d0...) is not present in table "customers".'))!;
    expect((plain.details as any).issues[0].path).toBe('body.customerId');
    expect(fromDatabase(keyError('23505', 'something else'))!.details).toEqual({ constraint: 'some_idx' });
  });
});

describe('key violations under row-level security (no detail)', () => {
  it('read the field from the constraint name', () => {
    const fk = fromDatabase(Object.assign(new Error('x'), { code: '23503', table_name: 'threads', constraint_name: 'threads_org_id_customer_id_fkey' }))!;
    expect((fk.details as any).issues).toEqual([{ path: 'body.customerId', message: 'does not exist in this organization' }]);
    const dup = fromDatabase(Object.assign(new Error('x'), { code: '23505', table_name: 'contacts', constraint_name: 'contacts_email_idx' }))!;
    expect((dup.details as any).issues).toEqual([{ path: 'body.email', message: 'is already used by another record' }]);
    expect(fromDatabase(Object.assign(new Error('x'), { code: '23505', constraint_name: 'odd' }))!.details).toEqual({ constraint: 'odd' });
  });
});
