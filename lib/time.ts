// Times people type: an instant with an offset (`2027-01-01T10:00:00+05:30`, `...Z`) or a wall-clock
// time without one (`2027-01-01T10:00`), read in the organization's time zone. A wall-clock time the
// clocks skip (the spring-forward gap) does not exist and is refused; one they pass twice (the
// fall-back hour) is the earlier of the two, as people mean "the first 01:30".
import * as z from 'zod';
import { invalid } from './errors.js';

/** An ISO 8601 date-time, with or without an offset; resolve it with instantIn(). */
export const dateTimeInput = z.iso.datetime({
  offset: true,
  local: true,
  error: "must be a date-time such as 2027-01-01T10:00 (the organization's time) or 2027-01-01T10:00:00+05:30",
});

/** An IANA time zone name (`Asia/Kolkata`, `UTC`), as the runtime's time zone database knows it; not an offset. */
export const ianaTimeZone = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .refine((tz) => {
    if (!/^[A-Za-z]/.test(tz)) return false;
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as Asia/Kolkata');

const HAS_OFFSET = /(Z|[+-]\d{2}(:?\d{2})?)$/i;

let temporalLoad: Promise<typeof import('temporal-polyfill').Temporal> | undefined;

/**
 * The Temporal polyfill, loaded on first use (most requests never need it) and kept: a dynamic import
 * per call resolves the module again each time (through the loader's hooks in development).
 */
export function temporal(): Promise<typeof import('temporal-polyfill').Temporal> {
  return (temporalLoad ??= import('temporal-polyfill').then((m) => m.Temporal));
}

/** The instant a dateTimeInput names, a local one read in timeZone; a 422 naming `path` when it does not exist there. */
export async function instantIn(value: string, timeZone: string, path: string): Promise<Date> {
  if (HAS_OFFSET.test(value)) return new Date(value);
  // Loaded only for local times: most clients send instants.
  const Temporal = await temporal();
  const wall = Temporal.PlainDateTime.from(value);
  const zoned = wall.toZonedDateTime(timeZone, { disambiguation: 'earlier' });
  if (!zoned.toPlainDateTime().equals(wall)) {
    throw invalid(path, `${value} does not exist in ${timeZone}: the clocks skip it (daylight saving time starts)`);
  }
  return new Date(zoned.epochMilliseconds);
}

let clock: (() => Date) | undefined;

/**
 * The current instant for rules that schedule by time (notification mail: its delay, quiet hours,
 * digests). Tests move it with setClock; everything else reads the system clock.
 */
export function now(): Date {
  return clock ? clock() : new Date();
}

/** Replaces the clock (tests): a function, a fixed instant, or undefined for the system clock again. */
export function setClock(next: (() => Date) | Date | undefined): void {
  clock = next instanceof Date ? () => new Date(next.getTime()) : next;
}
