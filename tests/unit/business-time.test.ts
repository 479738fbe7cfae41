// Business-time arithmetic on real calendars: an Indian forwarder's office week (Saturday half-day,
// split lunch), holidays, nights and weekends, and Europe/Berlin across both daylight-saving changes.
import { describe, expect, it } from 'vitest';
import { BusinessCalendar, minuteOfDay, type MinuteInterval } from '../../lib/sla/business-time.js';

const h = (from: string, to: string): MinuteInterval => [minuteOfDay(from), minuteOfDay(to)];
const week = (days: Partial<Record<1 | 2 | 3 | 4 | 5 | 6 | 7, MinuteInterval[]>>) => Array.from({ length: 8 }, (_, d) => days[d as 1] ?? []);
const weekdays = (...intervals: MinuteInterval[]) => ({ 1: intervals, 2: intervals, 3: intervals, 4: intervals, 5: intervals });

/** Mumbai office: Mon–Fri 09:30–13:00 and 14:00–18:30 (lunch), Saturday 10:00–14:00. */
const mumbai = new BusinessCalendar({
  timezone: 'Asia/Kolkata',
  weekly: week({ ...weekdays(h('09:30', '13:00'), h('14:00', '18:30')), 6: [h('10:00', '14:00')] }),
  holidays: ['2026-12-25', '2027-01-26'],
});
const ist = (local: string) => Date.parse(`${local}+05:30`);
const cet = (local: string, offset: '+01:00' | '+02:00') => Date.parse(`${local}${offset}`);
const iso = (ms: number) => new Date(ms).toISOString();

describe('business minutes in Asia/Kolkata', () => {
  it('counts within a day, skipping lunch', () => {
    expect(iso(mumbai.addMinutes(ist('2026-12-07T10:00:00'), 120))).toBe(iso(ist('2026-12-07T12:00:00')));
    expect(iso(mumbai.addMinutes(ist('2026-12-07T12:00:00'), 120))).toBe(iso(ist('2026-12-07T15:00:00')));
    // Lunch itself does not count: a start inside it waits for 14:00.
    expect(iso(mumbai.addMinutes(ist('2026-12-07T13:20:00'), 30))).toBe(iso(ist('2026-12-07T14:30:00')));
  });

  it('carries over the night and starts before opening at opening', () => {
    expect(iso(mumbai.addMinutes(ist('2026-12-07T18:00:00'), 60))).toBe(iso(ist('2026-12-08T10:00:00')));
    expect(iso(mumbai.addMinutes(ist('2026-12-08T06:00:00'), 15))).toBe(iso(ist('2026-12-08T09:45:00')));
    expect(iso(mumbai.addMinutes(ist('2026-12-07T22:00:00'), 0))).toBe(iso(ist('2026-12-07T22:00:00')));
  });

  it('works the Saturday half-day and skips Sunday', () => {
    // Friday 18:00 + 4 h: 30 min on Friday, 4 h on Saturday would end at 13:30.
    expect(iso(mumbai.addMinutes(ist('2026-12-11T18:00:00'), 240))).toBe(iso(ist('2026-12-12T13:30:00')));
    // Saturday 13:00 + 2 h: 1 h on Saturday, then Monday 09:30 + 1 h.
    expect(iso(mumbai.addMinutes(ist('2026-12-12T13:00:00'), 120))).toBe(iso(ist('2026-12-14T10:30:00')));
  });

  it('skips holidays', () => {
    // Thursday 24 Dec 18:00 + 1 h: Christmas is a holiday, so Saturday 26th 10:30.
    expect(iso(mumbai.addMinutes(ist('2026-12-24T18:00:00'), 60))).toBe(iso(ist('2026-12-26T10:30:00')));
  });

  it('spans a week: 40 business hours from Monday morning', () => {
    // A week holds 5 × 8 h + 4 h = 44 h: 40 h from Monday 09:30 end on Friday at 18:30, and 44 h 1 min on Monday after.
    expect(iso(mumbai.addMinutes(ist('2026-12-07T09:30:00'), 40 * 60))).toBe(iso(ist('2026-12-11T18:30:00')));
    expect(iso(mumbai.addMinutes(ist('2026-12-07T09:30:00'), 44 * 60 + 1))).toBe(iso(ist('2026-12-14T09:31:00')));
  });

  it('measures business time between two instants, the inverse of adding it', () => {
    expect(mumbai.minutesBetween(ist('2026-12-07T12:00:00'), ist('2026-12-07T15:00:00'))).toBe(120);
    expect(mumbai.minutesBetween(ist('2026-12-11T18:00:00'), ist('2026-12-14T10:30:00'))).toBe(30 + 240 + 60);
    expect(mumbai.minutesBetween(ist('2026-12-24T09:00:00'), ist('2026-12-26T23:00:00'))).toBe(480 + 240);
    expect(mumbai.minutesBetween(ist('2026-12-07T15:00:00'), ist('2026-12-07T12:00:00'))).toBe(0);
    for (const [start, minutes] of [
      ['2026-12-07T08:00:00', 1],
      ['2026-12-09T17:59:00', 725],
      ['2026-12-23T11:11:00', 3000],
      ['2027-01-22T16:00:00', 2 * 44 * 60],
    ] as const) {
      const due = mumbai.addMinutes(ist(start), minutes);
      expect(mumbai.minutesBetween(ist(start), due), `${start} + ${minutes}`).toBe(minutes);
    }
  });
});

describe('business minutes in Europe/Berlin across daylight-saving changes', () => {
  // A round-the-clock desk: every minute of every day is working time.
  const allDay = new BusinessCalendar({
    timezone: 'Europe/Berlin',
    weekly: week({
      1: [h('00:00', '24:00')],
      2: [h('00:00', '24:00')],
      3: [h('00:00', '24:00')],
      4: [h('00:00', '24:00')],
      5: [h('00:00', '24:00')],
      6: [h('00:00', '24:00')],
      7: [h('00:00', '24:00')],
    }),
    holidays: [],
  });
  const office = new BusinessCalendar({ timezone: 'Europe/Berlin', weekly: week(weekdays(h('08:00', '17:00'))), holidays: [] });

  it('has a 23-hour day in spring and a 25-hour day in autumn', () => {
    expect(allDay.minutesBetween(cet('2026-03-29T00:00:00', '+01:00'), cet('2026-03-30T00:00:00', '+02:00'))).toBe(23 * 60);
    expect(allDay.minutesBetween(cet('2026-10-25T00:00:00', '+02:00'), cet('2026-10-26T00:00:00', '+01:00'))).toBe(25 * 60);
    // 24 business hours from the start of the short day end at 01:00 the next day.
    expect(iso(allDay.addMinutes(cet('2026-03-29T00:00:00', '+01:00'), 24 * 60))).toBe(iso(cet('2026-03-30T01:00:00', '+02:00')));
    expect(iso(allDay.addMinutes(cet('2026-10-25T00:00:00', '+02:00'), 24 * 60))).toBe(iso(cet('2026-10-25T23:00:00', '+01:00')));
  });

  it('keeps office hours at local time on both sides of a change', () => {
    // Friday 16:00 CET + 2 h: 1 h on Friday, then Monday 08:00 CEST (clocks moved on Sunday) + 1 h.
    expect(iso(office.addMinutes(cet('2026-03-27T16:00:00', '+01:00'), 120))).toBe(iso(cet('2026-03-30T09:00:00', '+02:00')));
    expect(iso(office.addMinutes(cet('2026-10-23T16:00:00', '+02:00'), 120))).toBe(iso(cet('2026-10-26T09:00:00', '+01:00')));
    expect(office.minutesBetween(cet('2026-03-27T16:00:00', '+01:00'), cet('2026-03-30T09:00:00', '+02:00'))).toBe(120);
  });

  it('empties an interval the spring-forward gap swallows', () => {
    const night = new BusinessCalendar({ timezone: 'Europe/Berlin', weekly: week({ 7: [h('02:00', '03:00'), h('10:00', '11:00')] }), holidays: [] });
    // On 29 March 2026 02:00–03:00 does not exist: only 10:00–11:00 counts.
    expect(night.minutesBetween(cet('2026-03-29T00:00:00', '+01:00'), cet('2026-03-30T00:00:00', '+02:00'))).toBe(60);
    expect(night.minutesBetween(cet('2026-03-22T00:00:00', '+01:00'), cet('2026-03-23T00:00:00', '+01:00'))).toBe(120);
  });
});

describe('calendars', () => {
  it('merges overlapping intervals and refuses bad times of day', () => {
    const c = new BusinessCalendar({ timezone: 'Asia/Kolkata', weekly: week({ 1: [h('09:00', '12:00'), h('11:00', '13:00')] }), holidays: [] });
    expect(c.minutesBetween(ist('2026-12-07T00:00:00'), ist('2026-12-08T00:00:00'))).toBe(240);
    expect(() => minuteOfDay('25:00')).toThrow(RangeError);
    expect(() => minuteOfDay('9:00')).toThrow(RangeError);
    expect(minuteOfDay('24:00')).toBe(1440);
  });

  it('refuses an unknown time zone, and a calendar with no hours has no deadlines', () => {
    expect(() => new BusinessCalendar({ timezone: 'Mars/Olympus', weekly: week({}), holidays: [] })).toThrow(RangeError);
    const never = new BusinessCalendar({ timezone: 'UTC', weekly: week({}), holidays: [] });
    expect(never.workable).toBe(false);
    expect(() => never.addMinutes(Date.parse('2026-12-07T00:00:00Z'), 1)).toThrow(/No working hours/);
  });
});
