// When a member's notification mail may go: never during their quiet hours (held until they end, in
// their time zone), at most once an hour with the hourly digest, once a day at DAILY_DIGEST_AT (their
// time) with the daily one. Pure: the email job asks it with the time the mail was due.
import { Temporal } from 'temporal-polyfill';
import type { Digest } from './types.js';

export interface DeliverySettings {
  /** `HH:MM` wall-clock times in timeZone; an end before the start spans midnight. Both null: no quiet hours. */
  quietStart: string | null;
  quietEnd: string | null;
  timeZone: string;
  digest: Digest;
}

/** The daily digest goes at this local time. */
export const DAILY_DIGEST_AT = '09:00';

const HOUR = 3_600_000;

const zoned = (at: Date, timeZone: string) => Temporal.Instant.fromEpochMilliseconds(at.getTime()).toZonedDateTimeISO(timeZone);

/** The first instant at or after `at` whose local time is `time` (a skipped local time: the next valid one). */
function nextLocal(at: Date, timeZone: string, time: string): Date {
  const here = zoned(at, timeZone);
  let candidate = here.withPlainTime(Temporal.PlainTime.from(time));
  if (Temporal.ZonedDateTime.compare(candidate, here) < 0) candidate = candidate.add({ days: 1 }).withPlainTime(Temporal.PlainTime.from(time));
  return new Date(candidate.epochMilliseconds);
}

/** Whether `at` falls in the quiet hours, and when they end. */
export function quietUntil(at: Date, s: Pick<DeliverySettings, 'quietStart' | 'quietEnd' | 'timeZone'>): Date | null {
  if (!s.quietStart || !s.quietEnd || s.quietStart === s.quietEnd) return null;
  const local = zoned(at, s.timeZone).toPlainTime();
  const start = Temporal.PlainTime.from(s.quietStart);
  const end = Temporal.PlainTime.from(s.quietEnd);
  const after = (a: Temporal.PlainTime, b: Temporal.PlainTime) => Temporal.PlainTime.compare(a, b) >= 0;
  const inside = after(end, start) ? after(local, start) && !after(local, end) : after(local, start) || !after(local, end);
  return inside ? nextLocal(at, s.timeZone, s.quietEnd) : null;
}

/** When mail due at `due` goes, given the member's settings and their last notification mail. */
export function sendTime(due: Date, s: DeliverySettings, lastEmailedAt: Date | null): Date {
  let at = due;
  if (s.digest === 'hourly' && lastEmailedAt && lastEmailedAt.getTime() + HOUR > at.getTime()) at = new Date(lastEmailedAt.getTime() + HOUR);
  if (s.digest === 'daily')
    at = nextLocal(lastEmailedAt && lastEmailedAt.getTime() + HOUR > at.getTime() ? new Date(lastEmailedAt.getTime() + HOUR) : at, s.timeZone, DAILY_DIGEST_AT);
  return quietUntil(at, s) ?? at;
}
