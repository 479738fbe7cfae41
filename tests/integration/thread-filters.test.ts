// The inbox list's tag and subject filters (lib/threads/service.ts). Tags are matched on
// app.thread_tags, which a trigger keeps from threads.tags. A subject search takes one of two paths:
// up to SUBJECT_MATCH_CAP matches the page is read among the ids app.thread_ids_by_subject found
// through the trigram index; beyond it the inbox is walked in order. Every path must answer exactly
// what the filters say, page after page, and only ever for the caller's organization.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECOND_ORG_ID, SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { actAsMember } from '../../lib/http/route.js';
import { SUBJECT_MATCH_CAP } from '../../lib/threads/service.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

/** Every page of a list view, followed by cursor. */
async function allPages(query: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const res: { status: number; body: { data: { id: string }[]; nextCursor: string | null } } = await json(
      'GET',
      `/api/threads?limit=100&${query}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(res.status).toBe(200);
    ids.push(...res.body.data.map((t) => t.id));
    cursor = res.body.nextCursor;
    if (!cursor) return ids;
  }
  throw new Error('more than 50 pages');
}

/** The same filter in SQL as the tables' owner: the expected answer, in the list's order. */
async function expected(where: (t: string) => string): Promise<string[]> {
  const rows = await db.sql.unsafe<{ id: string }[]>(
    `select t.id from app.threads t where t.org_id = '${SEED_ORG_ID}' and ${where('t')} order by t.last_activity_at desc, t.id desc`,
  );
  return rows.map((r) => r.id);
}

describe('inbox list: tag and subject filters', () => {
  // Names of this test's own: no other row carries them.
  const run = randomUUID().slice(0, 8);
  const common = `common-${run}`;
  const rare = `rare-${run}`;
  const word = `zanzibar${run}`;
  const rareWord = `kigali${run}`;

  beforeAll(async () => {
    // More threads than SUBJECT_MATCH_CAP with the common tag and word, every third one high priority;
    // three with the rare tag and word (one of them also common); the same rare ones in another
    // organization, which must never show.
    await db.sql`
      insert into app.threads (org_id, subject, normalized_subject, priority, tags, last_activity_at)
      select ${SEED_ORG_ID}, s.subject, lower(s.subject), case when n % 3 = 0 then 'high' else 'normal' end,
        array[${common}]::text[], now() - n * interval '1 minute' - (n % 7) * interval '1 second'
      from generate_series(1, ${SUBJECT_MATCH_CAP + 20}) n
      cross join lateral (select 'Booking ' || n || ' via ' || ${word} || ' port' as subject) s`;
    await db.sql`
      insert into app.threads (org_id, subject, normalized_subject, tags, last_activity_at) values
        (${SEED_ORG_ID}, ${`Customs hold at ${rareWord}`}, ${`customs hold at ${rareWord}`}, array[${rare}]::text[], now() - interval '3 hours'),
        (${SEED_ORG_ID}, ${`Truck to ${rareWord} and ${word}`}, ${`truck to ${rareWord} and ${word}`}, array[${rare}, ${common}]::text[], now() - interval '2 days'),
        (${SEED_ORG_ID}, ${`${rareWord.toUpperCase()} rates`}, ${`${rareWord} rates`}, array[${rare}]::text[], now() - interval '40 days'),
        (${SECOND_ORG_ID}, ${`Northstar ${rareWord}`}, ${`northstar ${rareWord}`}, array[${rare}, ${common}]::text[], now()),
        (${SECOND_ORG_ID}, ${`Northstar ${word}`}, ${`northstar ${word}`}, array[${rare}]::text[], now())`;
  });

  it('lists a rare tag or word, in order, for the caller organization only', async () => {
    const rareTag = await expected((t) => `${t}.tags @> array['${rare}']`);
    expect(rareTag).toHaveLength(3);
    expect(await allPages(`tag=${rare}`)).toEqual(rareTag);
    const rareSubject = await expected((t) => `${t}.subject ilike '%${rareWord}%'`);
    expect(rareSubject).toHaveLength(3);
    expect(await allPages(`q=${rareWord.toUpperCase()}`)).toEqual(rareSubject);
    // A comma means any of, as in every list filter; tags_all means all of them.
    expect(await allPages(`tag=${rare},${common}`)).toEqual(await expected((t) => `${t}.tags && array['${rare}', '${common}']`));
    expect(await allPages(`tags_all=${rare},${common}`)).toEqual(await expected((t) => `${t}.tags @> array['${rare}', '${common}']`));
    expect(await allPages(`tag=${rare}&tags_all=${common}`)).toEqual(await expected((t) => `${t}.tags @> array['${rare}', '${common}']`));
    expect(await allPages(`tag=${common}&q=${rareWord}`)).toHaveLength(1);
    expect((await json('GET', `/api/threads?tag=${rare}&q=nothing-like-this`)).body).toEqual({ data: [], nextCursor: null });
  });

  it(`lists a common tag, and a word on more than ${SUBJECT_MATCH_CAP} threads, in order`, async () => {
    const commonTag = await expected((t) => `${t}.tags @> array['${common}']`);
    expect(commonTag.length).toBeGreaterThan(SUBJECT_MATCH_CAP);
    expect(await allPages(`tag=${common}`)).toEqual(commonTag);
    expect(await allPages(`q=${word}`)).toEqual(await expected((t) => `${t}.subject ilike '%${word}%'`));
    expect(await allPages(`tag=${common}&priority=high`)).toEqual(await expected((t) => `${t}.tags @> array['${common}'] and ${t}.priority = 'high'`));
    expect(await allPages(`tag=${common}&q=${word}&priority=normal`)).toEqual(
      await expected((t) => `${t}.tags @> array['${common}'] and ${t}.subject ilike '%${word}%' and ${t}.priority = 'normal'`),
    );
  });

  it('finds subject matches through app.thread_ids_by_subject only for an active member, in the acting organization', async () => {
    const found = (userId: string) =>
      db.sql.begin(async (tx) => {
        await actAsMember(tx, { userId }, null, false);
        const [row] = await tx<{ ids: string[] }[]>`select app.thread_ids_by_subject(${`%${rareWord}%`}, 100) as ids`;
        return row!.ids.length;
      });
    expect(await found(SEED_USERS.agent.id)).toBe(3);
    expect(await found(SEED_USERS.other.id)).toBe(1);
    // Claims naming an organization the user does not belong to: nothing, as the policies would answer.
    const forged = await db.sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: SEED_USERS.other.id, role: 'authenticated', org_id: SEED_ORG_ID })}, true),
        set_config('role', 'authenticated', true)`;
      const [row] = await tx<{ ids: string[] }[]>`select app.thread_ids_by_subject(${`%${rareWord}%`}, 100) as ids`;
      return row!.ids;
    });
    expect(forged).toEqual([]);
  });

  it("keeps app.thread_tags equal to the threads' tags through creates, edits and deletes", async () => {
    const tagged = `tagged-${run}`;
    const created = await json('POST', '/api/threads', { body: { subject: `Tag sync ${run}`, tags: [tagged, 'Sync-One'] } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const listed = async (tag: string) => (await allPages(`tag=${tag}`)).includes(id);
    expect(await listed(tagged)).toBe(true);
    expect(await listed('sync-one')).toBe(true);
    expect((await json('PATCH', `/api/threads/${id}`, { body: { tags: [tagged, 'sync-two', 'sync-two'] } })).status).toBe(200);
    expect(await listed('sync-one')).toBe(false);
    expect(await listed('sync-two')).toBe(true);
    await db.sql`update app.threads set tags = '{}' where id = ${id}`;
    expect(await listed(tagged)).toBe(false);
    await db.sql`update app.threads set tags = array[${tagged}] where id = ${id}`;
    expect(await listed(tagged)).toBe(true);
    // Across the whole database (every test's threads and the seed): one row per distinct tag of each thread.
    const [drift] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from (
        (select t.org_id, t.id, x from app.threads t cross join lateral unnest(t.tags) x
         except select g.org_id, g.thread_id, g.tag from app.thread_tags g)
        union all
        (select g.org_id, g.thread_id, g.tag from app.thread_tags g
         except select t.org_id, t.id, x from app.threads t cross join lateral unnest(t.tags) x)) d`;
    expect(drift!.n).toBe(0);
    await db.sql`delete from app.threads where id = ${id}`;
    const [left] = await db.sql<{ n: number }[]>`select count(*)::int as n from app.thread_tags where thread_id = ${id}`;
    expect(left!.n).toBe(0);
  });

  it('refuses more than ten tags in one filter, naming the field', async () => {
    const res = await json('GET', `/api/threads?tag=${Array.from({ length: 11 }, (_, i) => `t${i}`).join(',')}`);
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(['query.tag']);
  });
});

describe('inbox paging', () => {
  it('pages through threads active within one millisecond without skipping or repeating one', async () => {
    const tag = `ms-${randomUUID().slice(0, 8)}`;
    const made: string[] = [];
    for (const us of ['401', '402', '403', '404']) {
      const [t] = await db.sql<{ id: string }[]>`
        insert into app.threads (org_id, subject, channel, tags, last_activity_at)
        values (${SEED_ORG_ID}, ${`Same millisecond ${us}`}, 'email', ${[tag]}, ${`2026-12-01T10:00:00.123${us}Z`}::timestamptz) returning id`;
      made.push(t!.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await json('GET', `/api/threads?tag=${tag}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((t: any) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor && seen.length < 10);
    expect(seen).toEqual([...made].reverse());
  });
});
