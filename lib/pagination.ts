// Cursor pagination: an opaque cursor (base64url JSON of the sort key of the last row) and a capped
// limit; every list answers { data, nextCursor }.
import * as z from 'zod';
import type { Tx } from './db/client.js';
import { invalid } from './errors.js';

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
};

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export function encodeCursor(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Decodes a cursor into its sort key, validated against the list's key shape. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, shape: S): z.infer<S> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = shape.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  throw invalid('query.cursor', 'is not a cursor this list issued');
}

/** Rows were fetched with limit + 1: trims the extra row and builds the next cursor from the last. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => readonly unknown[]): Page<T> {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, nextCursor: more && last ? encodeCursor(keyOf(last)) : null };
}

/** `a,b` or repeated `?x=a&x=b` into a list. */
export const csvList = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      v === undefined
        ? undefined
        : (Array.isArray(v) ? v : [v])
            .flatMap((s) => String(s).split(','))
            .map((s) => s.trim())
            .filter(Boolean),
    z.array(item).min(1).optional(),
  );

export const booleanQuery = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * A timestamp column as microsecond-exact UTC text, selected `as <alias>` for a cursor. A cursor made
 * from a JavaScript Date keeps only milliseconds, so rows stamped within one millisecond would be
 * skipped or repeated at a page boundary.
 */
export const exactInstant = (sql: Tx, column: string, alias: string) =>
  sql`to_char(${sql.unsafe(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as ${sql.unsafe(alias)}`;
