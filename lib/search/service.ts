// Search across the mailbox: message bodies and subjects, notes, contacts, customers, shipment
// references and documents' text, grouped by thread. The database finds the hits through
// app.search_hits (security definer, so the GIN indexes serve it: see migration 20261206030000), and
// app.search_page ranks and groups them into a page of threads and highlights the page's hits
// (20261208000300); this module reads the page's threads and escapes the snippets.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { csvList, decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { invalid } from '../errors.js';
import { threadItemColumns, CHANNELS, THREAD_STATUSES, type Thread } from '../threads/service.js';
import { HIT_TYPES, SEARCH_CANDIDATES, searchArguments, type HitType } from './hits.js';
import { parseSearch, type ParsedSearch } from './query.js';

export { HIT_TYPES, SEARCH_CANDIDATES, type HitType };

/** Hits shown per thread, the best first. */
const HITS_PER_THREAD = 3;

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
  const [afterRank, afterAt, afterId] = !after ? [null, null, null] : byRank ? after : [null, ...after];
  // app.search_page ranks, pages and highlights, and reads the page's threads with their customer and
  // the caller's read row (migration 20261208000300): named t, c and r here, a list item's columns read them.
  const filters = { types: q.type, channels: q.channel, statuses: q.status, customer: q.customer, from: q.from, to: q.to };
  const rows = await sql<(Thread & { searchRank: number; matchedAtExact: string; matchedAt: Date; hits: PageHit[] | null })[]>`
    select ${threadItemColumns(sql)}, p.rank as search_rank, p.matched_at, ${exactInstant(sql, 'p.matched_at', 'matched_at_exact')}, p.hits
    from app.search_page(${searchArguments(sql, terms, filters, SEARCH_CANDIDATES)},
      ${byRank}, ${afterRank as number | null}::real, ${afterAt as string | null}::timestamptz, ${afterId as string | null}::uuid,
      ${q.limit}::int, ${HITS_PER_THREAD}::int) with ordinality as p (rank, matched_at, hits, thread, customer_name, last_read_at, n)
    cross join lateral (select (p.thread).*) t
    cross join lateral (select p.customer_name as name) c
    cross join lateral (select p.last_read_at) r
    order by p.n`;
  const page = toPage(rows, q.limit, (r) => (byRank ? [r.searchRank, r.matchedAtExact, r.id] : [r.matchedAtExact, r.id]));
  return {
    nextCursor: page.nextCursor,
    data: page.data.map(({ searchRank, matchedAt, matchedAtExact: _m, hits, ...thread }) => ({
      thread: thread as Thread,
      rank: searchRank,
      matchedAt,
      hits: (hits ?? []).map((h) => ({ type: h.kind, id: h.id, at: new Date(h.at), snippet: marked(h.text ?? ''), identifiers: h.identifiers ?? [] })),
    })),
  };
}

/** A hit as app.search_page gives it: its text highlighted between START and STOP. */
interface PageHit {
  kind: HitType;
  id: string;
  at: string;
  text?: string | null;
  identifiers?: string[] | null;
}

// Private-use characters mark the matches inside ts_headline's output (app.search_page's StartSel and
// StopSel, chr(57344) and chr(57345)), so that everything else can be escaped: a message body is never
// HTML the client should render.
const START = '\uE000';
const STOP = '\uE001';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function marked(text: string): string {
  return escapeHtml(text.replace(/\s+/g, ' ').trim()).replaceAll(START, '<mark>').replaceAll(STOP, '</mark>');
}
