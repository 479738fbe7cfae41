// The query every analytics report takes (GET /api/analytics/{name}): a range of dates or quarter-hour
// instants, the time zone its days and hours are read in, day or hour periods, and filters. Additive
// figures come from rollups kept in 15-minute buckets (and in hours and UTC days made of them), so a
// range must start and end on a quarter hour of UTC (every date in every IANA zone does: all offsets
// are whole quarter hours).
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { invalid } from '../errors.js';
import { dateTimeInput, ianaTimeZone, instantIn, now, temporal } from '../time.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const dateOrDateTime = z.union([z.iso.date(), dateTimeInput], {
  error: 'must be a date (2027-01-01) or a date-time on a quarter hour (2027-01-01T10:15 or 2027-01-01T10:15:00+05:30)',
});

export const CHANNELS = ['email', 'whatsapp', 'sms', 'voice'] as const;

/** The longest range: a year by day; hourly periods are limited to 92 days. */
const MAX_DAYS = 366;
const MAX_HOURLY_DAYS = 92;

export const analyticsQuery = z.strictObject({
  /** First day (YYYY-MM-DD, from its start in `tz`) or instant; default: 29 days before `to`'s day (30 days in all). */
  from: dateOrDateTime.optional(),
  /** Last day (YYYY-MM-DD, included to its end in `tz`) or instant (excluded); default: today in `tz`. */
  to: dateOrDateTime.optional(),
  /** The zone days and hours are read in (default: the organization's). */
  tz: ianaTimeZone.optional(),
  groupBy: z.enum(['day', 'hour']).default('day'),
  channel: z.enum(CHANNELS).optional(),
  team: z.uuid('must be a team id (uuid)').optional(),
  customer: z.uuid('must be a customer id (uuid)').optional(),
  /** A mailbox or number: the channel's id. */
  mailbox: z.uuid('must be a channel id (uuid)').optional(),
  /** csv streams the report's table (Accept: text/csv does the same). */
  format: z.enum(['json', 'csv']).optional(),
});
export type AnalyticsQuery = z.infer<typeof analyticsQuery>;

export interface Range {
  start: Date;
  end: Date;
  tz: string;
  groupBy: 'day' | 'hour';
  /**
   * The range's periods (local days or hours in tz): where each begins (the first at `start`) and its
   * label (YYYY-MM-DD, or YYYY-MM-DDTHH:00 local; the hour a clock turned back repeats is in the same
   * period as the first, so that period lasts two hours and every label is one period).
   */
  periods: { starts: Date[]; labels: string[] };
  /** The rollup buckets the range is made of (rollupBuckets): per period, and for the range as a whole. */
  buckets: { byPeriod: Buckets; whole: Buckets };
  channel: string | null;
  team: string | null;
  customer: string | null;
  mailbox: string | null;
}

const QUARTER_HOUR = 15 * 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * The rollup buckets that make up some intervals, by level (app.rollup_bucket): quarter hours (0),
 * hours (1) and UTC days (2), each given by its start.
 */
export type Buckets = [quarters: Date[], hours: Date[], days: Date[]];

/**
 * Intervals (on quarter hours) as the coarsest aligned buckets: quarter hours up to the first whole
 * hour, hours up to the first whole UTC day, days, then hours and quarter hours to the end. Exact for
 * any zone: each bucket lies wholly inside one interval, and together they cover each exactly.
 */
export function rollupBuckets(intervals: { from: number; to: number }[]): Buckets {
  const out: Buckets = [[], [], []];
  const units = [QUARTER_HOUR, HOUR, DAY];
  const up = (t: number, unit: number) => Math.ceil(t / unit) * unit;
  const down = (t: number, unit: number) => Math.floor(t / unit) * unit;
  const run = (level: number, a: number, b: number) => {
    for (let t = a; t < b; t += units[level]!) out[level]!.push(new Date(t));
  };
  const hours = (a: number, b: number) => {
    const [h1, h2] = [up(a, HOUR), down(b, HOUR)];
    if (h1 >= h2) return run(0, a, b);
    run(0, a, h1);
    run(1, h1, h2);
    run(0, h2, b);
  };
  for (const { from, to } of intervals) {
    const [d1, d2] = [up(from, DAY), down(to, DAY)];
    if (d1 >= d2) {
      hours(from, to);
      continue;
    }
    hours(from, d1);
    run(2, d1, d2);
    hours(d2, to);
  }
  return out;
}

/** Days a report covers when the query names no `from`. */
const DEFAULT_DAYS = 30;

/** The local date (YYYY-MM-DD) of an instant in tz, `days` later. */
async function localDate(at: Date, tz: string, days = 0): Promise<string> {
  const Temporal = await temporal();
  return Temporal.Instant.fromEpochMilliseconds(at.getTime()).toZonedDateTimeISO(tz).toPlainDate().add({ days }).toString();
}

async function boundary(value: string, tz: string, path: string, end: boolean): Promise<Date> {
  if (DATE.test(value)) {
    const Temporal = await temporal();
    const day = Temporal.PlainDate.from(value);
    const start = (end ? day.add({ days: 1 }) : day).toZonedDateTime({ timeZone: tz });
    return new Date(start.epochMilliseconds);
  }
  const at = await instantIn(value, tz, path);
  if (at.getTime() % QUARTER_HOUR !== 0) throw invalid(path, 'must fall on a quarter hour (reports are kept in 15-minute buckets)');
  return at;
}

/**
 * The spans of [start, end) over which tz keeps one UTC offset (split at its transitions), each with
 * that offset: a local time is then plain arithmetic within a span, and only the transitions, not
 * every day or hour, go through the time-zone library (90 days by hour took 52 ms that way).
 */
async function offsetSpans(start: number, end: number, tz: string): Promise<{ from: number; offset: number }[]> {
  const Temporal = await temporal();
  const spans: { from: number; offset: number }[] = [];
  let at = Temporal.Instant.fromEpochMilliseconds(start).toZonedDateTimeISO(tz);
  for (;;) {
    spans.push({ from: at.epochMilliseconds, offset: at.offsetNanoseconds / 1e6 });
    const next = at.getTimeZoneTransition('next');
    if (!next || next.epochMilliseconds >= end) return spans;
    at = next;
  }
}

/**
 * The range's local days or hours in tz: where each begins (the first at `start`, a day that starts
 * late because of a transition at midnight where it starts) and its label. The hour a clock turned
 * back repeats stays in the period of its label's first hour.
 */
export async function periodsOf(start: Date, end: Date, tz: string, groupBy: 'day' | 'hour'): Promise<Range['periods']> {
  const unit = groupBy === 'day' ? DAY : HOUR;
  const label = (local: number) => {
    const iso = new Date(local).toISOString();
    return groupBy === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 13)}:00`;
  };
  const spans = await offsetSpans(start.getTime(), end.getTime(), tz);
  const starts: Date[] = [];
  const labels: string[] = [];
  const add = (at: number, offset: number) => {
    const l = label(at + offset);
    if (l === labels.at(-1)) return;
    starts.push(new Date(at));
    labels.push(l);
  };
  spans.forEach(({ from, offset }, i) => {
    const to = spans[i + 1]?.from ?? end.getTime();
    // The span's first instant (a new local day or hour when a transition skipped its beginning), then
    // every local boundary after it.
    add(from, offset);
    for (let local = Math.floor((from + offset) / unit) * unit + unit; local - offset < to; local += unit) add(local - offset, offset);
  });
  return { starts, labels };
}

/** The query as instants in the chosen zone; a 422 naming the field when the range is empty or too long. */
export async function resolveRange(ctx: Ctx, q: AnalyticsQuery): Promise<Range> {
  let tz = q.tz;
  if (!tz) {
    const [org] = await ctx.sql<{ timezone: string }[]>`select timezone from app.organizations where id = ${ctx.orgId}`;
    tz = org?.timezone ?? 'UTC';
  }
  const end = await boundary(q.to ?? (await localDate(now(), tz)), tz, 'query.to', true);
  // The 30 days that end with `to`'s day (a `to` instant is excluded: its day is that of the instant before it).
  const start = await boundary(q.from ?? (await localDate(new Date(end.getTime() - 1), tz, -(DEFAULT_DAYS - 1))), tz, 'query.from', false);
  if (end <= start) throw invalid('query.to', 'must be after from');
  const days = (end.getTime() - start.getTime()) / 86_400_000;
  const max = q.groupBy === 'hour' ? MAX_HOURLY_DAYS : MAX_DAYS;
  if (days > max) throw invalid('query.to', `the range may cover at most ${max} days${q.groupBy === 'hour' ? ' by hour' : ''}`);
  const periods = await periodsOf(start, end, tz, q.groupBy);
  const bounds = periods.starts.map((s, i) => ({ from: s.getTime(), to: (periods.starts[i + 1] ?? end).getTime() }));
  return {
    start,
    end,
    tz,
    groupBy: q.groupBy,
    periods,
    buckets: { byPeriod: rollupBuckets(bounds), whole: rollupBuckets([{ from: start.getTime(), to: end.getTime() }]) },
    channel: q.channel ?? null,
    team: q.team ?? null,
    customer: q.customer ?? null,
    mailbox: q.mailbox ?? null,
  };
}
