// Workflow conditions and step addressing, in memory: all/any/not, each kind of leaf, regexes run by
// re2js (and refused when saved if invalid), and where a run goes after a step or a wait.
import { describe, expect, it } from 'vitest';
import { evaluate, type Facts } from '../../lib/workflows/conditions.js';
import { afterWait, definitionIssues, definitionSchema, nextStepKey, type Condition } from '../../lib/workflows/definition.js';

const facts = (over: Partial<Facts> = {}): Facts => ({
  threadId: 't',
  messageId: 'm',
  channel: 'email',
  mailbox: null,
  customer: null,
  tier: 'key',
  contact: null,
  counterpart: 'karthik@shreeji-exports.example',
  senderDomain: 'shreeji-exports.example',
  intent: 'booking_request',
  sentiment: 'neutral',
  urgency: 'normal',
  priority: 'normal',
  status: 'open',
  assignee: null,
  team: null,
  milestone: null,
  subject: 'Booking request: 2x40HC INNSA to AEJEA',
  body: 'Please book. Container MSCU1234565.',
  tags: ['awaiting-si'],
  identifiers: ['containers'],
  changed: ['status'],
  hasAttachment: false,
  lastInboundAt: new Date('2027-01-04T10:00:00Z'),
  lastOutboundAt: null,
  insideBusinessHours: true,
  now: new Date('2027-01-04T12:00:00Z'),
  ...over,
});

describe('evaluate', () => {
  it('combines all, any and not, nested', () => {
    const c: Condition = {
      all: [
        {
          any: [
            { field: 'intent', op: 'is', value: 'quote_request' },
            { field: 'subject', op: 'matches', value: '\\bbook(ing)?\\b' },
          ],
        },
        { not: { field: 'tags', op: 'hasAny', value: ['spam-suspect'] } },
        { field: 'tier', op: 'in', value: ['strategic', 'key'] },
      ],
    };
    expect(evaluate(c, facts())).toBe(true);
    expect(evaluate(c, facts({ tier: 'standard' }))).toBe(false);
    expect(evaluate({ all: [] }, facts())).toBe(true);
    expect(evaluate(undefined, facts())).toBe(true);
  });

  it('reads every kind of leaf', () => {
    const f = facts();
    expect(evaluate({ field: 'senderDomain', op: 'is', value: 'SHREEJI-EXPORTS.example' }, f)).toBe(true);
    expect(evaluate({ field: 'assignee', op: 'isNotSet' }, f)).toBe(true);
    expect(evaluate({ field: 'body', op: 'contains', value: 'PLEASE BOOK' }, f)).toBe(true);
    expect(evaluate({ field: 'body', op: 'contains', value: 'PLEASE BOOK', caseSensitive: true }, f)).toBe(false);
    expect(evaluate({ field: 'body', op: 'notMatches', value: '[A-Z]{4}\\d{7}' }, f)).toBe(false);
    expect(evaluate({ field: 'identifiers', op: 'hasAll', value: ['containers'] }, f)).toBe(true);
    expect(evaluate({ field: 'changed', op: 'hasNone', value: ['priority'] }, f)).toBe(true);
    expect(evaluate({ field: 'hasAttachment', op: 'is', value: false }, f)).toBe(true);
    expect(evaluate({ field: 'businessHours', op: 'outside' }, f)).toBe(false);
    expect(evaluate({ field: 'sinceLastInbound', op: 'moreThan', minutes: 119 }, f)).toBe(true);
    expect(evaluate({ field: 'sinceLastInbound', op: 'lessThan', minutes: 119 }, f)).toBe(false);
    // Never answered: infinitely long since the last outbound message.
    expect(evaluate({ field: 'sinceLastOutbound', op: 'moreThan', minutes: 100000 }, f)).toBe(true);
  });
});

describe('definitionIssues', () => {
  const parse = (d: unknown) => definitionSchema.parse(d);

  it('refuses a regex re2js cannot compile, a backreference included, naming its path', async () => {
    const bad = parse({
      trigger: { type: 'message.received' },
      conditions: { any: [{ field: 'subject', op: 'matches', value: '(a)\\1' }] },
      steps: [{ type: 'priority', priority: 'high' }],
    });
    const issues = await definitionIssues(bad, 'Asia/Kolkata');
    expect(issues.map((i) => i.path)).toEqual(['body.conditions.any.0.value']);
  });

  it('checks values against their field, and crons and trigger options against their trigger', async () => {
    const d = parse({
      trigger: { type: 'thread.created', channels: ['email'] },
      conditions: {
        all: [
          { field: 'status', op: 'is', value: 'archived' },
          { field: 'changed', op: 'hasAny', value: ['colour'] },
        ],
      },
      steps: [{ type: 'notify', title: 'Nobody' }],
    });
    expect((await definitionIssues(d, 'UTC')).map((i) => i.path)).toEqual([
      'body.conditions.all.0.value',
      'body.conditions.all.1.value.0',
      'body.steps.0.userIds',
      'body.trigger.channels',
    ]);
    const schedule = parse({ trigger: { type: 'schedule', cron: '0 9 * * 1-5' }, steps: [{ type: 'note', body: 'Chase' }] });
    expect(await definitionIssues(schedule, 'Asia/Kolkata')).toEqual([]);
  });
});

describe('step keys', () => {
  const steps = definitionSchema.parse({
    trigger: { type: 'thread.created' },
    steps: [
      { type: 'tags', add: ['a'] },
      { type: 'wait', for: { minutes: 5 }, onEvent: [{ type: 'tags', add: ['b'] }], onTimeout: [] },
      { type: 'tags', add: ['c'] },
    ],
  }).steps;

  it('goes through a branch and on after its wait', () => {
    expect(nextStepKey(steps, '0')).toBe('1');
    expect(afterWait(steps, '1', 'event')).toBe('1.onEvent.0');
    expect(nextStepKey(steps, '1.onEvent.0')).toBe('2');
    expect(afterWait(steps, '1', 'timeout')).toBe('2');
    expect(nextStepKey(steps, '2')).toBeNull();
  });
});
