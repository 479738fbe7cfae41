import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECOND_ORG_ID, SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const memberId = async (user: keyof typeof SEED_USERS) =>
  (await db.sql<{ id: string }[]>`select id from app.members where org_id = ${SEED_ORG_ID} and user_id = ${SEED_USERS[user].id}`)[0]!.id;

describe('me and the organization', () => {
  it('tells a user which organizations they can act for', async () => {
    const multi = await json('GET', '/api/me', { as: 'multi' });
    expect(multi.body.userId).toBe(SEED_USERS.multi.id);
    expect(multi.body.organizations.map((o: any) => o.id).sort()).toEqual([SEED_ORG_ID, SECOND_ORG_ID].sort());
    expect((await json('GET', '/api/me', { token: null })).status).toBe(401);
  });

  it('reads and edits the organization, its domains and signature', async () => {
    const org = await json('GET', '/api/org');
    expect(org.body).toMatchObject({ id: SEED_ORG_ID, timezone: 'Asia/Kolkata', role: 'agent', domains: [{ domain: 'seahawk-logistics.in', verified: true }] });
    expect((await json('PATCH', '/api/org', { body: { name: 'X' } })).status).toBe(403);
    const bad = await json('PATCH', '/api/org', { as: 'admin', body: { timezone: 'Mars/Olympus' } });
    expect(bad.body.error.details.issues[0].path).toBe('body.timezone');
    const edited = await json('PATCH', '/api/org', { as: 'admin', body: { domains: ['seahawk-logistics.in', 'SEAHAWK.example'], signature: 'Team Seahawk' } });
    expect(edited.body.domains.map((d: any) => d.domain)).toEqual(['seahawk-logistics.in', 'seahawk.example']);
    expect(edited.body.signature).toBe('Team Seahawk');
  });
});

describe('members', () => {
  it('lists the members for every role', async () => {
    const list = await json('GET', '/api/members', { as: 'viewer' });
    expect(list.status).toBe(200);
    expect(list.body.data.map((m: any) => m.userId)).toEqual(expect.arrayContaining(Object.values(SEED_USERS).filter((u) => u !== SEED_USERS.other).map((u) => u.id)));
  });

  it('lets admins manage members below owner, and only owners touch owners', async () => {
    const agent = await memberId('agent');
    const promoted = await json('PATCH', `/api/members/${agent}`, { as: 'admin', body: { role: 'manager' } });
    expect(promoted.body.role).toBe('manager');
    await json('PATCH', `/api/members/${agent}`, { as: 'admin', body: { role: 'agent' } });
    const toOwner = await json('PATCH', `/api/members/${agent}`, { as: 'admin', body: { role: 'owner' } });
    expect(toOwner.status).toBe(403);
    const demoteOwner = await json('PATCH', `/api/members/${await memberId('owner')}`, { as: 'admin', body: { role: 'agent' } });
    expect(demoteOwner.status).toBe(403);
    expect((await json('PATCH', `/api/members/${agent}`, { as: 'manager', body: { role: 'viewer' } })).status).toBe(403);
  });

  it('keeps the last owner: no demotion, disabling or removal, even by themselves', async () => {
    const owner = await memberId('owner');
    for (const body of [{ role: 'admin' }, { status: 'disabled' }]) {
      const res = await json('PATCH', `/api/members/${owner}`, { as: 'owner', body });
      expect(res.status).toBe(409);
      expect(res.body.error.message).toContain('last owner');
    }
    expect((await json('DELETE', `/api/members/${owner}`, { as: 'owner' })).status).toBe(409);
    // With a second owner, the first may step down.
    const admin = await memberId('admin');
    expect((await json('PATCH', `/api/members/${admin}`, { as: 'owner', body: { role: 'owner' } })).body.role).toBe('owner');
    const [first, second] = await Promise.all([
      json('PATCH', `/api/members/${owner}`, { as: 'owner', body: { role: 'admin' } }),
      json('PATCH', `/api/members/${admin}`, { as: 'admin', body: { role: 'admin' } }),
    ]);
    // Two owners stepping down at once: exactly one wins, one owner remains.
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const [{ n }] = (await db.sql`select count(*)::int as n from app.members where org_id = ${SEED_ORG_ID} and role = 'owner'`) as any;
    expect(n).toBe(1);
  });

  it('removes a member; their threads lose the assignee', async () => {
    const viewer = await memberId('viewer');
    expect((await json('DELETE', `/api/members/${viewer}`, { as: 'admin' })).status).toBe(204);
    expect((await json('GET', '/api/threads', { as: 'viewer' })).status).toBe(403);
    expect((await json('DELETE', `/api/members/${viewer}`, { as: 'admin' })).status).toBe(404);
  });
});

describe('teams', () => {
  it('creates, edits membership of and deletes a team', async () => {
    const created = await json('POST', '/api/teams', { as: 'manager', body: { name: 'Road Freight', memberIds: [SEED_USERS.agent.id] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Road Freight', memberIds: [SEED_USERS.agent.id] });
    const bad = await json('PATCH', `/api/teams/${created.body.id}`, { as: 'manager', body: { memberIds: [SEED_USERS.other.id] } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toBe('body.memberIds.0');
    const edited = await json('PATCH', `/api/teams/${created.body.id}`, { as: 'manager', body: { memberIds: [SEED_USERS.manager.id] } });
    expect(edited.body.memberIds).toEqual([SEED_USERS.manager.id]);
    expect((await json('POST', '/api/teams', { as: 'manager', body: { name: 'Road Freight' } })).status).toBe(409);
    expect((await json('DELETE', `/api/teams/${created.body.id}`, { as: 'agent' })).status).toBe(403);
    expect((await json('DELETE', `/api/teams/${created.body.id}`, { as: 'manager' })).status).toBe(204);
  });
});
