// SLA policies (/api/sla-policies): targets by thread priority (first response, next response,
// resolution; each in business or calendar minutes) and conditions (customers, customer tiers,
// channels). The most specific matching policy applies to a thread: customer > tier and channel >
// tier > channel > the default, ties broken by position. The default policy (one per organization,
// made with it) has no conditions, is always on and cannot be deleted.
import * as z from 'zod';
import { CHANNEL_KINDS } from '../channels/mailboxes.js';
import type { Ctx } from '../context.js';
import { CUSTOMER_TIERS } from '../customers/service.js';
import { conflict, invalid, notFound } from '../errors.js';
import { recordChange, topics, type EventsOf } from '../realtime.js';
import { scheduleRecompute } from './clock.js';

export const PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const TARGETS = ['firstResponse', 'nextResponse', 'resolution'] as const;
export type TargetKind = (typeof TARGETS)[number];

const target = z.strictObject({
  minutes: z
    .int()
    .min(1)
    .max(366 * 24 * 60, 'must be at most a year'),
  /** Business minutes on the policy's calendar (default), or calendar minutes. */
  business: z.boolean().default(true),
});
const row = z.strictObject({ firstResponse: target.optional(), nextResponse: target.optional(), resolution: target.optional() });
export const policyTargets = z.strictObject({ urgent: row.optional(), high: row.optional(), normal: row.optional(), low: row.optional() });
export type Targets = z.infer<typeof policyTargets>;

export const policyConditions = z.strictObject({
  customerIds: z.array(z.uuid()).min(1).max(200).optional(),
  customerTiers: z.array(z.enum(CUSTOMER_TIERS)).min(1).optional(),
  channels: z.array(z.enum(CHANNEL_KINDS)).min(1).optional(),
});
export type Conditions = z.infer<typeof policyConditions>;

const policyFields = {
  name: z.string().trim().min(1).max(100),
  description: z.string().trim().max(2000).nullable(),
  /** The calendar business minutes are counted on; null for the organization's default calendar. */
  calendarId: z.uuid().nullable(),
  targets: policyTargets,
  conditions: policyConditions,
  position: z.int().min(0).max(999_999),
  enabled: z.boolean(),
  /** sla.warning is raised at this share of each target. */
  warningPercent: z.int().min(1).max(99),
  /** Whether an automation's reply satisfies a response target (a member's reply always does). */
  automationRepliesCount: z.boolean(),
};

export const policyCreate = z.strictObject({
  ...policyFields,
  description: policyFields.description.default(null),
  calendarId: policyFields.calendarId.default(null),
  position: policyFields.position.default(0),
  enabled: policyFields.enabled.default(true),
  warningPercent: policyFields.warningPercent.default(75),
  automationRepliesCount: policyFields.automationRepliesCount.default(false),
});

export const policyUpdate = z
  .strictObject(policyFields)
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'must change at least one field' });

export interface Policy {
  id: string;
  name: string;
  description: string | null;
  calendarId: string | null;
  targets: Targets;
  conditions: Conditions;
  position: number;
  enabled: boolean;
  isDefault: boolean;
  warningPercent: number;
  automationRepliesCount: boolean;
  createdAt: Date;
  updatedAt: Date;
}

const columns = (ctx: Ctx) =>
  ctx.sql`id, name, description, calendar_id, targets, conditions, position, enabled, is_default, warning_percent, automation_replies_count, created_at, updated_at`;

/** How specific a policy's conditions are: customer 4, tier and channel 3, tier 2, channel 1, none 0. */
export function specificity(c: Conditions): number {
  if (c.customerIds?.length) return 4;
  if (c.customerTiers?.length && c.channels?.length) return 3;
  if (c.customerTiers?.length) return 2;
  if (c.channels?.length) return 1;
  return 0;
}

export interface PolicySubject {
  customerId: string | null;
  customerTier: string | null;
  channel: string;
}

/** Whether every condition the policy has holds for the thread. */
export function policyMatches(c: Conditions, t: PolicySubject): boolean {
  if (c.customerIds?.length && !(t.customerId && c.customerIds.includes(t.customerId))) return false;
  if (c.customerTiers?.length && !(t.customerTier && (c.customerTiers as string[]).includes(t.customerTier))) return false;
  if (c.channels?.length && !(c.channels as string[]).includes(t.channel)) return false;
  return true;
}

/** The policy that applies: the most specific enabled match, ties by position, then name. */
export function choosePolicy<P extends Pick<Policy, 'conditions' | 'enabled' | 'position' | 'name' | 'isDefault'>>(policies: P[], t: PolicySubject): P | null {
  let best: P | null = null;
  let bestRank = -1;
  for (const p of policies) {
    if (!(p.enabled || p.isDefault) || !policyMatches(p.conditions, t)) continue;
    const rank = specificity(p.conditions);
    if (rank > bestRank || (rank === bestRank && best && (p.position < best.position || (p.position === best.position && p.name < best.name)))) {
      best = p;
      bestRank = rank;
    }
  }
  return best;
}

export async function listPolicies(ctx: Ctx) {
  const data = await ctx.sql<Policy[]>`
    select ${columns(ctx)} from app.sla_policies where org_id = ${ctx.orgId} order by is_default, position, name limit 500`;
  return { data, nextCursor: null };
}

export async function getPolicy(ctx: Ctx, id: string): Promise<Policy> {
  const [p] = await ctx.sql<Policy[]>`select ${columns(ctx)} from app.sla_policies where org_id = ${ctx.orgId} and id = ${id}`;
  if (!p) throw notFound('SLA policy');
  return p;
}

/** Customers named by a policy must be this organization's. */
async function checkConditions(ctx: Ctx, c: Conditions) {
  if (!c.customerIds?.length) return;
  const found = await ctx.sql<{ id: string }[]>`
    select id from app.customers where org_id = ${ctx.orgId} and deleted_at is null and id = any(${c.customerIds}::uuid[])`;
  const known = new Set(found.map((r) => r.id));
  c.customerIds.forEach((id, i) => {
    if (!known.has(id)) throw invalid(`body.conditions.customerIds.${i}`, 'is not a customer of this organization');
  });
}

async function checkCalendar(ctx: Ctx, calendarId: string | null | undefined) {
  if (!calendarId) return;
  const [c] = await ctx.sql`select 1 from app.business_calendars where org_id = ${ctx.orgId} and id = ${calendarId}`;
  if (!c) throw invalid('body.calendarId', 'is not a business calendar of this organization');
}

function checkTargets(targets: Targets) {
  if (!PRIORITIES.some((p) => TARGETS.some((t) => targets[p]?.[t]))) throw invalid('body.targets', 'must set at least one target');
}

async function announce(ctx: Ctx, event: EventsOf<'sla_policy'>, id: string, input: unknown) {
  const policy = await getPolicy(ctx, id);
  // Threads' clocks follow their policy: recomputed by a job (lib/sla/clock.ts).
  await scheduleRecompute(ctx);
  await recordChange(ctx, { event, topics: [topics.org(ctx.orgId)], data: policy, audit: { entityType: 'sla_policy', entityId: id, data: input } });
  return policy;
}

export async function createPolicy(ctx: Ctx, input: z.infer<typeof policyCreate>) {
  if (specificity(input.conditions) === 0)
    throw invalid('body.conditions', 'must name customers, customer tiers or channels: only the default policy applies to every thread');
  checkTargets(input.targets);
  await checkConditions(ctx, input.conditions);
  await checkCalendar(ctx, input.calendarId);
  const [p] = await ctx.sql<{ id: string }[]>`
    insert into app.sla_policies (org_id, name, description, calendar_id, targets, conditions, position, enabled, warning_percent, automation_replies_count)
    values (${ctx.orgId}, ${input.name}, ${input.description}, ${input.calendarId}, ${ctx.sql.json(input.targets as never)},
      ${ctx.sql.json(input.conditions as never)}, ${input.position}, ${input.enabled}, ${input.warningPercent}, ${input.automationRepliesCount})
    returning id`;
  return announce(ctx, 'sla_policy.created', p!.id, input);
}

export async function updatePolicy(ctx: Ctx, id: string, input: z.infer<typeof policyUpdate>) {
  const before = await getPolicy(ctx, id);
  if (before.isDefault) {
    if (input.conditions && specificity(input.conditions) > 0)
      throw invalid('body.conditions', 'the default policy applies to every thread: it takes no conditions');
    if (input.enabled === false) throw invalid('body.enabled', 'the default policy cannot be disabled');
  } else if (input.conditions && specificity(input.conditions) === 0) {
    throw invalid('body.conditions', 'must name customers, customer tiers or channels: only the default policy applies to every thread');
  }
  if (input.targets) checkTargets(input.targets);
  if (input.conditions) await checkConditions(ctx, input.conditions);
  await checkCalendar(ctx, input.calendarId);
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) set[k] = k === 'targets' || k === 'conditions' ? ctx.sql.json(v as never) : v;
  await ctx.sql`update app.sla_policies set ${ctx.sql(set as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  return announce(ctx, 'sla_policy.updated', id, input);
}

export async function deletePolicy(ctx: Ctx, id: string) {
  const policy = await getPolicy(ctx, id);
  if (policy.isDefault) throw conflict('The default policy cannot be deleted; change its targets instead');
  await ctx.sql`delete from app.sla_policies where id = ${id} and org_id = ${ctx.orgId}`;
  await scheduleRecompute(ctx);
  await recordChange(ctx, { event: 'sla_policy.deleted', topics: [topics.org(ctx.orgId)], data: { id }, audit: { entityType: 'sla_policy', entityId: id } });
  return null;
}
