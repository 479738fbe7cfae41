// Building blocks of the API's response schemas in wire form: what a client reads after JSON.parse, so
// instants are ISO 8601 strings (JSON.stringify writes a Date as `2026-12-05T10:00:00.000Z`; PostgreSQL's
// JSON functions write `2026-12-05T10:00:00.123456+00:00`), never Date objects. The entity schemas live
// beside their domain (lib/threads/wire.ts ...); routes declare them per status (route({ responses })),
// tests validate every response against them, and an OpenAPI document can be generated from them
// (z.toJSONSchema; the entities carry `.meta({ id })`, so they become named components).
import * as z from 'zod';

/** An instant as JSON carries it. */
export const wireInstant = z.iso.datetime({ offset: true });

/**
 * An id as the database holds it: any 8-4-4-4-12 hex uuid (ids the application makes are v4, but the
 * column takes any uuid, and an answer must not fail on a row imported with another kind).
 */
export const wireId = z.guid();

/** One page of a cursor-paginated list: `{ data, nextCursor }` (see lib/pagination.ts). */
export const pageOf = <T extends z.ZodType>(item: T) => z.strictObject({ data: z.array(item), nextCursor: z.string().nullable() });

/** A page of changes since a sync position (`updatedSince`, lib/sync.ts): rows changed, rows gone, and where to resume. */
export const syncPageOf = <T extends z.ZodType>(item: T) =>
  z.strictObject({
    data: z.array(item),
    deleted: z.array(z.strictObject({ id: wireId, deletedAt: wireInstant })),
    nextCursor: z.string().nullable(),
    syncCursor: z.string().nullable(),
  });

/** A list that also syncs: a page, or with `updatedSince` (or a sync cursor) a page of changes. */
export const listOrSyncOf = <T extends z.ZodType>(item: T) => z.union([pageOf(item), syncPageOf(item)]);
