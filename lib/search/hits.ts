// The hits of a search, found by app.search_hits (security definer: the GIN indexes serve it, see
// migration 20261206030000), and what the inbox's q needs from them. Apart from lib/search/service.ts
// so that lib/threads can use it without a cycle.
import type { Ctx } from '../context.js';
import { parseSearch, type ParsedSearch } from './query.js';

/** What a hit is: a message (text or a freight identifier), a note, the thread's contact or customer, a linked shipment, a document. */
export const HIT_TYPES = ['message', 'note', 'contact', 'customer', 'shipment', 'document'] as const;
export type HitType = (typeof HIT_TYPES)[number];

/**
 * Matches of each kind considered, the latest first: threads are ranked by relevance among these,
 * never among every message holding a common word.
 */
export const SEARCH_CANDIDATES = 500;

export interface HitFilters {
  types?: readonly HitType[];
  channels?: readonly string[];
  statuses?: readonly string[];
  customer?: string;
  from?: string;
  to?: string;
}

/**
 * The arguments app.search_hits and app.search_page begin with: the query built by app.search_query
 * (one rule for both engines), its identifiers, the filters and the candidates per kind.
 */
export function searchArguments(sql: Ctx['sql'], terms: ParsedSearch, filters: HitFilters, cap: number) {
  return sql`app.search_query(${terms.positive}, ${terms.negatives}::text[]), ${terms.identifiers}::text[],
      ${(filters.types as string[] | undefined) ?? null}::text[], ${(filters.channels as string[] | undefined) ?? null}::text[],
      ${(filters.statuses as string[] | undefined) ?? null}::text[], ${filters.customer ?? null}::uuid,
      ${filters.from ?? null}::timestamptz, ${filters.to ?? null}::timestamptz, ${cap}::int`;
}

/**
 * The threads a text search finds, for the inbox's `q` (GET /api/threads): their ids among the latest
 * matches of each kind, and whether that is all of them (no kind reached the candidate limit).
 */
export async function matchingThreadIds(
  ctx: Ctx,
  text: string,
  types: readonly HitType[] = HIT_TYPES,
  cap = SEARCH_CANDIDATES,
): Promise<{ ids: string[]; complete: boolean; terms: ParsedSearch } | null> {
  const terms = parseSearch(text);
  if (!terms.positive.trim() && terms.identifiers.length === 0) return null;
  const rows = await ctx.sql<{ threadId: string; kind: string; n: number }[]>`
    select h.thread_id, h.kind, count(*) over (partition by h.kind)::int as n from app.search_hits(${searchArguments(ctx.sql, terms, { types }, cap)}) h`;
  return {
    ids: [...new Set(rows.map((r) => r.threadId))],
    complete: rows.every((r) => r.n < cap),
    terms,
  };
}
