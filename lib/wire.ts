// Building blocks of the API's response schemas in wire form: what a client reads after JSON.parse, so
// instants are ISO 8601 strings (JSON.stringify writes a Date as `2026-12-05T10:00:00.000Z`; PostgreSQL's
// JSON functions write `2026-12-05T10:00:00.123456+00:00`), never Date objects. The entity schemas live
// beside their domain (lib/threads/wire.ts ...); routes declare them per status (route({ responses })),
// tests validate every response against them, and an OpenAPI document can be generated from them.
import * as z from 'zod';

/** An instant as JSON carries it. */
export const wireInstant = z.iso.datetime({ offset: true });

export const wireId = z.uuid();

/** One page of a cursor-paginated list: `{ data, nextCursor }` (see lib/pagination.ts). */
export const pageOf = <T extends z.ZodType>(item: T) => z.strictObject({ data: z.array(item), nextCursor: z.string().nullable() });
