// Database-level findings of the security audit, on real PostgreSQL: what a database session as
// `authenticated` (as Supabase's Realtime and Data API open them) can and cannot reach.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClaims, withClaims, type Claims } from '../../lib/db/client.js';
import { SECOND_ORG_ID, SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const member = (user: keyof typeof SEED_USERS, org = SEED_ORG_ID): Claims => ({ sub: SEED_USERS[user].id, role: 'authenticated', org_id: org });

describe('realtime.messages', () => {
  it('shows a member only the rows of the topic they joined, never other topics they cannot join', async () => {
    await withClaims(systemClaims(SECOND_ORG_ID), (sql) => sql`select app.emit(${`org:${SECOND_ORG_ID}`}, 'customer.created', '{"secret":"second org"}'::jsonb)`);
    await withClaims(member('other', SECOND_ORG_ID), (sql) => sql`select app.emit(${`user:${SEED_USERS.other.id}`}, 'notification.created', '{"secret":"lena"}'::jsonb)`);
    await withClaims(member('agent'), (sql) => sql`select app.emit(${`org:${SEED_ORG_ID}`}, 'customer.created', '{"n":1}'::jsonb)`);
    await withClaims(member('agent'), (sql) => sql`select app.emit(${`user:${SEED_USERS.agent.id}`}, 'notification.created', '{"n":2}'::jsonb)`);

    // As Realtime joins a channel: the user's claims (no organization), realtime.topic set, and then
    // a select that forgets to filter by topic.
    const visible = (user: keyof typeof SEED_USERS, topic: string) =>
      db.sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: SEED_USERS[user].id, role: 'authenticated' })}, true),
                        set_config('realtime.topic', ${topic}, true), set_config('role', 'authenticated', true)`;
        return tx<{ topic: string }[]>`select distinct topic from realtime.messages`;
      });
    // multi belongs to both organizations: joining the first org's topic shows that topic only.
    expect((await visible('multi', `org:${SEED_ORG_ID}`)).map((r) => r.topic)).toEqual([`org:${SEED_ORG_ID}`]);
    expect((await visible('multi', `org:${SECOND_ORG_ID}`)).map((r) => r.topic)).toEqual([`org:${SECOND_ORG_ID}`]);
    expect((await visible('agent', `user:${SEED_USERS.agent.id}`)).map((r) => r.topic)).toEqual([`user:${SEED_USERS.agent.id}`]);
    expect(await visible('agent', `org:${SECOND_ORG_ID}`)).toEqual([]);
  });
});
