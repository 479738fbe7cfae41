// What input may hold, in one place. zod 4 runs an object's refinements even after one of its fields failed, with
// the raw input in that field (a string where a Date was expected: `getTime is not a function`, a
// 500). Cross-field checks therefore run only when every field parsed; the field errors answer first.
// And no NUL character reaches PostgreSQL, whose text and jsonb refuse it: API input holding one is a
// 422 naming the field, what providers send is stored without them.
import type * as z from 'zod';

export const whenFieldsValid = { when: (payload: z.core.ParsePayload) => payload.issues.length === 0 };

/** Where a JSON value holds a NUL character (in a string or a key), as a dotted path; undefined when nowhere. */
export function nulPath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${path}.${i}`);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) return `${path}.${k.replace(/\u0000/g, '\\u0000')}`;
      const found = nulPath(v, `${path}.${k}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The value without NUL characters (PostgreSQL's text and jsonb cannot hold them), the same object
 * when it had none. For what outside services send us, which must be stored, not refused.
 */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\u0000') ? value.replace(/\u0000/g, '') : value) as T;
  if (Array.isArray(value)) {
    const next = value.map(withoutNul);
    return (next.some((v, i) => v !== value[i]) ? next : value) as T;
  }
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    let changed = false;
    const next: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = withoutNul(k);
      next[key] = withoutNul(v);
      if (key !== k || next[key] !== v) changed = true;
    }
    return (changed ? next : value) as T;
  }
  return value;
}
