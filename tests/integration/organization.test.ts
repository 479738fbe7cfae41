// The organization, its members and teams. Tests that change roles, settings or teams work in an
// organization of their own (tests/helpers/org.ts), so they pass in any order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECOND_ORG_ID, SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization } from '../helpers/org.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

describe('me and the organization', () => {
  it('tells a user which organizations they can act for', async () => {
    const multi = await json('GET', '/api/me', { as: 'multi' });
    expect(multi.body.userId).toBe(SEED_USERS.multi.id);
    expect(multi.body.organizations.map((o: any) => o.id).sort()).toEqual([SEED_ORG_ID, SECOND_ORG_ID].sort());
    expect((await json('GET', '/api/me', { token: null })).status).toBe(401);
  });

  it('reads and edits the organization, its domains and signature', async () => {
    const org = await newOrganization(db.sql);
    const read = await org.json('GET', '/api/org');
    expect(read.body).toMatchObject({ id: org.id, timezone: 'Asia/Kolkata', role: 'agent', domains: [{ domain: org.domain, verified: true }] });
    expect((await org.json('PATCH', '/api/org', { body: { name: 'X' } })).status).toBe(403);
    const bad = await org.json('PATCH', '/api/org', { as: 'admin', body: { timezone: 'Mars/Olympus' } });
    expect(bad.body.error.details.issues[0].path).toBe('body.timezone');
    const edited = await org.json('PATCH', '/api/org', { as: 'admin', body: { domains: [org.domain, 'SEAHAWK-TEST.example'], signature: 'Team Seahawk' } });
    expect(edited.body.domains.map((d: any) => d.domain).sort()).toEqual([org.domain, 'seahawk-test.example'].sort());
    expect(edited.body.signature).toBe('Team Seahawk');
  });
});

describe('members', () => {
  it('lists the members for every role', async () => {
    const org = await newOrganization(db.sql);
    const list = await org.json('GET', '/api/members', { as: 'viewer' });
    expect(list.status).toBe(200);
    expect(list.body.data.map((m: any) => m.userId).sort()).toEqual(
      Object.values(org.users)
        .map((u) => u.id)
        .sort(),
    );
  });

  it('lets admins manage members below owner, and only owners touch owners', async () => {
    const org = await newOrganization(db.sql);
    const agent = await org.memberId('agent');
    const promoted = await org.json('PATCH', `/api/members/${agent}`, { as: 'admin', body: { role: 'manager' } });
    expect(promoted.body.role).toBe('manager');
    await org.json('PATCH', `/api/members/${agent}`, { as: 'admin', body: { role: 'agent' } });
    const toOwner = await org.json('PATCH', `/api/members/${agent}`, { as: 'admin', body: { role: 'owner' } });
    expect(toOwner.status).toBe(403);
    const demoteOwner = await org.json('PATCH', `/api/members/${await org.memberId('owner')}`, { as: 'admin', body: { role: 'agent' } });
    expect(demoteOwner.status).toBe(403);
    expect((await org.json('PATCH', `/api/members/${agent}`, { as: 'manager', body: { role: 'viewer' } })).status).toBe(403);
  });

  it('keeps the last owner: no demotion, disabling or removal, even by themselves', async () => {
    const org = await newOrganization(db.sql);
    const owner = await org.memberId('owner');
    for (const body of [{ role: 'admin' }, { status: 'disabled' }]) {
      const res = await org.json('PATCH', `/api/members/${owner}`, { as: 'owner', body });
      expect(res.status).toBe(409);
      expect(res.body.error.message).toContain('last owner');
    }
    expect((await org.json('DELETE', `/api/members/${owner}`, { as: 'owner' })).status).toBe(409);
    // With a second owner, the first may step down.
    const admin = await org.memberId('admin');
    expect((await org.json('PATCH', `/api/members/${admin}`, { as: 'owner', body: { role: 'owner' } })).body.role).toBe('owner');
    const [first, second] = await Promise.all([
      org.json('PATCH', `/api/members/${owner}`, { as: 'owner', body: { role: 'admin' } }),
      org.json('PATCH', `/api/members/${admin}`, { as: 'admin', body: { role: 'admin' } }),
    ]);
    // Two owners stepping down at once: exactly one wins, one owner remains.
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const [{ n }] = (await db.sql`select count(*)::int as n from app.members where org_id = ${org.id} and role = 'owner'`) as any;
    expect(n).toBe(1);
  });

  it('removes a member; they can no longer act for the organization', async () => {
    const org = await newOrganization(db.sql);
    const viewer = await org.memberId('viewer');
    expect((await org.json('DELETE', `/api/members/${viewer}`, { as: 'admin' })).status).toBe(204);
    expect((await org.json('GET', '/api/threads', { as: 'viewer' })).status).toBe(403);
    expect((await org.json('DELETE', `/api/members/${viewer}`, { as: 'admin' })).status).toBe(404);
  });
});

describe('teams', () => {
  it('creates, edits membership of and deletes a team', async () => {
    const org = await newOrganization(db.sql);
    const created = await org.json('POST', '/api/teams', { as: 'manager', body: { name: 'Road Freight', memberIds: [org.users.agent.id] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Road Freight', memberIds: [org.users.agent.id] });
    const bad = await org.json('PATCH', `/api/teams/${created.body.id}`, { as: 'manager', body: { memberIds: [SEED_USERS.other.id] } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toBe('body.memberIds.0');
    const edited = await org.json('PATCH', `/api/teams/${created.body.id}`, { as: 'manager', body: { memberIds: [org.users.manager.id] } });
    expect(edited.body.memberIds).toEqual([org.users.manager.id]);
    expect((await org.json('POST', '/api/teams', { as: 'manager', body: { name: 'Road Freight' } })).status).toBe(409);
    expect((await org.json('DELETE', `/api/teams/${created.body.id}`, { as: 'agent' })).status).toBe(403);
    expect((await org.json('DELETE', `/api/teams/${created.body.id}`, { as: 'manager' })).status).toBe(204);
  });
});
