// Sender rules of an organization: block, allow or mark as bulk an email address, an email domain or
// a phone number. Managers keep the list (GET/POST /api/sender-rules, GET/PATCH/DELETE
// /api/sender-rules/{id}); marking a thread spam or not spam writes its sender's rule (putRule);
// ingest reads them through senderVerdict (verdict.ts).
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { conflict, invalid, notFound } from '../errors.js';
import { csvList, decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { domainName, phoneNumber } from '../customers/service.js';
import { normalizePhones } from '../org/region.js';
import { recordChange, topics, type EventsOf } from '../realtime.js';
import { SENDER_RULE_KINDS, SENDER_RULE_MATCHES, type SenderRuleKind, type SenderRuleMatch } from './verdict.js';

const note = z.string().trim().max(1000).nullable();

export const senderRuleCreate = z.strictObject({
  kind: z.enum(SENDER_RULE_KINDS),
  match: z.enum(SENDER_RULE_MATCHES),
  /** An email address, a domain or a phone number, as `match` says (checked in valueFor). */
  value: z.string().trim().min(1).max(320),
  note: note.optional(),
});

/** The kind, the value (of the same match: delete and add a rule to match another way) or the note. */
export const senderRuleUpdate = z
  .strictObject({ kind: z.enum(SENDER_RULE_KINDS), value: z.string().trim().min(1).max(320), note })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const senderRuleListQuery = z.object({
  ...pageQuery,
  kind: csvList(z.enum(SENDER_RULE_KINDS)),
  match: csvList(z.enum(SENDER_RULE_MATCHES)),
  /** Part of the value: an address, a domain or a number. */
  q: z.string().trim().min(1).max(320).optional(),
});

export interface SenderRule {
  id: string;
  kind: SenderRuleKind;
  match: SenderRuleMatch;
  value: string;
  note: string | null;
  source: 'manual' | 'thread';
  threadId: string | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const columns = (sql: Ctx['sql']) => sql`r.id, r.kind, r.match, r.value, r.note, r.source, r.thread_id, r.created_by, r.created_at, r.updated_at`;

const emailAddress = z.email();

/** The value as rules store and compare it: a lower-case address or domain, an E.164 number. */
export async function valueFor(ctx: Ctx, match: SenderRuleMatch, raw: string, path: string): Promise<string> {
  const value = raw.trim();
  if (match === 'address') {
    const address = value.toLowerCase();
    if (!emailAddress.safeParse(address).success) throw invalid(path, 'must be an email address such as name@example.com (match is address)');
    return address;
  }
  if (match === 'domain') {
    const domain = domainName.safeParse(value.replace(/^@/, ''));
    if (!domain.success) throw invalid(path, 'must be a domain such as example.com (match is domain)');
    return domain.data;
  }
  if (!phoneNumber.safeParse(value).success) throw invalid(path, 'must be a phone number such as +91 98200 98200 (match is phone)');
  const [where, field] = path.split('.') as ['body', string];
  return (await normalizePhones(ctx, { [field]: value }, [field], where)).value[field] as string;
}

async function existing(ctx: Ctx, match: SenderRuleMatch, value: string, except?: string) {
  const [rule] = await ctx.sql<{ id: string; kind: string }[]>`
    select id, kind from app.sender_rules where org_id = ${ctx.orgId} and match = ${match} and value = ${value}
      ${except ? ctx.sql`and id <> ${except}` : ctx.sql``}`;
  return rule;
}

const duplicate = (rule: { id: string; kind: string }, match: string, value: string) =>
  conflict(`body.value: the ${match} ${value} already has a rule (${rule.kind}, ${rule.id}); change that one`, {
    issues: [{ path: 'body.value', message: 'already has a rule' }],
    ruleId: rule.id,
  });

const announce = (ctx: Ctx, event: EventsOf<'sender_rule'>, rule: SenderRule | { id: string }, data?: unknown) =>
  recordChange(ctx, {
    event,
    topics: [topics.org(ctx.orgId)],
    data: rule,
    audit: { entityType: 'sender_rule', entityId: rule.id, data },
  });

export async function listSenderRules(ctx: Ctx, q: z.infer<typeof senderRuleListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, z.tuple([z.iso.datetime({ offset: true }), z.uuid()]));
  const rows = await sql<(SenderRule & { sortAt: string })[]>`
    select ${columns(sql)}, ${exactInstant(sql, 'r.created_at', 'sort_at')} from app.sender_rules r
    where r.org_id = ${ctx.orgId}
      ${q.kind ? sql`and r.kind = any(${q.kind}::text[])` : sql``}
      ${q.match ? sql`and r.match = any(${q.match}::text[])` : sql``}
      ${q.q ? sql`and strpos(r.value, ${q.q.toLowerCase()}) > 0` : sql``}
      ${after ? sql`and (r.created_at, r.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
    order by r.created_at desc, r.id desc
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.id]);
  return { ...page, data: page.data.map(({ sortAt: _s, ...r }) => r) };
}

export async function getSenderRule(ctx: Ctx, id: string): Promise<SenderRule> {
  const [rule] = await ctx.sql<SenderRule[]>`select ${columns(ctx.sql)} from app.sender_rules r where r.id = ${id} and r.org_id = ${ctx.orgId}`;
  if (!rule) throw notFound('Sender rule');
  return rule;
}

/** The lock that makes two writers of one sender's rule queue, so the second sees the first's row. */
const lockValue = (ctx: Ctx, match: string, value: string) =>
  ctx.sql`select pg_advisory_xact_lock(hashtextextended(${`${ctx.orgId}:sender-rule:${match}:${value}`}, 0))`;

export async function createSenderRule(ctx: Ctx, input: z.infer<typeof senderRuleCreate>): Promise<SenderRule> {
  const value = await valueFor(ctx, input.match, input.value, 'body.value');
  await lockValue(ctx, input.match, value);
  const taken = await existing(ctx, input.match, value);
  if (taken) throw duplicate(taken, input.match, value);
  const [rule] = await ctx.sql<SenderRule[]>`
    insert into app.sender_rules as r (org_id, kind, match, value, note, created_by)
    values (${ctx.orgId}, ${input.kind}, ${input.match}, ${value}, ${input.note ?? null}, ${ctx.userId})
    returning ${columns(ctx.sql)}`;
  await announce(ctx, 'sender_rule.created', rule!, { ...input, value });
  return rule!;
}

export async function updateSenderRule(ctx: Ctx, id: string, input: z.infer<typeof senderRuleUpdate>): Promise<SenderRule> {
  const current = await getSenderRule(ctx, id);
  const changes: Record<string, unknown> = {};
  if (input.kind !== undefined) changes.kind = input.kind;
  if (input.note !== undefined) changes.note = input.note;
  if (input.value !== undefined) {
    const value = await valueFor(ctx, current.match, input.value, 'body.value');
    await lockValue(ctx, current.match, value);
    const taken = await existing(ctx, current.match, value, id);
    if (taken) throw duplicate(taken, current.match, value);
    changes.value = value;
  }
  const [rule] = await ctx.sql<SenderRule[]>`
    update app.sender_rules r set ${ctx.sql(changes as never)} where r.id = ${id} and r.org_id = ${ctx.orgId} returning ${columns(ctx.sql)}`;
  await announce(ctx, 'sender_rule.updated', rule!, changes);
  return rule!;
}

export async function deleteSenderRule(ctx: Ctx, id: string): Promise<void> {
  const rule = await getSenderRule(ctx, id);
  await ctx.sql`delete from app.sender_rules where id = ${id} and org_id = ${ctx.orgId}`;
  await announce(ctx, 'sender_rule.deleted', { id }, { kind: rule.kind, match: rule.match, value: rule.value });
}

/**
 * Sets the rule for one sender (an agent marking a thread spam or not spam): the sender's own rule
 * changes kind, or a new one is made. Domain rules stay: an address rule is more specific and wins.
 */
export async function putRule(ctx: Ctx, rule: { kind: SenderRuleKind; match: SenderRuleMatch; value: string; threadId: string }): Promise<SenderRule> {
  const sql = ctx.sql;
  await lockValue(ctx, rule.match, rule.value);
  const taken = await existing(ctx, rule.match, rule.value);
  if (taken?.kind === rule.kind) return getSenderRule(ctx, taken.id);
  const [saved] = taken
    ? await sql<SenderRule[]>`
        update app.sender_rules r set kind = ${rule.kind}, source = 'thread', thread_id = ${rule.threadId}
        where r.id = ${taken.id} returning ${columns(sql)}`
    : await sql<SenderRule[]>`
        insert into app.sender_rules as r (org_id, kind, match, value, source, thread_id, created_by)
        values (${ctx.orgId}, ${rule.kind}, ${rule.match}, ${rule.value}, 'thread', ${rule.threadId}, ${ctx.userId})
        returning ${columns(sql)}`;
  await announce(ctx, taken ? 'sender_rule.updated' : 'sender_rule.created', saved!, { kind: rule.kind, threadId: rule.threadId });
  return saved!;
}
