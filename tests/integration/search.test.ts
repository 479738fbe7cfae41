// Search (issue 21): GET /api/search across message bodies and subjects, notes, contacts, customers,
// shipment references and documents, grouped by thread, highlighted, paged; identifiers in any written
// form; the inbox's q; the index column's fill (insert trigger, backfill) and the plan through the GIN index.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../lib/context.js';
import { canonicalIdentifiers, extractIdentifiersFromMessage } from '../../lib/logistics/identifiers.js';
import { searchBackfillBatch } from '../../lib/search/backfill.js';
import { search, searchQuery } from '../../lib/search/service.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

/** A word no other row holds. */
const word = () => `zq${randomUUID().replace(/-/g, '').slice(0, 10)}`;

interface MessageSpec {
  subject?: string;
  body?: string | null;
  html?: string;
  at?: string;
  channel?: string;
  status?: string;
}

/** A thread with messages stored as ingest stores them (identifiers read from the text). */
async function thread(o: TestOrg, messages: MessageSpec[], extra: { customerId?: string; contactId?: string; status?: string; channel?: string } = {}) {
  const subject = messages[0]?.subject ?? 'A thread';
  const [t] = await db.sql<{ id: string }[]>`
    insert into app.threads (org_id, subject, channel, customer_id, contact_id, status, resolved_at, last_activity_at)
    values (${o.id}, ${subject}, ${extra.channel ?? 'email'}, ${extra.customerId ?? null}, ${extra.contactId ?? null}, ${extra.status ?? 'open'},
      ${extra.status === 'resolved' ? new Date() : null}, ${messages[messages.length - 1]?.at ?? new Date().toISOString()})
    returning id`;
  const ids: string[] = [];
  for (const m of messages) {
    const identifiers = canonicalIdentifiers(extractIdentifiersFromMessage({ subject: m.subject, body: m.body ?? '' }));
    const [row] = await db.sql<{ id: string }[]>`
      insert into app.messages (org_id, thread_id, channel, direction, status, subject, body_text, body_html, identifiers, occurred_at)
      values (${o.id}, ${t!.id}, ${extra.channel ?? 'email'}, 'inbound', 'received', ${m.subject ?? subject}, ${m.body === undefined ? null : m.body},
        ${m.html ?? null}, ${identifiers}::text[], ${m.at ?? new Date().toISOString()})
      returning id`;
    ids.push(row!.id);
  }
  return { id: t!.id, messageIds: ids };
}

async function find(o: TestOrg, query: string, as: 'agent' | 'viewer' = 'agent') {
  const res = await o.json('GET', `/api/search?${query.includes('=') ? query : `q=${encodeURIComponent(query)}`}`, { as });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as {
    data: { thread: { id: string }; rank: number; hits: { type: string; id: string; snippet: string; identifiers: string[] }[] }[];
    nextCursor: string | null;
  };
}
const threadIds = (page: { data: { thread: { id: string } }[] }) => page.data.map((r) => r.thread.id);

describe('GET /api/search', () => {
  it('finds a container number or AWB in a body in any written form, and says which', async () => {
    const o = await newOrganization(db.sql);
    const box = await thread(o, [{ subject: 'Status update', body: 'Please track MSKU1234565, it was gated in yesterday.' }]);
    const air = await thread(o, [{ subject: 'Pre-alert', body: 'AWB 176-12345675 departs tonight.' }]);
    await thread(o, [{ subject: 'Other', body: 'Nothing about containers here' }]);
    for (const written of ['MSKU 123456-5', 'msku1234565', 'MSKU 123456 5']) {
      const page = await find(o, written);
      expect(threadIds(page), written).toEqual([box.id]);
      expect(page.data[0]!.hits[0]).toMatchObject({ type: 'message', id: box.messageIds[0], identifiers: ['MSKU1234565'] });
    }
    for (const written of ['176-12345675', '17612345675', '176 1234 5675']) {
      expect(threadIds(await find(o, written)), written).toEqual([air.id]);
    }
  });

  it('matches words as written or stemmed, phrases and or, and highlights only matched words, escaped', async () => {
    const o = await newOrganization(db.sql);
    const w = word();
    const stem = await thread(o, [{ subject: 'Schedule', body: `The ${w} containers were shipped <b>late</b> & rolled over.` }]);
    const phrase = await thread(o, [{ subject: `Docs ${w}`, body: 'Kindly send the bill of lading draft.' }]);
    const page = await find(o, `${w} container`);
    expect(threadIds(page)).toEqual([stem.id]);
    const snippet = page.data[0]!.hits[0]!.snippet;
    expect(snippet).toContain(`<mark>${w}</mark>`);
    expect(snippet).toContain('<mark>containers</mark>');
    // Markup in a plain-text body is not shown as such (ts_headline drops tags); the rest is escaped.
    expect(snippet).toContain('shipped late &amp; rolled');
    expect(threadIds(await find(o, `"bill of lading" ${w}`))).toEqual([phrase.id]);
    expect(threadIds(await find(o, `"lading of bill" ${w}`))).toEqual([]);
    expect(new Set(threadIds(await find(o, `${w} shipped or draft`)))).toEqual(new Set([stem.id, phrase.id]));
  });

  it('excludes a row holding an excluded word in either form; a query of exclusions only is a 422', async () => {
    const o = await newOrganization(db.sql);
    const w = word();
    const singular = await thread(o, [{ body: `${w} booking for one container` }]);
    const other = await thread(o, [{ body: `${w} booking for two pallets` }]);
    // "-containers" also excludes "container" (stemmed), and "-container" the plural.
    expect(threadIds(await find(o, `${w} -containers`))).toEqual([other.id]);
    expect(threadIds(await find(o, `${w} -"one container"`))).toEqual([other.id]);
    expect(new Set(threadIds(await find(o, `${w} -freight`)))).toEqual(new Set([singular.id, other.id]));
    const onlyExclusions = await o.json('GET', `/api/search?q=${encodeURIComponent('-container')}`);
    expect(onlyExclusions.status).toBe(422);
    expect(onlyExclusions.body.error.details.issues[0].path).toBe('query.q');
  });

  it('finds notes, contacts, customers, shipment references and documents, filtered by type', async () => {
    const o = await newOrganization(db.sql);
    const w = word();
    const person = `Karthik${w}`;
    const [customer] = await db.sql<{ id: string }[]>`insert into app.customers (org_id, name) values (${o.id}, ${`Tata ${w} Textiles`}) returning id`;
    const [contact] = await db.sql<{ id: string }[]>`
      insert into app.contacts (org_id, customer_id, name, email) values (${o.id}, ${customer!.id}, ${`${person} Iyer`}, ${`${w}@tata.example`}) returning id`;
    const byContact = await thread(o, [{ body: 'Hello' }], { contactId: contact!.id, customerId: customer!.id });
    const noted = await thread(o, [{ body: 'Hello again' }]);
    await db.sql`insert into app.notes (org_id, thread_id, body) values (${o.id}, ${noted.id}, ${`Called ${w} about the delay`})`;
    const reference = `JOB/${w.slice(2, 8).toUpperCase()}1`;
    const shipment = await o.json('POST', '/api/shipments', { body: { reference, mode: 'sea_fcl', containers: ['TGHU 876543 6'] } });
    expect(shipment.status).toBe(201);
    const linked = await thread(o, [{ body: 'Unrelated words' }]);
    await o.json('POST', `/api/shipments/${shipment.body.id}/threads`, { body: { threadId: linked.id } });
    const documented = await thread(o, [{ body: 'See attached' }]);
    await db.sql`insert into app.documents (org_id, thread_id, title) values (${o.id}, ${documented.id}, ${`Packing list ${w}`})`;

    const all = await find(o, w);
    const byType = Object.fromEntries(all.data.flatMap((r) => r.hits.map((h) => [h.type, r.thread.id])));
    expect(byType).toMatchObject({ note: noted.id, contact: byContact.id, customer: byContact.id, document: documented.id });
    expect(all.data.find((r) => r.thread.id === noted.id)!.hits[0]!.snippet).toContain(`<mark>${w}</mark>`);
    expect(threadIds(await find(o, `q=${w}&type=note`))).toEqual([noted.id]);
    expect(threadIds(await find(o, `q=${person}&type=contact`))).toEqual([byContact.id]);
    const ref = await find(o, 'tghu 876543-6');
    expect(threadIds(ref)).toEqual([linked.id]);
    expect(ref.data[0]!.hits[0]).toMatchObject({ type: 'shipment', id: shipment.body.id, snippet: reference.replace('/', '/'), identifiers: ['TGHU8765436'] });
    expect(threadIds(await find(o, `q=${encodeURIComponent(reference.toLowerCase())}&type=shipment`))).toEqual([linked.id]);
    // A document's read text (its pages) and its identifiers, as the document.read job stores them.
    const read = await thread(o, [{ body: 'Draft B/L attached' }]);
    const pages = [
      { page: 1, text: 'BILL OF LADING\nShipper: Tata Textiles', method: 'text' },
      { page: 2, text: `Marks and numbers: ${w}fumigated cartons\nContainer MRKU 263145 0`, method: 'ocr' },
    ];
    await db.sql`
      insert into app.documents (org_id, thread_id, title, pages, identifiers)
      values (${o.id}, ${read.id}, 'bl-draft.pdf', ${db.sql.json(pages as never)}, ${['MRKU2631450']}::text[])`;
    const byText = await find(o, `q=${w}fumigated&type=document`);
    expect(threadIds(byText)).toEqual([read.id]);
    expect(byText.data[0]!.hits[0]!.snippet).toContain(`<mark>${w}fumigated</mark>`);
    const byContainer = await find(o, `q=${encodeURIComponent('mrku 263145-0')}&type=document`);
    expect(threadIds(byContainer)).toEqual([read.id]);
    expect(byContainer.data[0]!.hits[0]).toMatchObject({ type: 'document', identifiers: ['MRKU2631450'] });
  });

  it('finds a renamed contact or customer by its new name only (their stored search vectors follow edits)', async () => {
    const o = await newOrganization(db.sql);
    const [before, after] = [word(), word()];
    const [customer] = await db.sql<{ id: string }[]>`insert into app.customers (org_id, name) values (${o.id}, ${`Freight ${before}`}) returning id`;
    const [contact] = await db.sql<{ id: string }[]>`
      insert into app.contacts (org_id, customer_id, name) values (${o.id}, ${customer!.id}, ${`Asha ${before}`}) returning id`;
    const t = await thread(o, [{ body: 'Hello' }], { contactId: contact!.id, customerId: customer!.id });
    const types = (page: Awaited<ReturnType<typeof find>>) => page.data.flatMap((r) => r.hits.map((h) => `${r.thread.id}:${h.type}`)).sort();
    expect(types(await find(o, before))).toEqual([`${t.id}:contact`, `${t.id}:customer`]);

    expect((await o.json('PATCH', `/api/contacts/${contact!.id}`, { body: { name: `Asha ${after}` }, as: 'admin' })).status).toBe(200);
    expect((await o.json('PATCH', `/api/customers/${customer!.id}`, { body: { name: `Freight ${after}` }, as: 'admin' })).status).toBe(200);
    expect((await find(o, before)).data).toEqual([]);
    const renamed = await find(o, after);
    expect(types(renamed)).toEqual([`${t.id}:contact`, `${t.id}:customer`]);
    expect(renamed.data[0]!.hits.map((h) => h.snippet).sort()).toEqual([`Asha <mark>${after}</mark>`, `Freight <mark>${after}</mark>`]);
  });

  it('filters by channel, status, customer and date range, and groups a thread’s hits', async () => {
    const o = await newOrganization(db.sql);
    const w = word();
    const [customer] = await db.sql<{ id: string }[]>`insert into app.customers (org_id, name) values (${o.id}, 'Filter Co') returning id`;
    const email = await thread(
      o,
      [
        { body: `${w} one`, at: '2026-01-10T10:00:00Z' },
        { body: `${w} two`, at: '2026-01-11T10:00:00Z' },
      ],
      { customerId: customer!.id },
    );
    const whatsapp = await thread(o, [{ body: `${w} three`, at: '2026-02-10T10:00:00Z' }], { channel: 'whatsapp' });
    const resolved = await thread(o, [{ body: `${w} four`, at: '2026-03-10T10:00:00Z' }], { status: 'resolved' });
    const spam = await thread(o, [{ body: `${w} five`, at: '2026-03-11T10:00:00Z' }], { status: 'spam' });

    const everything = await find(o, `q=${w}&sort=recent`);
    expect(threadIds(everything)).toEqual([resolved.id, whatsapp.id, email.id]);
    expect(everything.data[2]!.hits.map((h) => h.id).sort()).toEqual([...email.messageIds].sort());
    expect(threadIds(await find(o, `q=${w}&channel=whatsapp`))).toEqual([whatsapp.id]);
    expect(threadIds(await find(o, `q=${w}&status=resolved`))).toEqual([resolved.id]);
    expect(threadIds(await find(o, `q=${w}&status=spam`))).toEqual([spam.id]);
    expect(threadIds(await find(o, `q=${w}&customer=${customer!.id}`))).toEqual([email.id]);
    expect(threadIds(await find(o, `q=${w}&from=2026-02-01T00:00:00Z&to=2026-03-01T00:00:00Z`))).toEqual([whatsapp.id]);
    const bad = await o.json('GET', `/api/search?q=${w}&from=2026-03-01T00:00:00Z&to=2026-02-01T00:00:00Z&type=email`);
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['query.type.0']);
  });

  it('ranks by relevance among the latest matches and pages with the cursor, in both orders', async () => {
    const o = await newOrganization(db.sql);
    const w = word();
    const made: string[] = [];
    for (let i = 0; i < 5; i++)
      made.push((await thread(o, [{ subject: i === 2 ? `${w} in the subject` : 'Plain', body: `${w} ${'filler '.repeat(i * 20)}` }])).id);
    const first = await find(o, `q=${w}&limit=2`);
    expect(first.data[0]!.thread.id).toBe(made[2]);
    const seen = threadIds(first);
    let cursor = first.nextCursor;
    while (cursor) {
      const next = await find(o, `q=${w}&limit=2&cursor=${encodeURIComponent(cursor)}`);
      seen.push(...threadIds(next));
      cursor = next.nextCursor;
    }
    expect(seen.sort()).toEqual([...made].sort());
    const recent = await find(o, `q=${w}&limit=3&sort=recent`);
    const rest = await find(o, `q=${w}&limit=3&sort=recent&cursor=${encodeURIComponent(recent.nextCursor!)}`);
    expect([...threadIds(recent), ...threadIds(rest)].sort()).toEqual([...made].sort());
    const wrongCursor = await o.json('GET', `/api/search?q=${w}&sort=recent&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(wrongCursor.status).toBe(422);
  });

  it("never answers another organization's rows, and a viewer may search", async () => {
    const mine = await newOrganization(db.sql);
    const theirs = await newOrganization(db.sql);
    const w = word();
    const own = await thread(mine, [{ body: `${w} ours` }]);
    await thread(theirs, [{ body: `${w} theirs` }]);
    expect(threadIds(await find(mine, w, 'viewer'))).toEqual([own.id]);
  });

  it('stores a body over 1 MB and finds it by its beginning; an HTML-only body by its text, not its markup', async () => {
    const o = await newOrganization(db.sql);
    const w = word();
    const tail = word();
    const huge = `${w} starts here. ${'lorem-ipsum-dolor '.repeat(80_000)} ${tail}`;
    expect(huge.length).toBeGreaterThan(1_048_576);
    const big = await thread(o, [{ subject: 'Huge', body: huge }]);
    expect(threadIds(await find(o, w))).toEqual([big.id]);
    expect(threadIds(await find(o, tail))).toEqual([]);
    const [stored] = await db.sql<{ n: number }[]>`select length(body_text)::int as n from app.messages where id = ${big.messageIds[0]!}`;
    expect(stored!.n).toBe(huge.length);

    const html = await thread(o, [{ subject: 'Newsletter', body: null, html: `<style>.x{color:red}</style><p class="zqstyle">${w}&nbsp;rates</p>` }]);
    expect(threadIds(await find(o, `${w} rates`))).toEqual([html.id]);
    expect(threadIds(await find(o, 'zqstyle'))).toEqual([]);
  });

  it('backfills messages stored without a vector, and an admin can start it', async () => {
    const o = await newOrganization(db.sql);
    const w = word();
    const t = await thread(o, [{ body: `${w} stored before search` }, { body: `${w} also old` }]);
    await db.sql`update app.messages set search_vector = null where thread_id = ${t.id}`;
    expect(threadIds(await find(o, w))).toEqual([]);
    const started = await o.json('POST', '/api/admin/search-backfill', { as: 'admin' });
    expect(started.status).toBe(202);
    expect(started.body.missing).toBe(2);
    expect((await o.json('POST', '/api/admin/search-backfill', { as: 'agent' })).status).toBe(403);
    await asSystem(o.id, 'test', [], async (ctx) => {
      let after: string | null = null;
      let updated = 0;
      do {
        const r = await searchBackfillBatch(ctx, after, 1);
        updated += r.updated;
        after = r.next;
      } while (after);
      expect(updated).toBe(2);
    });
    expect(threadIds(await find(o, w))).toEqual([t.id]);
  });

  it('still searches when the planner runs the statement in parallel workers', async () => {
    const o = await newOrganization(db.sql);
    const w = word();
    const t = await thread(o, [{ body: `Fumigation ${w} certificate attached` }]);
    await db.sql`insert into app.notes (org_id, thread_id, body) values (${o.id}, ${t.id}, ${`Asked for ${w} again`})`;
    const [guc] = await db.sql<{ name: string }[]>`
      select name from pg_settings where name in ('debug_parallel_query', 'force_parallel_mode')`;
    const found = await asSystem(o.id, 'test', [], async (ctx) => {
      // Every statement that may go parallel does (on PGlite, which has no workers, the leader runs it).
      await ctx.sql`select set_config(${guc!.name}, 'on', true), set_config('parallel_setup_cost', '0', true),
        set_config('parallel_tuple_cost', '0', true), set_config('min_parallel_table_scan_size', '0', true)`;
      return search(ctx, searchQuery.parse({ q: w }));
    });
    expect(found.data.map((r) => r.thread.id)).toEqual([t.id]);
    expect(new Set(found.data[0]!.hits.map((h) => h.type))).toEqual(new Set(['message', 'note']));
  });

  it('reads the messages through the GIN indexes (the statement app.search_hits runs, planned as it plans it)', async () => {
    const o = await newOrganization(db.sql);
    const w = word();
    // Enough threads and messages that a rare word is worth an index: the planner's choice, not a forced one.
    await db.sql`
      with t as (insert into app.threads (org_id, subject) select ${o.id}, 'Bulk ' || i from generate_series(1, 300) i returning id)
      insert into app.messages (org_id, thread_id, channel, direction, status, body_text, occurred_at)
      select ${o.id}, t.id, 'email', 'inbound', 'received', 'routine container update number ' || i, now() - i * interval '1 minute'
      from t cross join generate_series(1, 10) i`;
    await thread(o, [{ body: `${w} MSKU1234565` }]);
    await db.sql`vacuum analyze app.threads, app.messages`;
    const plan = async (query: string, ids: string[]) =>
      (
        await db.sql<{ line: string }[]>`
          select p as line from app.search_hits_plan(${o.id}, app.search_query(${query}, '{}'), ${ids}::text[], '{message}', null, null, null, null, null, 500) p`
      )
        .map((r) => r.line)
        .join('\n');
    expect(await plan(w, [])).toMatch(/Bitmap Index Scan on messages_search_idx/);
    expect(await plan('', ['MSKU1234565'])).toMatch(/Bitmap Index Scan on messages_identifiers_idx/);
  });
});

describe('GET /api/threads?q=', () => {
  it('finds threads by what their messages say, not only by subject', async () => {
    const o = await newOrganization(db.sql);
    const w = word();
    const body = await thread(o, [{ subject: 'Nothing in the subject', body: `Container ${w} is on hold` }]);
    const subject = await thread(o, [{ subject: `Re: ${w}-2026 quote`, body: 'Body' }]);
    await thread(o, [{ subject: 'Unrelated', body: 'Unrelated' }]);
    const res = await o.json('GET', `/api/threads?q=${w}`);
    expect(res.status).toBe(200);
    expect(new Set(res.body.data.map((t: { id: string }) => t.id))).toEqual(new Set([body.id, subject.id]));
    const box = await thread(o, [{ subject: 'Box', body: 'Status of MSKU1234565 please' }]);
    const byRef = await o.json('GET', `/api/threads?q=${encodeURIComponent('MSKU 123456-5')}`);
    expect(byRef.body.data.map((t: { id: string }) => t.id)).toEqual([box.id]);
  });
});
