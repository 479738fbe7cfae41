// The shared security suite: every user-facing route, found from the api/ files themselves, is called
// without a token, with a malformed, expired or wrongly signed token, as a member of another
// organization, as each role of the permission table, and as a member of two organizations.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECOND_ORG_ID, SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { signAccessToken } from '../../lib/http/auth.js';
import { can, ROLES, type Action } from '../../lib/http/permissions.js';
import type { RouteHandler } from '../../lib/http/route.js';
import { call, router } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

interface Sample {
  path: string;
  body?: unknown;
}

const T1 = '10000000-0000-4000-8000-000000000001';
const C1 = '0d000000-0000-4000-8000-000000000001';

async function freshCustomer(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.customers (org_id, name) values (${SEED_ORG_ID}, ${`Security sample ${randomUUID()}`}) returning id`;
  return row!.id;
}
async function freshContact(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`insert into app.contacts (org_id, name) values (${SEED_ORG_ID}, 'Sample') returning id`;
  return row!.id;
}
async function deadJob(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.outbox (org_id, name, status, attempts) values (${SEED_ORG_ID}, 'thread.unsnooze', 'dead', 8) returning id`;
  return row!.id;
}

async function freshUser(): Promise<string> {
  const email = `user-${randomUUID()}@seahawk-logistics.in`;
  await db.sql`insert into auth.users (id, email, created_at, updated_at) values (gen_random_uuid(), ${email}, now(), now())`;
  return email;
}
async function freshMember(): Promise<string> {
  const email = await freshUser();
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.members (org_id, user_id, role, email) select ${SEED_ORG_ID}, id, 'agent', email from auth.users where email = ${email} returning id`;
  return row!.id;
}
async function freshTeam(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`insert into app.teams (org_id, name) values (${SEED_ORG_ID}, ${`T ${randomUUID()}`}) returning id`;
  return row!.id;
}

/** One valid request per route and method, made fresh for each call (writes may consume it). */
const samples: Record<string, () => Promise<Sample>> = {
  'GET /api/customers': async () => ({ path: '/api/customers' }),
  'POST /api/customers': async () => ({ path: '/api/customers', body: { name: `New ${randomUUID()}` } }),
  'GET /api/customers/[id]': async () => ({ path: `/api/customers/${C1}` }),
  'PATCH /api/customers/[id]': async () => ({ path: `/api/customers/${await freshCustomer()}`, body: { notes: 'x' } }),
  'DELETE /api/customers/[id]': async () => ({ path: `/api/customers/${await freshCustomer()}` }),
  'GET /api/contacts': async () => ({ path: '/api/contacts' }),
  'POST /api/contacts': async () => ({ path: '/api/contacts', body: { name: 'Someone', customerId: C1 } }),
  'GET /api/contacts/[id]': async () => ({ path: '/api/contacts/0e000000-0000-4000-8000-000000000001' }),
  'PATCH /api/contacts/[id]': async () => ({ path: `/api/contacts/${await freshContact()}`, body: { designation: 'Ops' } }),
  'DELETE /api/contacts/[id]': async () => ({ path: `/api/contacts/${await freshContact()}` }),
  'GET /api/threads': async () => ({ path: '/api/threads' }),
  'POST /api/threads': async () => ({ path: '/api/threads', body: { subject: 'Sample', customerId: C1 } }),
  'GET /api/threads/[id]': async () => ({ path: `/api/threads/${T1}` }),
  'PATCH /api/threads/[id]': async () => ({ path: `/api/threads/${T1}`, body: { priority: 'high' } }),
  'POST /api/threads/[id]/assign': async () => ({ path: `/api/threads/${T1}/assign`, body: { assigneeId: SEED_USERS.agent.id } }),
  'POST /api/threads/[id]/unassign': async () => ({ path: `/api/threads/${T1}/unassign` }),
  'PUT /api/threads/[id]/read': async () => ({ path: `/api/threads/${T1}/read` }),
  'DELETE /api/threads/[id]/read': async () => ({ path: `/api/threads/${T1}/read` }),
  'GET /api/org': async () => ({ path: '/api/org' }),
  'PATCH /api/org': async () => ({ path: '/api/org', body: { signature: 'Regards, Seahawk' } }),
  'GET /api/members': async () => ({ path: '/api/members' }),
  'POST /api/members': async () => ({ path: '/api/members', body: { email: await freshUser(), role: 'agent' } }),
  'PATCH /api/members/[id]': async () => ({ path: `/api/members/${await freshMember()}`, body: { role: 'manager' } }),
  'DELETE /api/members/[id]': async () => ({ path: `/api/members/${await freshMember()}` }),
  'GET /api/teams': async () => ({ path: '/api/teams' }),
  'POST /api/teams': async () => ({ path: '/api/teams', body: { name: `Team ${randomUUID()}` } }),
  'PATCH /api/teams/[id]': async () => ({ path: `/api/teams/${await freshTeam()}`, body: { description: 'x' } }),
  'DELETE /api/teams/[id]': async () => ({ path: `/api/teams/${await freshTeam()}` }),
  'GET /api/admin/jobs': async () => ({ path: '/api/admin/jobs' }),
  'POST /api/admin/jobs/[id]/retry': async () => ({ path: `/api/admin/jobs/${await deadJob()}/retry` }),
};

/** Routes with their own guard instead of a member's token, each tested in its own file. */
const otherGuards = new Set(['GET /api/health', 'GET /api/me', 'POST /api/jobs/[name]', 'GET /api/cron/jobs-sweep']);

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

async function userRoutes() {
  const out: { key: string; method: string; action: Action }[] = [];
  for (const r of router.routes) {
    const mod = (await import(r.file)) as Record<string, RouteHandler | undefined>;
    for (const method of METHODS) {
      const handler = mod[method];
      if (!handler) continue;
      const key = `${method} ${r.pattern}`;
      if (otherGuards.has(key)) continue;
      out.push({ key, method, action: handler.meta?.action });
    }
  }
  return out;
}

const routes = await userRoutes();

describe('the security suite covers every route', () => {
  it('has a sample request and a permission for every user route', () => {
    for (const r of routes) {
      expect(samples[r.key], `add a sample for ${r.key}`).toBeTypeOf('function');
      expect(r.action, `${r.key} must be built with route() and name an action`).toBeTypeOf('string');
    }
    expect(Object.keys(samples).sort()).toEqual(routes.map((r) => r.key).sort());
  });
});

describe.each(routes)('$key', ({ method, action, key }) => {
  const send = async (token: string | null, headers: Record<string, string> = {}) => {
    const s = await samples[key]!();
    return call(method, s.path, { token, body: s.body, headers });
  };
  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it('refuses a missing, malformed, expired or wrongly signed token with 401', async () => {
    const expired = await signAccessToken(SEED_USERS.owner, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    const forged = await signAccessToken(SEED_USERS.owner, { secret: 'another-secret-that-is-long-enough-0123456789' });
    const wrongAudience = await signAccessToken(SEED_USERS.owner, { audience: 'anon' });
    for (const token of [null, 'not-a-jwt', 'a.b.c', expired, forged, wrongAudience]) {
      const res = await send(token);
      expect(res.status, `token ${String(token).slice(0, 12)}`).toBe(401);
      expect(await errorCode(res)).toBe('unauthorized');
    }
  });

  it('never shows a member of another organization the data', async () => {
    const res = await send(await signAccessToken(SEED_USERS.other));
    const text = await res.text();
    expect(res.status).not.toBe(500);
    expect(text).not.toContain(SEED_ORG_ID);
    expect(text).not.toContain('Tata Textiles');
    expect(text).not.toContain(T1);
    if (key.includes('[id]') && can('owner', action)) expect(res.status).toBe(404);
  });

  it.each(ROLES)('as %s: allowed or 403 exactly as the permission table says', async (role) => {
    const res = await send(await signAccessToken(SEED_USERS[role]));
    if (can(role, action)) {
      expect([401, 403], `${role} may ${action}: got ${res.status} ${await res.clone().text()}`).not.toContain(res.status);
      expect(res.status).toBeLessThan(500);
    } else {
      expect(res.status).toBe(403);
      expect(await errorCode(res)).toBe('forbidden');
    }
  });

  it('asks a member of two organizations to name one with X-Org-Id', async () => {
    const token = await signAccessToken(SEED_USERS.multi);
    const none = await send(token);
    expect(none.status).toBe(422);
    const body = (await none.json()) as { error: { details: { issues: { path: string }[] } } };
    expect(body.error.details.issues[0]!.path).toBe('header.x-org-id');
    const first = await send(token, { 'x-org-id': SEED_ORG_ID });
    expect(first.status).toBe(can('agent', action) ? first.status : 403);
    expect([401, 422]).not.toContain(first.status);
    const second = await send(token, { 'x-org-id': SECOND_ORG_ID });
    expect(await second.clone().text()).not.toContain('Tata Textiles');
    const stranger = await send(token, { 'x-org-id': randomUUID() });
    expect(stranger.status).toBe(404);
    const malformed = await send(token, { 'x-org-id': 'org-1' });
    expect(malformed.status).toBe(422);
  });
});
