// rollupBuckets (lib/analytics/query.ts): intervals on quarter hours as the coarsest aligned rollup
// buckets. Each bucket lies wholly inside one interval, together they cover each interval exactly once,
// and a bucket is only as fine as it must be.
import { describe, expect, it } from 'vitest';
import { periodsOf, rollupBuckets } from '../../lib/analytics/query.js';

const Q = 15 * 60_000;
const H = 4 * Q;
const D = 24 * H;
const WIDTH = [Q, H, D];
const at = (iso: string) => Date.parse(iso);

/** Each bucket as [start, end, level], in time order. */
function flat(intervals: { from: number; to: number }[]) {
  return rollupBuckets(intervals)
    .flatMap((starts, level) => starts.map((s) => [s.getTime(), s.getTime() + WIDTH[level]!, level] as const))
    .sort((a, b) => a[0] - b[0]);
}

describe('rollupBuckets', () => {
  it('reads a local day of Asia/Kolkata (+05:30) as quarter hours and hours, no UTC day', () => {
    const day = { from: at('2026-11-01T18:30:00Z'), to: at('2026-11-02T18:30:00Z') };
    const [quarters, hours, days] = rollupBuckets([day]);
    expect(quarters.map((d) => d.toISOString())).toEqual([
      '2026-11-01T18:30:00.000Z',
      '2026-11-01T18:45:00.000Z',
      '2026-11-02T18:00:00.000Z',
      '2026-11-02T18:15:00.000Z',
    ]);
    expect(hours).toHaveLength(23);
    expect(days).toEqual([]);
  });

  it('reads a 90-day range from +05:45 midnights mostly as UTC days', () => {
    const range = { from: at('2026-09-06T18:15:00Z'), to: at('2026-12-05T18:15:00Z') };
    const [quarters, hours, days] = rollupBuckets([range]);
    expect([quarters.length, hours.length, days.length]).toEqual([4, 23, 89]);
  });

  it('covers random quarter-hour intervals exactly, each with aligned buckets of the coarsest fitting level', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const base = at('2026-10-01T00:00:00Z');
    let t = base + Math.floor(rnd() * 96) * Q;
    const intervals = Array.from({ length: 40 }, () => {
      const from = t;
      t += (1 + Math.floor(rnd() * (rnd() < 0.5 ? 12 : 400))) * Q;
      return { from, to: t };
    });
    const buckets = flat(intervals);
    // Contiguous from the first interval's start to the last's end, without overlap.
    let cursor = intervals[0]!.from;
    for (const [start, end, level] of buckets) {
      expect(start).toBe(cursor);
      expect(start % WIDTH[level]!).toBe(0);
      cursor = end;
    }
    expect(cursor).toBe(intervals.at(-1)!.to);
    for (const { from, to } of intervals) {
      const inside = buckets.filter(([s, e]) => s >= from && e <= to);
      expect(inside.reduce((n, [s, e]) => n + e - s, 0)).toBe(to - from);
      // Coarsest: no two neighbouring buckets of one level make up a whole bucket of the next level inside the interval.
      for (const [s, , level] of inside) {
        if (level === 2) continue;
        const parent = Math.floor(s / WIDTH[level + 1]!) * WIDTH[level + 1]!;
        expect(parent >= from && parent + WIDTH[level + 1]! <= to).toBe(false);
      }
    }
  });
});

/**
 * The periods as the time-zone library finds them, one local day or wall-clock hour at a time (the
 * reference): an hour begins at its first instant (`compatible`: the earlier of a repeated time, the
 * end of a gap), a day or hour a gap swallowed whole has no period.
 */
async function walkedPeriods(start: Date, end: Date, tz: string, groupBy: 'day' | 'hour') {
  const { Temporal } = await import('temporal-polyfill');
  const first = Temporal.Instant.fromEpochMilliseconds(start.getTime()).toZonedDateTimeISO(tz);
  const starts: Date[] = [];
  const labels: string[] = [];
  const push = (at: number, label: string) => {
    if (label === labels.at(-1)) return;
    starts.push(new Date(Math.max(at, start.getTime())));
    labels.push(label);
  };
  if (groupBy === 'day') {
    for (let day = first.toPlainDate(); ; day = day.add({ days: 1 })) {
      const at = day.toZonedDateTime({ timeZone: tz });
      if (at.epochMilliseconds >= end.getTime()) break;
      if (at.day === day.day) push(at.epochMilliseconds, day.toString());
    }
  } else {
    for (let hour = first.toPlainDateTime().round({ smallestUnit: 'hour', roundingMode: 'floor' }); ; hour = hour.add({ hours: 1 })) {
      const at = hour.toZonedDateTime(tz);
      if (at.epochMilliseconds >= end.getTime()) break;
      if (at.hour === hour.hour && at.day === hour.day) push(at.epochMilliseconds, `${hour.toPlainDate().toString()}T${String(hour.hour).padStart(2, '0')}:00`);
    }
  }
  return { starts, labels };
}

describe('periodsOf', () => {
  // Whole-hour, half-hour and 45-minute offsets, both hemispheres' DST, a 30-minute DST (Lord Howe),
  // a transition at midnight (Santiago, Havana), a zone that skipped a day (Apia, 2011-12-30).
  const zones = [
    'UTC',
    'Asia/Kolkata',
    'Asia/Kathmandu',
    'Europe/Berlin',
    'America/New_York',
    'Australia/Lord_Howe',
    'America/Santiago',
    'America/Havana',
    'Pacific/Apia',
    'America/St_Johns',
  ];
  const ranges: [string, string][] = [
    ['2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z'],
    ['2026-03-07T10:15:00Z', '2026-04-12T18:45:00Z'],
    ['2026-10-20T05:30:00Z', '2026-11-10T00:00:00Z'],
    ['2011-12-25T00:00:00Z', '2012-01-05T00:00:00Z'],
  ];
  it.each(zones)('walks the local days and hours of %s as the time-zone library does, with its transitions', async (tz) => {
    for (const [from, to] of ranges) {
      for (const groupBy of ['day', 'hour'] as const) {
        const [start, end] = [new Date(from), new Date(to)];
        expect(await periodsOf(start, end, tz, groupBy), `${from}..${to} by ${groupBy}`).toEqual(await walkedPeriods(start, end, tz, groupBy));
      }
    }
  });
});
