// Conditions against facts: the thread as it is, the message that triggered (or the thread's latest
// inbound one), what changed, the time. Facts load once per event (one statement) and every candidate
// workflow evaluates against them in memory; evaluation is pure and allocation-light (the bench counts
// its CPU per message). Regular expressions are compiled once per pattern (re2js: linear time).
import type { RE2JS } from 're2js';
import type { Ctx } from '../context.js';
import { businessCalendarOf, defaultCalendar } from '../sla/calendars.js';
import { compileRegex, type Condition, type ConditionLeaf } from './definition.js';

export interface Facts {
  threadId: string;
  messageId: string | null;
  channel: string | null;
  mailbox: string | null;
  customer: string | null;
  tier: string | null;
  contact: string | null;
  counterpart: string | null;
  senderDomain: string | null;
  intent: string | null;
  sentiment: string | null;
  urgency: string | null;
  priority: string | null;
  status: string | null;
  assignee: string | null;
  team: string | null;
  /** The code of the milestone a `shipment.milestone` event is about; null otherwise. */
  milestone: string | null;
  subject: string;
  body: string;
  tags: string[];
  identifiers: string[];
  changed: string[];
  hasAttachment: boolean;
  lastInboundAt: Date | null;
  lastOutboundAt: Date | null;
  /** Whether `now` is inside the default business calendar's hours (loaded only when a condition asks). */
  insideBusinessHours: boolean | null;
  now: Date;
}

/** Body conditions read the first this many characters of the message (its new text, else the whole text, or a call's transcript). */
export const BODY_CHARS = 20_000;

const regexes = new Map<string, RE2JS>();

function regex(pattern: string, caseSensitive = false): RE2JS {
  const key = `${caseSensitive ? 1 : 0}:${pattern}`;
  let r = regexes.get(key);
  if (!r) {
    if (regexes.size > 2000) regexes.clear();
    r = compileRegex(pattern, caseSensitive);
    regexes.set(key, r);
  }
  return r;
}

/** Whether any leaf of the condition needs the business calendar. */
export function needsCalendar(c: Condition | undefined): boolean {
  if (!c) return false;
  if ('all' in c) return c.all.some(needsCalendar);
  if ('any' in c) return c.any.some(needsCalendar);
  if ('not' in c) return needsCalendar(c.not);
  return c.field === 'businessHours';
}

function leaf(c: ConditionLeaf, f: Facts): boolean {
  switch (c.field) {
    case 'subject':
    case 'body': {
      const haystack = c.field === 'subject' ? f.subject : f.body;
      let hit: boolean;
      if (c.op === 'contains' || c.op === 'notContains') {
        hit = c.caseSensitive ? haystack.includes(c.value) : haystack.toLowerCase().includes(c.value.toLowerCase());
      } else hit = regex(c.value, c.caseSensitive).test(haystack);
      return c.op === 'contains' || c.op === 'matches' ? hit : !hit;
    }
    case 'tags':
    case 'identifiers':
    case 'changed': {
      const have = f[c.field];
      if (c.op === 'hasAll') return c.value.every((v) => have.includes(v));
      const any = c.value.some((v) => have.includes(v));
      return c.op === 'hasAny' ? any : !any;
    }
    case 'hasAttachment':
      return f.hasAttachment === c.value;
    case 'businessHours':
      return c.op === 'inside' ? f.insideBusinessHours === true : f.insideBusinessHours === false;
    case 'sinceLastInbound':
    case 'sinceLastOutbound': {
      const at = c.field === 'sinceLastInbound' ? f.lastInboundAt : f.lastOutboundAt;
      // Never: infinitely long ago.
      const minutes = at ? (f.now.getTime() - at.getTime()) / 60_000 : Infinity;
      return c.op === 'moreThan' ? minutes > c.minutes : minutes < c.minutes;
    }
    default: {
      const actual = f[c.field];
      switch (c.op) {
        case 'isSet':
          return actual !== null;
        case 'isNotSet':
          return actual === null;
        case 'is':
          return actual !== null && equal(c.field, actual, c.value as string);
        case 'isNot':
          return actual === null || !equal(c.field, actual, c.value as string);
        case 'in':
          return actual !== null && (c.value as string[]).some((v) => equal(c.field, actual, v));
        case 'notIn':
          return actual === null || !(c.value as string[]).some((v) => equal(c.field, actual, v));
      }
    }
  }
}

/** Ids compare case-insensitively, as do domains; the rest are enum values. */
const equal = (field: string, a: string, b: string) => (field === 'senderDomain' || a.length === 36 ? a.toLowerCase() === b.toLowerCase() : a === b);

export function evaluate(c: Condition | undefined, f: Facts): boolean {
  if (!c) return true;
  if ('all' in c) return c.all.every((x) => evaluate(x, f));
  if ('any' in c) return c.any.some((x) => evaluate(x, f));
  if ('not' in c) return !evaluate(c.not, f);
  return leaf(c, f);
}

interface FactRow {
  threadId: string;
  channel: string | null;
  channelId: string | null;
  customerId: string | null;
  tier: string | null;
  contactId: string | null;
  counterpart: string | null;
  intent: string | null;
  sentiment: string | null;
  urgency: string | null;
  priority: string | null;
  status: string | null;
  assigneeId: string | null;
  teamId: string | null;
  subject: string | null;
  tags: string[];
  lastInboundAt: Date | null;
  lastOutboundAt: Date | null;
  messageId: string | null;
  messageSubject: string | null;
  body: string | null;
  fromAddress: string | null;
  messageIntent: string | null;
  messageSentiment: string | null;
  messageUrgency: string | null;
  identifiers: Record<string, string[]> | null;
  hasAttachment: boolean;
  milestoneCode: string | null;
}

/**
 * The facts of a thread (and of `messageId`, else its latest inbound message), in one statement;
 * undefined when the thread is not the organization's. The message's own analysis wins over the
 * thread's roll-up.
 */
export async function loadFacts(
  ctx: Ctx,
  threadId: string,
  options: { messageId?: string | null; milestoneId?: string | null; changed?: string[]; now: Date; calendar?: boolean },
): Promise<Facts | undefined> {
  const sql = ctx.sql;
  const [r] = await sql<FactRow[]>`
    select t.id as thread_id, t.channel, t.channel_id, t.customer_id, c.tier, t.contact_id, t.counterpart, t.intent, t.sentiment, t.urgency,
      t.priority, t.status, t.assignee_id, t.team_id, t.subject, t.tags, t.last_inbound_at, t.last_outbound_at,
      m.id as message_id, m.subject as message_subject, left(coalesce(m.transcript, m.body_new_text, m.body_text), ${BODY_CHARS}) as body, m.from_address,
      m.intent as message_intent, m.sentiment as message_sentiment, m.urgency as message_urgency, m.metadata -> 'identifiers' as identifiers,
      exists (select 1 from app.attachments a where a.message_id = m.id and not a.is_inline) as has_attachment,
      ${
        options.milestoneId
          ? sql`(select sm.code from app.shipment_milestones sm where sm.id = ${options.milestoneId} and sm.org_id = t.org_id)`
          : sql`null::text`
      } as milestone_code
    from app.threads t
      left join app.customers c on c.id = t.customer_id
      left join lateral (
        select * from app.messages m
        where m.org_id = t.org_id and m.thread_id = t.id
          and ${options.messageId ? sql`m.id = ${options.messageId}` : sql`m.direction = 'inbound'`}
        order by m.occurred_at desc, m.arrival desc limit 1) m on true
    where t.id = ${threadId} and t.org_id = ${ctx.orgId}`;
  if (!r) return undefined;
  let inside: boolean | null = null;
  if (options.calendar) {
    const cal = businessCalendarOf(await defaultCalendar(ctx));
    const at = options.now.getTime();
    inside = cal.msBetween(at, at + 60_000) > 0;
  }
  const from = r.fromAddress ?? '';
  const identifiers = r.identifiers
    ? Object.entries(r.identifiers)
        .filter(([, v]) => Array.isArray(v) && v.length > 0)
        .map(([k]) => k)
    : [];
  return {
    threadId: r.threadId,
    messageId: r.messageId,
    channel: r.channel,
    mailbox: r.channelId,
    customer: r.customerId,
    tier: r.tier,
    contact: r.contactId,
    counterpart: r.counterpart,
    senderDomain: from.includes('@') ? from.slice(from.lastIndexOf('@') + 1).toLowerCase() : null,
    intent: r.messageIntent ?? r.intent,
    sentiment: r.messageSentiment ?? r.sentiment,
    urgency: r.messageUrgency ?? r.urgency,
    priority: r.priority,
    status: r.status,
    assignee: r.assigneeId,
    team: r.teamId,
    milestone: r.milestoneCode,
    subject: r.messageSubject ?? r.subject ?? '',
    body: r.body ?? '',
    tags: r.tags ?? [],
    identifiers,
    changed: options.changed ?? [],
    hasAttachment: r.hasAttachment,
    lastInboundAt: r.lastInboundAt,
    lastOutboundAt: r.lastOutboundAt,
    insideBusinessHours: inside,
    now: options.now,
  };
}
