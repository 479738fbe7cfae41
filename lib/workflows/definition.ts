// What a workflow is made of, validated by zod when it is saved: a trigger, conditions (all/any/not,
// nested) and steps. The steps are every macro step (the same schema and implementation:
// lib/macros/run.ts runStep) and the engine's own: automatic assignment, notify, an outgoing
// webhook, an AI draft and wait (a duration, a time, and/or an event; then a branch). Regular
// expressions run on re2js (linear time, no backtracking) and are compiled when saved: an invalid one
// is a 422 naming its field.
import { RE2JS } from 're2js';
import * as z from 'zod';
import { INTENTS, SENTIMENTS, URGENCIES } from '../ai/analysis/schema.js';
import { macroStep } from '../macros/service.js';
import { CHANNELS, PRIORITIES, WORK_STATUSES } from '../threads/service.js';
import { FILTERED_STATUSES } from '../sender-rules/verdict.js';

export { TRIGGERS, TRACKED_FIELDS, type Trigger } from './emit.js';
import { TRACKED_FIELDS, TRIGGERS } from './emit.js';

/** Events a wait step may wait for on its thread. */
export const WAIT_EVENTS = ['message.received', 'message.sent', 'thread.updated', 'note.created'] as const;

export const IDENTIFIER_KINDS = ['containers', 'awbs', 'bls', 'bookings'] as const;

const MAX_REGEX = 500;

/** Compiles a pattern with re2js (case-insensitive unless asked); throws on a pattern it refuses. */
export function compileRegex(pattern: string, caseSensitive = false): RE2JS {
  return RE2JS.compile(pattern, caseSensitive ? 0 : RE2JS.CASE_INSENSITIVE);
}

const text = z.string().trim().min(1).max(1000);
const idList = z.array(z.uuid()).min(1).max(100);

/** Fields compared for equality with one value or a list. */
export const VALUE_FIELDS = [
  'channel',
  'mailbox',
  'customer',
  'tier',
  'contact',
  'senderDomain',
  'intent',
  'sentiment',
  'urgency',
  'priority',
  'status',
  'assignee',
  'team',
  /** shipment.milestone: the milestone's code (`arrived`, `discharged`, ...; null for other triggers). */
  'milestone',
] as const;

const valueLeaf = z.strictObject({
  field: z.enum(VALUE_FIELDS),
  op: z.enum(['is', 'isNot', 'in', 'notIn', 'isSet', 'isNotSet']),
  value: z.union([z.string().trim().min(1).max(320), z.array(z.string().trim().min(1).max(320)).min(1).max(100)]).optional(),
});

const textLeaf = z.strictObject({
  field: z.enum(['subject', 'body']),
  op: z.enum(['contains', 'notContains', 'matches', 'notMatches']),
  value: z.string().min(1).max(MAX_REGEX),
  caseSensitive: z.boolean().optional(),
});

const listLeaf = z.strictObject({
  field: z.enum(['tags', 'identifiers', 'changed']),
  op: z.enum(['hasAll', 'hasAny', 'hasNone']),
  value: z.array(z.string().trim().min(1).max(100)).min(1).max(50),
});

const flagLeaf = z.strictObject({ field: z.literal('hasAttachment'), op: z.literal('is'), value: z.boolean() });
const hoursLeaf = z.strictObject({ field: z.literal('businessHours'), op: z.enum(['inside', 'outside']) });
const sinceLeaf = z.strictObject({
  field: z.enum(['sinceLastInbound', 'sinceLastOutbound']),
  op: z.enum(['moreThan', 'lessThan']),
  minutes: z
    .number()
    .int()
    .min(0)
    .max(366 * 24 * 60),
});

export const conditionLeaf = z.union([valueLeaf, textLeaf, listLeaf, flagLeaf, hoursLeaf, sinceLeaf]);
export type ConditionLeaf = z.infer<typeof conditionLeaf>;

export type Condition = ConditionLeaf | { all: Condition[] } | { any: Condition[] } | { not: Condition };

const MAX_CONDITION_DEPTH = 5;

export const condition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(condition).max(50) }),
    z.strictObject({ any: z.array(condition).min(1).max(50) }),
    z.strictObject({ not: condition }),
    conditionLeaf,
  ]),
);

/** Checks what zod's shapes cannot: value presence per op, allowed values, regexes that compile, nesting depth. */
export function checkCondition(c: Condition, path: (string | number)[], issues: { path: (string | number)[]; message: string }[], depth = 0): void {
  if (depth > MAX_CONDITION_DEPTH) {
    issues.push({ path, message: `nests deeper than ${MAX_CONDITION_DEPTH} levels` });
    return;
  }
  if ('all' in c) return c.all.forEach((x, i) => checkCondition(x, [...path, 'all', i], issues, depth + 1));
  if ('any' in c) return c.any.forEach((x, i) => checkCondition(x, [...path, 'any', i], issues, depth + 1));
  if ('not' in c) return checkCondition(c.not, [...path, 'not'], issues, depth + 1);
  if (c.field === 'subject' || c.field === 'body') {
    if (c.op === 'matches' || c.op === 'notMatches') {
      try {
        compileRegex(c.value, c.caseSensitive);
      } catch (error) {
        issues.push({ path: [...path, 'value'], message: `is not a valid regular expression (RE2 syntax): ${(error as Error).message}` });
      }
    }
    return;
  }
  if ('minutes' in c || c.field === 'businessHours' || c.field === 'hasAttachment') return;
  if (c.field === 'identifiers' || c.field === 'changed') {
    const allowed: readonly string[] = c.field === 'identifiers' ? IDENTIFIER_KINDS : TRACKED_FIELDS;
    c.value.forEach((v, i) => {
      if (!allowed.includes(v)) issues.push({ path: [...path, 'value', i], message: `must be one of ${allowed.join(', ')}` });
    });
    return;
  }
  if (c.field === 'tags') return;
  const needsValue = c.op !== 'isSet' && c.op !== 'isNotSet';
  if (needsValue && c.value === undefined) issues.push({ path: [...path, 'value'], message: `is required with op ${c.op}` });
  if (!needsValue && c.value !== undefined) issues.push({ path: [...path, 'value'], message: `does not go with op ${c.op}` });
  if ((c.op === 'in' || c.op === 'notIn') && c.value !== undefined && !Array.isArray(c.value))
    issues.push({ path: [...path, 'value'], message: `must be a list with op ${c.op}` });
  if ((c.op === 'is' || c.op === 'isNot') && Array.isArray(c.value))
    issues.push({ path: [...path, 'value'], message: `must be one value with op ${c.op} (in/notIn take lists)` });
  const allowed: Record<string, readonly string[]> = {
    channel: CHANNELS,
    priority: PRIORITIES,
    status: [...WORK_STATUSES, ...FILTERED_STATUSES],
    tier: ['strategic', 'key', 'standard', 'occasional'],
    intent: INTENTS,
    sentiment: SENTIMENTS,
    urgency: URGENCIES,
  };
  const list = allowed[c.field];
  if (list && c.value !== undefined) {
    (Array.isArray(c.value) ? c.value : [c.value]).forEach((v, i) => {
      if (!list.includes(v)) issues.push({ path: [...path, 'value', ...(Array.isArray(c.value) ? [i] : [])], message: `must be one of ${list.join(', ')}` });
    });
  }
}

/** A duration: calendar minutes, or business minutes on the organization's default business calendar. */
const duration = z
  .strictObject({
    minutes: z
      .number()
      .int()
      .min(1)
      .max(366 * 24 * 60)
      .optional(),
    businessMinutes: z
      .number()
      .int()
      .min(1)
      .max(366 * 24 * 60)
      .optional(),
  })
  .refine((d) => (d.minutes === undefined) !== (d.businessMinutes === undefined), 'name exactly one of minutes and businessMinutes');

const assignAuto = z.strictObject({
  type: z.literal('assign_auto'),
  teamId: z.uuid(),
  strategy: z.enum(['round_robin', 'least_busy']).default('round_robin'),
});

const notifyStep = z.strictObject({
  type: z.literal('notify'),
  /** Members by id, the members of a team, the leads of a team (or of the thread's team with teamLeads and no teamId), the assignee. */
  userIds: idList.optional(),
  teamId: z.uuid().optional(),
  teamLeads: z.boolean().optional(),
  assignee: z.boolean().optional(),
  title: text.max(300),
  body: z.string().trim().max(500).optional(),
});

const webhookStep = z.strictObject({
  type: z.literal('webhook'),
  endpointId: z.uuid(),
  /** The `type` of the payload (default `workflow.step`). */
  event: z
    .string()
    .trim()
    .regex(/^[a-z][a-z0-9_.-]{0,99}$/, 'must be lower case letters, digits, _ . -')
    .optional(),
});

const aiDraftStep = z.strictObject({ type: z.literal('ai_draft'), instructions: z.string().trim().max(2000).optional() });

/** Every step but a wait: what a wait's branches hold. */
export const simpleStep = z.discriminatedUnion('type', [...macroStep.options, assignAuto, notifyStep, webhookStep, aiDraftStep]);

const waitStep = z
  .strictObject({
    type: z.literal('wait'),
    /** Wait this long (the timeout when an event is also awaited). */
    for: duration.optional(),
    /** Or until this instant (ISO 8601 with an offset). */
    until: z.iso.datetime({ offset: true }).optional(),
    /** Wake when one of these events happens on the thread (and its conditions hold, evaluated on it). */
    event: z.strictObject({ types: z.array(z.enum(WAIT_EVENTS)).min(1).max(4), conditions: condition.optional() }).optional(),
    /** Run when the event woke the wait, then the steps after the wait. */
    onEvent: z.array(simpleStep).max(20).default([]),
    /** Run when the time ran out, then the steps after the wait. */
    onTimeout: z.array(simpleStep).max(20).default([]),
    /** Whether the run stops after the branch instead of going on with the steps after the wait. */
    stopAfterBranch: z.boolean().default(false),
  })
  .refine((w) => w.for || w.until || w.event, { message: 'a wait needs for, until and/or event', path: ['for'] })
  .refine((w) => !(w.for && w.until), { message: 'name for or until, not both', path: ['until'] });

export const workflowStep = z.union([simpleStep, waitStep]);
export type SimpleStep = z.infer<typeof simpleStep>;
export type WaitStep = z.infer<typeof waitStep>;
export type WorkflowStep = z.infer<typeof workflowStep>;

export const triggerSchema = z.strictObject({
  type: z.enum(TRIGGERS),
  /** message.received / message.sent: only these channels (all when left out). */
  channels: z.array(z.enum(CHANNELS)).min(1).max(4).optional(),
  /** message.received: auto-replies, bounces and bulk mail start the workflow too. */
  includeAutomated: z.boolean().optional(),
  /** schedule: a 5-field cron in the organization's time zone (`0 9 * * 1-5`: weekdays at 09:00). */
  cron: z.string().trim().min(9).max(100).optional(),
  /** schedule: the threads each fire runs on (tags all present, statuses), at most 500 per fire. */
  threads: z
    .strictObject({
      tags: z.array(z.string().trim().toLowerCase().min(1).max(50)).max(10).optional(),
      statuses: z.array(z.enum(WORK_STATUSES)).min(1).max(5).default(['open', 'pending']),
    })
    .optional(),
});
export type TriggerSpec = z.infer<typeof triggerSchema>;

export const definitionSchema = z.strictObject({
  trigger: triggerSchema,
  conditions: condition.optional(),
  steps: z.array(workflowStep).min(1).max(30),
});
export type Definition = z.infer<typeof definitionSchema>;

/** Cron fields croner must accept (5 fields, no seconds). */
async function cronIssue(cron: string, timeZone: string): Promise<string | null> {
  if (cron.split(/\s+/).length !== 5) return 'must have 5 fields: minute hour day-of-month month day-of-week';
  const { Cron } = await import('croner');
  try {
    new Cron(cron, { timezone: timeZone, paused: true });
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The checks beyond shapes, as issues at `body.…` paths. */
export async function definitionIssues(d: Definition, timeZone: string): Promise<{ path: string; message: string }[]> {
  const issues: { path: (string | number)[]; message: string }[] = [];
  if (d.conditions) checkCondition(d.conditions, ['conditions'], issues);
  d.steps.forEach((s, i) => {
    if (s.type === 'wait' && s.event?.conditions) checkCondition(s.event.conditions, ['steps', i, 'event', 'conditions'], issues);
    if (s.type === 'notify' && !s.userIds && !s.teamId && !s.teamLeads && !s.assignee)
      issues.push({ path: ['steps', i, 'userIds'], message: 'name userIds, teamId, teamLeads and/or assignee' });
  });
  const t = d.trigger;
  if (t.type === 'schedule') {
    if (!t.cron) issues.push({ path: ['trigger', 'cron'], message: 'is required for a schedule' });
    else {
      const problem = await cronIssue(t.cron, timeZone);
      if (problem) issues.push({ path: ['trigger', 'cron'], message: `is not a valid cron expression: ${problem}` });
    }
  } else if (t.cron || t.threads) issues.push({ path: ['trigger', t.cron ? 'cron' : 'threads'], message: 'goes only with a schedule trigger' });
  if (t.channels && t.type !== 'message.received' && t.type !== 'message.sent')
    issues.push({ path: ['trigger', 'channels'], message: 'goes only with message.received and message.sent' });
  return issues.map((x) => ({ path: ['body', ...x.path].join('.'), message: x.message }));
}

/** A step by its key: "2", or "2.onEvent.0" in a wait's branch. */
export function stepAt(steps: WorkflowStep[], key: string): WorkflowStep | undefined {
  const [i, branch, j] = key.split('.');
  const top = steps[Number(i)];
  if (branch === undefined) return top;
  if (!top || top.type !== 'wait' || (branch !== 'onEvent' && branch !== 'onTimeout')) return undefined;
  return top[branch][Number(j)];
}

/** The step after `key` (a branch's end goes on after its wait); null when the run is done. */
export function nextStepKey(steps: WorkflowStep[], key: string): string | null {
  const [i, branch, j] = key.split('.');
  const n = Number(i);
  if (branch !== undefined) {
    const wait = steps[n] as WaitStep;
    const list = wait[branch as 'onEvent' | 'onTimeout'];
    if (Number(j) + 1 < list.length) return `${n}.${branch}.${Number(j) + 1}`;
    if (wait.stopAfterBranch) return null;
  }
  return n + 1 < steps.length ? String(n + 1) : null;
}

/** Where a wait goes on after it ended by `how`. */
export function afterWait(steps: WorkflowStep[], key: string, how: 'event' | 'timeout'): string | null {
  const wait = steps[Number(key)] as WaitStep;
  const branch = how === 'event' ? 'onEvent' : 'onTimeout';
  if (wait[branch].length > 0) return `${key}.${branch}.0`;
  if (wait.stopAfterBranch) return null;
  return nextStepKey(steps, key);
}
