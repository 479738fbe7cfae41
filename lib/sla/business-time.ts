// Business time: when a target of N business minutes falls due, and how many business minutes lie
// between two instants, on a calendar of weekly working hours (several intervals a day: split shifts,
// Saturday half-days) in an IANA time zone, with holidays. The time-zone rules come from the Temporal
// polyfill; the arithmetic is ours. Each calendar day is turned into UTC intervals once and cached, so
// a deadline costs a few map lookups (a day's intervals hold its real length: 23 or 25 hours across a
// daylight-saving change).
import { Temporal } from 'temporal-polyfill';

/** Minutes after local midnight: [start, end), end up to 1440 (24:00). */
export type MinuteInterval = readonly [number, number];

export interface CalendarSpec {
  timezone: string;
  /** Working intervals by ISO weekday: index 1 = Monday … 7 = Sunday (index 0 unused). */
  weekly: readonly (readonly MinuteInterval[])[];
  /** Local dates (YYYY-MM-DD) with no working hours. */
  holidays: Iterable<string>;
}

interface Day {
  /** UTC [start, end) of the working intervals, in order. */
  open: [number, number][];
  /** The next local date. */
  next: string;
}

/** How far ahead a deadline is looked for before the calendar is called unworkable (no hours at all). */
const MAX_DAYS = 3 * 366;
/** Days kept per calendar: a few years either side of now. */
const CACHE_DAYS = 4096;

export class BusinessCalendar {
  readonly timezone: string;
  private readonly weekly: MinuteInterval[][];
  private readonly holidays: Set<string>;
  private readonly days = new Map<string, Day>();
  private readonly localDate: Intl.DateTimeFormat;

  constructor(spec: CalendarSpec) {
    // Throws a RangeError for a zone the time-zone database does not know.
    this.localDate = new Intl.DateTimeFormat('en-CA', { timeZone: spec.timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
    this.timezone = spec.timezone;
    this.weekly = Array.from({ length: 8 }, (_, d) => (d === 0 ? [] : normalise(spec.weekly[d] ?? [])));
    this.holidays = new Set(spec.holidays);
  }

  /** Whether any weekday has working hours. */
  get workable(): boolean {
    return this.weekly.some((d) => d.length > 0);
  }

  /** The local date (YYYY-MM-DD) an instant falls on. */
  dateOf(ms: number): string {
    return this.localDate.format(ms);
  }

  private day(date: string): Day {
    let d = this.days.get(date);
    if (d) return d;
    const plain = Temporal.PlainDate.from(date);
    const next = plain.add({ days: 1 });
    const at = (minute: number) => {
      const on = minute >= 1440 ? next : plain;
      const m = minute % 1440;
      return on.toZonedDateTime({ timeZone: this.timezone, plainTime: new Temporal.PlainTime(Math.floor(m / 60), m % 60) }).epochMilliseconds;
    };
    const open: [number, number][] = [];
    if (!this.holidays.has(date)) {
      for (const [s, e] of this.weekly[plain.dayOfWeek]!) {
        const start = at(s);
        const end = at(e);
        // A start inside the spring-forward gap moves later; an interval the gap swallows is empty.
        if (end > start) open.push([start, end]);
      }
    }
    d = { open, next: next.toString() };
    if (this.days.size >= CACHE_DAYS) this.days.clear();
    this.days.set(date, d);
    return d;
  }

  /** The instant `minutes` business minutes after `fromMs` (fromMs itself for 0). */
  addMinutes(fromMs: number, minutes: number): number {
    let remaining = Math.round(minutes * 60_000);
    if (remaining <= 0) return fromMs;
    let date = this.dateOf(fromMs);
    for (let i = 0; i < MAX_DAYS; i++) {
      const d = this.day(date);
      for (const [s, e] of d.open) {
        if (e <= fromMs) continue;
        const from = s > fromMs ? s : fromMs;
        const span = e - from;
        if (span >= remaining) return from + remaining;
        remaining -= span;
      }
      date = d.next;
    }
    throw new RangeError(`No working hours within ${MAX_DAYS} days in this calendar`);
  }

  /** Business milliseconds in [fromMs, toMs) (0 when toMs is not later). */
  msBetween(fromMs: number, toMs: number): number {
    if (toMs <= fromMs) return 0;
    let total = 0;
    const last = this.dateOf(toMs);
    for (let date = this.dateOf(fromMs); date <= last;) {
      const d = this.day(date);
      for (const [s, e] of d.open) {
        const from = s > fromMs ? s : fromMs;
        const to = e < toMs ? e : toMs;
        if (to > from) total += to - from;
      }
      date = d.next;
    }
    return total;
  }

  /** Business minutes in [fromMs, toMs), whole minutes rounded down. */
  minutesBetween(fromMs: number, toMs: number): number {
    return Math.floor(this.msBetween(fromMs, toMs) / 60_000);
  }
}

/** Sorted, merged, within the day; an interval that ends before it starts is dropped. */
function normalise(intervals: readonly MinuteInterval[]): MinuteInterval[] {
  const sorted = intervals
    .map(([s, e]) => [Math.max(0, Math.min(1440, s)), Math.max(0, Math.min(1440, e))] as [number, number])
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** "09:30" → 570; "24:00" → 1440. */
export function minuteOfDay(hhmm: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/.exec(hhmm);
  if (!m) throw new RangeError(`${hhmm} is not a time of day (HH:MM, 00:00 to 24:00)`);
  return m[1] === undefined ? 1440 : Number(m[1]) * 60 + Number(m[2]);
}

/** Calendar time: every minute counts (policies measured in calendar minutes). */
export const CALENDAR_TIME = {
  addMinutes: (fromMs: number, minutes: number) => fromMs + Math.round(minutes * 60_000),
  msBetween: (fromMs: number, toMs: number) => Math.max(0, toMs - fromMs),
};
