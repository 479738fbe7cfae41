// The pure part of the clock rule (lib/sla/clock.ts): which messages start and stop each clock, due and
// warning times with pauses added back on the clock's own calendar, and outcomes on resolution.
import { describe, expect, it } from 'vitest';
import { BusinessCalendar, type MinuteInterval } from '../../lib/sla/business-time.js';
import { clockStarts, deadlines, Mark, outcomes, responses, type ClockEvent } from '../../lib/sla/clock.js';

const day: MinuteInterval[] = [[570, 1110]]; // 09:30–18:30
const kolkata = new BusinessCalendar({ timezone: 'Asia/Kolkata', weekly: [[], day, day, day, day, day, [[600, 840]], []], holidays: [] });
const at = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const { Customer, Member, Automation } = Mark;

describe('clockStarts', () => {
  it('runs first response from the first customer message until a counting reply', () => {
    const t0 = at('2026-12-07T05:00:00Z');
    expect(clockStarts([[t0, Customer]], false)).toEqual({ firstResponse: t0, nextResponse: null, resolution: t0 });
    expect(
      clockStarts(
        [
          [t0, Customer],
          [t0 + MIN, Automation],
        ],
        false,
      ).firstResponse,
    ).toBe(t0);
    expect(
      clockStarts(
        [
          [t0, Customer],
          [t0 + MIN, Automation],
        ],
        true,
      ).firstResponse,
    ).toBeNull();
    expect(
      clockStarts(
        [
          [t0, Customer],
          [t0 + MIN, Member],
        ],
        false,
      ),
    ).toEqual({ firstResponse: null, nextResponse: null, resolution: t0 });
  });

  it('runs next response from the first unanswered message after a reply; a reply before any customer message counts for nothing', () => {
    const t0 = at('2026-12-07T05:00:00Z');
    const events: ClockEvent[] = [
      [t0 - MIN, Member],
      [t0, Customer],
      [t0 + 10 * MIN, Member],
      [t0 + 20 * MIN, Customer],
      [t0 + 30 * MIN, Customer],
    ];
    expect(clockStarts(events, false)).toEqual({ firstResponse: null, nextResponse: t0 + 20 * MIN, resolution: t0 });
    expect(clockStarts([...events, [t0 + 40 * MIN, Member]], false).nextResponse).toBeNull();
    expect(clockStarts([[t0 - MIN, Member]], false)).toEqual({ firstResponse: null, nextResponse: null, resolution: null });
  });
});

describe('deadlines', () => {
  const policy = {
    calendar: kolkata,
    warningPercent: 75,
    targets: { normal: { firstResponse: { minutes: 240, business: true }, resolution: { minutes: 60, business: false } } },
  };

  it('puts warnings at the share of the target and adds back only business time paused after the start', () => {
    // Monday 7 December, 10:30 Kolkata.
    const start = at('2026-12-07T05:00:00Z');
    const starts = { firstResponse: start, nextResponse: null, resolution: start };
    const plain = deadlines(starts, policy, 'normal', []);
    expect(new Date(plain.due.firstResponse!).toISOString()).toBe('2026-12-07T09:00:00.000Z'); // 14:30
    expect(new Date(plain.warn.firstResponse!).toISOString()).toBe('2026-12-07T08:00:00.000Z'); // 180 min: 13:30
    expect(plain.due.resolution).toBe(start + 60 * MIN);
    expect(plain.due.nextResponse).toBeNull();

    // Paused from 11:30 to 12:30 (an hour of business time) and overnight (none), and before the start (ignored).
    const pauses = [
      [start - 120 * MIN, start - 60 * MIN],
      [start + 60 * MIN, start + 120 * MIN],
      [at('2026-12-07T13:30:00Z'), at('2026-12-08T03:30:00Z')],
    ] as const;
    const paused = deadlines(starts, policy, 'normal', pauses);
    expect(paused.due.firstResponse! - plain.due.firstResponse!).toBe(60 * MIN);
    // The calendar-minute resolution target adds back every paused minute after the start: 1 h + 14 h.
    expect(paused.due.resolution! - plain.due.resolution!).toBe(15 * 60 * MIN);
  });

  it('sets nothing for a priority the policy has no targets for', () => {
    const start = at('2026-12-07T05:00:00Z');
    expect(deadlines({ firstResponse: start, nextResponse: null, resolution: start }, policy, 'urgent', []).due).toEqual({
      firstResponse: null,
      nextResponse: null,
      resolution: null,
    });
  });
});

describe('outcomes', () => {
  it('measures each target on its own clock less the pauses, next response by its longest round', () => {
    const start = at('2026-12-07T05:00:00Z'); // Monday 10:30 Kolkata
    const policy = {
      calendar: kolkata,
      automationRepliesCount: false,
      targets: {
        high: {
          firstResponse: { minutes: 30, business: true },
          nextResponse: { minutes: 60, business: true },
          resolution: { minutes: 600, business: false },
        },
      },
    };
    const events: ClockEvent[] = [
      [start, Customer],
      [start + 20 * MIN, Automation], // does not count
      [start + 45 * MIN, Member],
      [start + 60 * MIN, Customer],
      [start + 90 * MIN, Member],
      [start + 100 * MIN, Customer],
      [start + 200 * MIN, Member],
    ];
    const end = start + 300 * MIN;
    const result = outcomes(events, policy, 'high', [[start + 250 * MIN, start + 280 * MIN]], end);
    expect(result.map((o) => [o.target, o.elapsedMs / MIN, o.met])).toEqual([
      ['firstResponse', 45, false],
      ['nextResponse', 100, false],
      ['resolution', 270, true],
    ]);
    // An unanswered round runs to the end.
    const open = outcomes([...events.slice(0, 6)], policy, 'high', [], end);
    expect(open.find((o) => o.target === 'nextResponse')!.elapsedMs / MIN).toBe(200);
    expect(outcomes([[start, Member]], policy, 'high', [], end)).toEqual([]);
  });
});

describe('responses', () => {
  const t0 = at('2026-12-07T05:00:00Z');
  const events: ClockEvent[] = [
    [t0 - 10 * MIN, Member, 'm0', 'u1'], // before any customer message: answers nothing
    [t0, Customer, 'c1'],
    [t0 + MIN, Automation, 'a1', null],
    [t0 + 2 * MIN, Customer, 'c2'],
    [t0 + 5 * MIN, Member, 'm1', 'u1'],
    [t0 + 6 * MIN, Member, 'm2', 'u2'], // nothing waiting: not a response
    [t0 + 20 * MIN, Customer, 'c3'],
    [t0 + 21 * MIN, Customer, 'c4'],
    [t0 + 30 * MIN, Member, 'm3', 'u2'],
  ];

  it('one row per counting reply that answered a customer, from the first message nobody had answered', () => {
    expect(responses(events, false)).toEqual([
      { id: 'm1', author: 'u1', automated: false, first: true, since: t0, at: t0 + 5 * MIN },
      { id: 'm3', author: 'u2', automated: false, first: false, since: t0 + 20 * MIN, at: t0 + 30 * MIN },
    ]);
  });

  it('counts an automation reply only when the policy says so', () => {
    expect(responses(events, true).map((r) => [r.id, r.automated, r.first, r.since])).toEqual([
      ['a1', true, true, t0],
      ['m1', false, false, t0 + 2 * MIN],
      ['m3', false, false, t0 + 20 * MIN],
    ]);
  });
});
