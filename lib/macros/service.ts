// Macros: a named list of steps an agent runs on one or many threads in one click (assign, status,
// priority, snooze, tags, a note, an action due some time after the run, a reply from a template, a
// link to a shipment, a task for an external agent).
// CRUD here (GET/POST /api/macros, GET/PATCH/DELETE /api/macros/{id}); running them in run.ts.
// Shared with the organization (templates.manage writes those) or personal, like reply templates.
import * as z from 'zod';
import { announceItem, requireMayWrite, uniqueName, VISIBILITIES, type Kind } from '../library/shared.js';
import type { Ctx } from '../context.js';
import { ACTION_TYPES } from '../actions/service.js';
import { invalid, notFound } from '../errors.js';
import { requireActiveMember } from '../org/members.js';
import { decodeCursor, pageQuery, toPage } from '../pagination.js';
import { escapeLike } from '../db/like.js';
import { PRIORITIES } from '../threads/service.js';
import { tag } from '../threads/tags.js';
import { templateVariables } from '../templates/given.js';
import { requireDeclaredValues, templateToUse } from '../templates/service.js';

const KIND: Kind = { plural: 'macros', singular: 'macro', entityType: 'macro' };

const MAX_MINUTES = 366 * 24 * 60;

/** The steps, in the order they run. Each calls the function its route calls (the same checks, events, notifications). */
export const macroStep = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('assign'), assigneeId: z.uuid().nullable().optional(), teamId: z.uuid().nullable().optional() }),
  z.strictObject({ type: z.literal('status'), status: z.enum(['open', 'pending', 'resolved', 'closed']) }),
  z.strictObject({ type: z.literal('priority'), priority: z.enum(PRIORITIES) }),
  /** Snoozed for this many minutes from the run. */
  z.strictObject({ type: z.literal('snooze'), minutes: z.number().int().min(1).max(MAX_MINUTES) }),
  z.strictObject({ type: z.literal('tags'), add: z.array(tag).max(30).optional(), remove: z.array(tag).max(30).optional() }),
  z.strictObject({ type: z.literal('note'), body: z.string().trim().min(1).max(20_000) }),
  z.strictObject({
    type: z.literal('action'),
    title: z.string().trim().min(1).max(500),
    description: z.string().trim().max(10_000).optional(),
    actionType: z.enum(ACTION_TYPES).optional(),
    priority: z.enum(PRIORITIES).optional(),
    assigneeId: z.uuid().optional(),
    /** Due this many minutes after the run. */
    dueInMinutes: z.number().int().min(0).max(MAX_MINUTES).optional(),
  }),
  /** A reply from a reply template (queued for sending, or saved as a draft), with values for its variables. */
  z.strictObject({ type: z.literal('reply'), templateId: z.uuid(), variables: templateVariables.optional(), draft: z.boolean().optional() }),
  /** Link the thread to a shipment by hand (as POST /api/shipments/{id}/threads: also undoes a rejection). */
  z.strictObject({ type: z.literal('shipment'), shipmentId: z.uuid() }),
  /** Hand the thread to an external agent's MCP tool (lib/agents): its result lands as a note or a draft. */
  z.strictObject({
    type: z.literal('agent'),
    agentId: z.uuid(),
    tool: z
      .string()
      .regex(/^[A-Za-z0-9_./-]{1,128}$/)
      .optional(),
    instructions: z.string().trim().max(20_000).optional(),
    deliverAs: z.enum(['note', 'draft']).optional(),
  }),
]);

export type MacroStep = z.infer<typeof macroStep>;

const steps = z
  .array(macroStep)
  .min(1)
  .max(20)
  .superRefine((list, c) => {
    list.forEach((s, i) => {
      if (s.type === 'assign' && s.assigneeId === undefined && s.teamId === undefined) {
        c.addIssue({ code: 'custom', path: [i, 'assigneeId'], message: 'name assigneeId and/or teamId' });
      }
      if (s.type === 'tags' && !s.add?.length && !s.remove?.length) c.addIssue({ code: 'custom', path: [i, 'add'], message: 'name tags to add and/or remove' });
    });
  });

const fields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().trim().max(2000).nullable(),
  steps,
  visibility: z.enum(VISIBILITIES),
};

export const macroCreate = z.strictObject({ ...fields, description: fields.description.optional(), visibility: fields.visibility.default('personal') });

export const macroUpdate = z
  .strictObject(fields)
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const macroListQuery = z.object({ ...pageQuery, q: z.string().trim().min(1).max(200).optional() });

export interface Macro {
  id: string;
  name: string;
  description: string | null;
  steps: MacroStep[];
  visibility: 'organization' | 'personal';
  ownerId: string | null;
  usageCount: number;
  lastRunAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const columns = (sql: Ctx['sql']) => sql`
  m.id, m.name, m.description, m.steps, case when m.owner_id is null then 'organization' else 'personal' end as visibility,
  m.owner_id, m.usage_count, m.last_run_at, m.created_by, m.created_at, m.updated_at`;

const cursorShape = z.tuple([z.number().int(), z.string(), z.uuid()]);

export async function listMacros(ctx: Ctx, q: z.infer<typeof macroListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, cursorShape);
  const rows = await sql<Macro[]>`
    select ${columns(sql)} from app.macros m
    where m.org_id = ${ctx.orgId} and (m.owner_id is null or m.owner_id = ${ctx.userId})
      ${q.q ? sql`and m.name ilike ${`%${escapeLike(q.q)}%`}` : sql``}
      ${after ? sql`and (m.usage_count < ${after[0]} or (m.usage_count = ${after[0]} and (m.name, m.id) > (${after[1]}, ${after[2]}::uuid)))` : sql``}
    order by m.usage_count desc, m.name, m.id
    limit ${sql.unsafe(String(q.limit + 1))}`;
  return toPage(rows, q.limit, (r) => [r.usageCount, r.name, r.id]);
}

/** A macro the caller may run: the organization's, or their own. */
export async function getMacro(ctx: Ctx, id: string): Promise<Macro> {
  const [row] = await ctx.sql<Macro[]>`
    select ${columns(ctx.sql)} from app.macros m where m.id = ${id} and m.org_id = ${ctx.orgId} and (m.owner_id is null or m.owner_id = ${ctx.userId})`;
  if (!row) throw notFound('Macro');
  return row;
}

/**
 * What a step names must exist now (members, teams, shipments, templates); a shared macro may not use a
 * personal template, which the rest of the team could not use, and a reply step gives the template's
 * own variables. Each run checks again, as the routes do.
 */
async function checkReferences(ctx: Ctx, list: MacroStep[], visibility: Macro['visibility']) {
  for (const [i, step] of list.entries()) {
    const path = `body.steps.${i}`;
    if ((step.type === 'assign' || step.type === 'action') && step.assigneeId) {
      await requireActiveMember(ctx, step.assigneeId, `${path}.assigneeId`, { works: true });
    }
    if (step.type === 'assign' && step.teamId) {
      const [team] = await ctx.sql`select 1 from app.teams where org_id = ${ctx.orgId} and id = ${step.teamId}`;
      if (!team) throw invalid(`${path}.teamId`, 'is not a team of this organization');
    }
    if (step.type === 'shipment') {
      const [found] = await ctx.sql`select 1 from app.shipments where org_id = ${ctx.orgId} and id = ${step.shipmentId}`;
      if (!found) throw invalid(`${path}.shipmentId`, 'is not a shipment of this organization');
    }
    if (step.type === 'reply') {
      const t = await templateToUse(ctx, step.templateId, `${path}.templateId`);
      if (visibility === 'organization' && t.ownerId) throw invalid(`${path}.templateId`, 'is a personal template: a shared macro uses shared templates');
      requireDeclaredValues(t, step.variables ?? {}, `${path}.variables`);
    }
  }
}

export async function createMacro(ctx: Ctx, input: z.infer<typeof macroCreate>) {
  requireMayWrite(ctx, KIND, input.visibility);
  await checkReferences(ctx, input.steps, input.visibility);
  const { visibility, steps: list, ...rest } = input;
  const [row] = await uniqueName(
    KIND,
    input.name,
    () =>
      ctx.sql<{ id: string }[]>`
      insert into app.macros ${ctx.sql({
        ...rest,
        steps: ctx.sql.json(list as never),
        orgId: ctx.orgId,
        ownerId: visibility === 'personal' ? ctx.userId : null,
        createdBy: ctx.userId,
      } as never)}
      returning id`,
  );
  const created = await getMacro(ctx, row!.id);
  await announceItem(ctx, KIND, 'macro.created', created, created);
  return created;
}

export async function updateMacro(ctx: Ctx, id: string, input: z.infer<typeof macroUpdate>) {
  const current = await getMacro(ctx, id);
  requireMayWrite(ctx, KIND, current.visibility);
  if (input.visibility) requireMayWrite(ctx, KIND, input.visibility);
  const visibility = input.visibility ?? current.visibility;
  if (input.steps || input.visibility) await checkReferences(ctx, input.steps ?? current.steps, visibility);
  const { visibility: v, steps: list, ...rest } = input;
  const changes: Record<string, unknown> = { ...rest };
  if (list) changes.steps = ctx.sql.json(list as never);
  if (v) changes.ownerId = v === 'personal' ? (current.ownerId ?? ctx.userId) : null;
  await uniqueName(
    KIND,
    input.name ?? current.name,
    () => ctx.sql`update app.macros set ${ctx.sql(changes as never)} where id = ${id} and org_id = ${ctx.orgId}`,
  );
  const updated = await getMacro(ctx, id);
  await announceItem(ctx, KIND, 'macro.updated', updated, updated);
  return updated;
}

export async function deleteMacro(ctx: Ctx, id: string) {
  const current = await getMacro(ctx, id);
  requireMayWrite(ctx, KIND, current.visibility);
  await ctx.sql`delete from app.macros where id = ${id} and org_id = ${ctx.orgId}`;
  await announceItem(ctx, KIND, 'macro.deleted', current, { id });
  return null;
}
