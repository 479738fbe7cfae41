// Search across the mailbox: message bodies and subjects, notes, contacts, customers, shipment
// references and documents' text, grouped by thread. The database finds the hits through
// app.search_hits (security definer, so the GIN indexes serve it: see migration 20261206030000);
// this module ranks and groups them, pages through the threads and highlights the page.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { csvList, decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { invalid } from '../errors.js';
import { threadSelect, CHANNELS, THREAD_STATUSES, type Thread } from '../threads/service.js';
import { HIT_TYPES, hitsOf, SEARCH_CANDIDATES, type HitType } from './hits.js';
import { parseSearch, type ParsedSearch } from './query.js';

export { HIT_TYPES, SEARCH_CANDIDATES, type HitType };

/** Hits shown per thread, the best first. */
const HITS_PER_THREAD = 3;
/** Characters of a body that highlighting reads (the match of a longer body shows its start). */
const HEADLINE_CHARS = 65536;

export const searchQuery = z
  .object({
    ...pageQuery,
    q: z.string().trim().min(1).max(200),
    type: csvList(z.enum(HIT_TYPES)),
    channel: csvList(z.enum(CHANNELS)),
    status: csvList(z.enum(THREAD_STATUSES)),
    customer: z.uuid().optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    /** `relevance` (default): the best-ranked threads among the latest matches; `recent`: the latest match first. */
    sort: z.enum(['relevance', 'recent']).default('relevance'),
  })
  .refine((v) => !v.from || !v.to || v.from < v.to, { path: ['to'], message: 'must be after from' });
export type SearchQuery = z.infer<typeof searchQuery>;

export interface SearchHit {
  type: HitType;
  id: string;
  at: Date;
  /** HTML-escaped text with <mark> around the matched words. */
  snippet: string;
  /** The freight identifiers of the query this hit carries (canonical). */
  identifiers: string[];
}

export interface SearchResult {
  thread: Thread;
  rank: number;
  matchedAt: Date;
  hits: SearchHit[];
}

const cursorShape = z.union([z.tuple([z.number(), z.iso.datetime({ offset: true }), z.uuid()]), z.tuple([z.iso.datetime({ offset: true }), z.uuid()])]);

/** Parses a query; a query with nothing to look for (only exclusions) is a 422 naming `field`. */
export function searchTerms(text: string, field = 'query.q'): ParsedSearch {
  const parsed = parseSearch(text);
  if (!parsed.positive.trim() && parsed.identifiers.length === 0) throw invalid(field, 'needs a word, phrase or reference to find, not only exclusions');
  return parsed;
}

/** GET /api/search: threads with hits, the best first (or the latest), each with its best hits highlighted. */
export async function search(ctx: Ctx, q: SearchQuery): Promise<{ data: SearchResult[]; nextCursor: string | null }> {
  const sql = ctx.sql;
  const terms = searchTerms(q.q);
  const after = decodeCursor(q.cursor, cursorShape);
  const byRank = q.sort === 'relevance';
  if (after && after.length !== (byRank ? 3 : 2)) throw invalid('query.cursor', 'is not a cursor this list issued');
  const filters = { types: q.type, channels: q.channel, statuses: q.status, customer: q.customer, from: q.from, to: q.to };
  const cursor = !after
    ? sql``
    : byRank
      ? sql`and (g.rank, g.matched_at, g.thread_id) < (${after[0] as number}::real, ${after[1] as string}::timestamptz, ${after[2] as string}::uuid)`
      : sql`and (g.matched_at, g.thread_id) < (${after[0] as string}::timestamptz, ${after[1] as string}::uuid)`;
  const rows = await sql<(Thread & { searchRank: number; matchedAtExact: string; matchedAt: Date; topHits: { kind: HitType; id: string; at: string }[] })[]>`
    with hits as (${hitsOf(ctx, terms, filters, SEARCH_CANDIDATES)}),
    g as (
      select h.thread_id, max(h.rank) as rank, max(h.at) as matched_at,
        to_json((array_agg(json_build_object('kind', h.kind, 'id', h.hit_id, 'at', h.at) order by h.rank desc, h.at desc))[1:${HITS_PER_THREAD}]) as top_hits
      from hits h group by h.thread_id
    )
    ${threadSelect(ctx, sql`, g.rank as search_rank, g.matched_at, ${exactInstant(sql, 'g.matched_at', 'matched_at_exact')}, g.top_hits`)}
    join g on g.thread_id = t.id
    where t.org_id = ${ctx.orgId} ${cursor}
    order by ${byRank ? sql`g.rank desc, g.matched_at desc, g.thread_id desc` : sql`g.matched_at desc, g.thread_id desc`}
    limit ${q.limit + 1}`;
  const page = toPage(rows, q.limit, (r) => (byRank ? [r.searchRank, r.matchedAtExact, r.id] : [r.matchedAtExact, r.id]));
  const snippets = await highlight(
    ctx,
    terms,
    page.data.flatMap((r) => r.topHits),
  );
  return {
    nextCursor: page.nextCursor,
    data: page.data.map(({ searchRank, matchedAt, matchedAtExact: _m, topHits, ...thread }) => ({
      thread: thread as Thread,
      rank: searchRank,
      matchedAt,
      hits: topHits.map((h) => ({ type: h.kind, id: h.id, at: new Date(h.at), ...(snippets.get(`${h.kind}:${h.id}`) ?? { snippet: '', identifiers: [] }) })),
    })),
  };
}

// Private-use characters mark the matches inside ts_headline's output, so that everything else can be
// escaped: a message body is never HTML the client should render.
const START = '\uE000';
const STOP = '\uE001';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function marked(text: string): string {
  return escapeHtml(text.replace(/\s+/g, ' ').trim()).replaceAll(START, '<mark>').replaceAll(STOP, '</mark>');
}

/**
 * Snippets of the page's hits only (ts_headline reads the text again: never for every match), from
 * the tables of the kinds on the page (a page of message hits plans one branch, not six).
 */
async function highlight(ctx: Ctx, terms: ParsedSearch, hits: { kind: HitType; id: string }[]) {
  const out = new Map<string, { snippet: string; identifiers: string[] }>();
  if (!hits.length) return out;
  const sql = ctx.sql;
  const options = `StartSel=${START}, StopSel=${STOP}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`;
  const ids = (kind: HitType) => hits.filter((h) => h.kind === kind).map((h) => h.id);
  const held = (column: string) => sql`array(select i from unnest(${sql.unsafe(column)}) i where i = any(${terms.identifiers}::text[]))`;
  const headline = (text: ReturnType<typeof sql>) => sql`ts_headline('english', ${text}, q.q, ${options})`;
  const branches: Record<HitType, (ids: string[]) => ReturnType<typeof sql>> = {
    message: (ids) => sql`
      select 'message' as kind, m.id, case when q.q is null then m.snippet
          else ${headline(sql`left(concat_ws(E'\n', m.subject, coalesce(m.body_text, app.html_text(m.body_html)), m.transcript), ${HEADLINE_CHARS})`)} end as text,
        ${held('m.identifiers')} as identifiers
      from app.messages m cross join q where m.id = any(${ids}::uuid[])`,
    note: (ids) => sql`
      select 'note' as kind, n.id, ${headline(sql`n.body`)} as text, null::text[] as identifiers from app.notes n cross join q where n.id = any(${ids}::uuid[]) and q.q is not null`,
    contact: (ids) => sql`
      select 'contact' as kind, k.id, ${headline(sql`concat_ws(' · ', k.name, k.email, k.phone, k.designation)`)} as text, null::text[] as identifiers
      from app.contacts k cross join q where k.id = any(${ids}::uuid[]) and q.q is not null`,
    customer: (ids) => sql`
      select 'customer' as kind, c.id, ${headline(sql`concat_ws(' · ', c.name, c.city)`)} as text, null::text[] as identifiers
      from app.customers c cross join q where c.id = any(${ids}::uuid[]) and q.q is not null`,
    shipment: (ids) => sql`
      select 'shipment' as kind, s.id, s.reference as text, ${held('s.identifiers')} as identifiers from app.shipments s where s.id = any(${ids}::uuid[])`,
    document: (ids) => sql`
      select 'document' as kind, d.id, case when q.q is null then d.title
          else ${headline(sql`left(concat_ws(E'\n', d.title, app.document_text(d.pages)), ${HEADLINE_CHARS})`)} end as text,
        ${held('d.identifiers')} as identifiers
      from app.documents d cross join q where d.id = any(${ids}::uuid[])`,
  };
  const parts = HIT_TYPES.filter((kind) => ids(kind).length > 0).map((kind) => branches[kind](ids(kind)));
  const rows = await sql<{ kind: HitType; id: string; text: string | null; identifiers: string[] | null }[]>`
    with q as (select app.search_query(${terms.positive}, ${terms.negatives}::text[]) as q)
    ${parts.reduce((all, part) => sql`${all} union all ${part}`)}`;
  for (const r of rows) out.set(`${r.kind}:${r.id}`, { snippet: marked(r.text ?? ''), identifiers: r.identifiers ?? [] });
  return out;
}
