// rollupBuckets (lib/analytics/query.ts): intervals on quarter hours as the coarsest aligned rollup
// buckets. Each bucket lies wholly inside one interval, together they cover each interval exactly once,
// and a bucket is only as fine as it must be.
import { describe, expect, it } from 'vitest';
import { rollupBuckets } from '../../lib/analytics/query.js';

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
