// Response schemas: every inbox route declares what it answers per status, and the API helper holds each
// answer a test receives to them (tests/helpers/api.ts). These tests make sure the check bites: a schema
// that lacks a field the route answers, a status the route does not declare, and an error body off the
// one error shape all fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { errorWire } from '../../lib/http/errors.js';
import { declaredResponses, isAlternatives, isRawBody, responseProblems, type ResponseSchemas } from '../../lib/http/responses.js';
import { threadDetailWire, threadWire } from '../../lib/threads/wire.js';
import { ResponseSchemaError, router } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';

let db: TestDatabase;
let org: TestOrg;
beforeAll(async () => {
  db = await testDatabase();
  org = await newOrganization(db.sql);
});
afterAll(() => db.close());

const JSON_TYPE = 'application/json';
const INBOX = /^\/api\/(threads|messages|notes|actions|contacts|customers|shipments|milestones|documents)(\/|$)/;
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Runs fn while the route answering method on path declares other response schemas. */
async function withDeclared<T>(method: string, path: string, responses: ResponseSchemas, fn: () => Promise<T>): Promise<T> {
  const matched = await router.match(method, path);
  const meta = (matched!.handler as unknown as { meta: { responses?: ResponseSchemas } }).meta;
  const declared = meta.responses;
  meta.responses = responses;
  try {
    return await fn();
  } finally {
    meta.responses = declared;
  }
}

describe('response schemas', () => {
  it('every method of every inbox route declares its response schemas', async () => {
    const undeclared: string[] = [];
    const inbox = router.routes.filter((r) => INBOX.test(r.pattern));
    expect(inbox.length).toBeGreaterThan(10);
    for (const r of inbox) {
      const path = r.pattern.replace(/\[[^\]]+\]/g, '00000000-0000-4000-8000-000000000000');
      for (const method of METHODS) {
        const matched = await router.match(method, path);
        if (matched?.handler && !declaredResponses(matched.handler)) undeclared.push(`${method} ${r.pattern}`);
      }
    }
    expect(undeclared).toEqual([]);
  });

  it('every declared schema converts to JSON Schema, the entities as named components (for the OpenAPI document)', async () => {
    const names = new Set<string>();
    for (const r of router.routes) {
      const path = r.pattern.replace(/\[[^\]]+\]/g, 'x');
      for (const method of METHODS) {
        const declared = declaredResponses((await router.match(method, path))?.handler) ?? {};
        for (const [status, schema] of Object.entries(declared)) {
          if (!schema || isRawBody(schema) || isAlternatives(schema)) continue;
          const json = z.toJSONSchema(schema, { io: 'output' }) as { $defs?: Record<string, unknown>; $ref?: string };
          expect(json, `${method} ${r.pattern} ${status}`).toBeTypeOf('object');
          for (const name of Object.keys(json.$defs ?? {})) names.add(name);
        }
      }
    }
    expect([...names].sort()).toEqual(expect.arrayContaining(['Action', 'Contact', 'Customer', 'Message', 'Note', 'Thread', 'ThreadDetail']));
  });

  it('fails a test whose route answers a field its schema lacks (drift)', async () => {
    const thread = (await org.json('POST', '/api/threads', { body: { subject: 'Drift check' } })).body;
    expect((await org.json('GET', `/api/threads/${thread.id}`)).status).toBe(200);
    const drifted = threadDetailWire.omit({ snippet: true });
    const failure = await withDeclared('GET', `/api/threads/${thread.id}`, { 200: drifted }, () => org.json('GET', `/api/threads/${thread.id}`)).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ResponseSchemaError);
    expect((failure as ResponseSchemaError).route).toBe('GET /api/threads/[id]');
    expect((failure as ResponseSchemaError).problems).toEqual(['(body): Unrecognized key: "snippet"']);
  });

  it('fails a field of the wrong type or a missing one, and a Date where the wire has a string', async () => {
    const thread = (await org.json('POST', '/api/threads', { body: { subject: 'Types' } })).body;
    const text = JSON.stringify(thread);
    expect(responseProblems({ 201: threadWire }, 201, JSON_TYPE, text)).toEqual([]);
    expect(responseProblems({ 201: threadWire.extend({ unread: z.string() }) }, 201, JSON_TYPE, text)).toEqual([
      'unread: Invalid input: expected string, received boolean',
    ]);
    expect(responseProblems({ 201: threadWire.extend({ archivedAt: z.string() }) }, 201, JSON_TYPE, text)).toEqual([
      'archivedAt: Invalid input: expected string, received undefined',
    ]);
    expect(responseProblems({ 201: threadWire.extend({ createdAt: z.date() }) }, 201, JSON_TYPE, text)).toEqual([
      'createdAt: Invalid input: expected date, received string',
    ]);
  });

  it('fails a success status the route does not declare, and a body where none is declared', async () => {
    const failure = await withDeclared('GET', '/api/threads', { 201: threadWire }, () => org.json('GET', '/api/threads')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ResponseSchemaError);
    expect((failure as ResponseSchemaError).problems).toEqual(['status 200 has no declared response schema (declared: 201)']);
    expect(responseProblems({ 204: null }, 204, null, '')).toEqual([]);
    expect(responseProblems({ 204: null }, 204, JSON_TYPE, '{}')).toEqual(['status 204 is declared without a body, but has one']);
    // A route that declares nothing fails on any success answer (its errors are still held to the error shape).
    expect(responseProblems(undefined, 200, JSON_TYPE, '{"anything":1}')).toEqual([
      'the route declares no response schemas (route({ responses }) or describe())',
    ]);
  });

  it('holds every error answer to the one error shape, its code matching the status', async () => {
    const missing = await org.json('GET', '/api/threads/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(errorWire.parse(missing.body).error.code).toBe('not_found');
    const invalid = await org.json('PATCH', `/api/threads/${(await org.json('POST', '/api/threads', { body: { subject: 'E' } })).body.id}`, {
      body: { status: 'sleeping' },
    });
    expect(invalid.status).toBe(422);
    expect(errorWire.parse(invalid.body).error.details?.issues?.[0]?.path).toBe('body.status');
    // The router's own answers too.
    expect((await org.json('GET', '/api/no-such-route')).status).toBe(404);
    expect((await org.json('PUT', '/api/threads')).status).toBe(405);

    const body = (error: Record<string, unknown>) => JSON.stringify({ error: { code: 'not_found', message: 'Thread not found', requestId: 'r-1', ...error } });
    expect(responseProblems(undefined, 404, JSON_TYPE, body({}))).toEqual([]);
    expect(responseProblems({ 200: threadWire }, 404, JSON_TYPE, body({}))).toEqual([]);
    expect(responseProblems(undefined, 400, JSON_TYPE, body({}))).toEqual(['error.code: not_found is answered with 404, not 400']);
    expect(responseProblems(undefined, 404, JSON_TYPE, body({ hint: 'x' }))).toEqual(['error: Unrecognized key: "hint"']);
    expect(responseProblems(undefined, 404, JSON_TYPE, body({ details: { issues: [{ path: 'body.x' }] } }))).toEqual([
      'error.details.issues.0.message: Invalid input: expected string, received undefined',
    ]);
    expect(responseProblems(undefined, 500, 'text/plain', 'boom')).toEqual(['a 500 answer must be the JSON error shape, not text/plain']);
  });
});
