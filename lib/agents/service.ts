// External agents an organization hands threads to, and the tasks it hands them. An agent is an MCP
// server (its URL checked by the private-network guard when registered and again when called; its
// credentials sealed like channel secrets and never answered). Handing a thread to an agent records a
// task and queues the agent.task job (lib/agents/job.ts), which calls the tool with the MCP SDK's client
// and puts the result on the thread as a note or a draft. handThreadToAgent is the one entry point:
// the REST route, and automations (workflow steps) call it.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { sealSecret } from '../crypto/secrets.js';
import { HostRefusedError, resolvePublicHost } from '../channels/net-guard.js';
import { AppError, invalid, notFound } from '../errors.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';
import { recordChange, topics } from '../realtime.js';
import { wireId, wireInstant } from '../wire.js';

/** Who started a task: a member by hand, a workflow, a macro step, or an API key. */
export const AGENT_TASK_SOURCES = ['manual', 'workflow', 'macro', 'api'] as const;
export type AgentTaskSource = (typeof AGENT_TASK_SOURCES)[number];

const toolName = z.string().regex(/^[A-Za-z0-9_./-]{1,128}$/, 'must be an MCP tool name (letters, digits, _ . / -)');
const agentUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
  .max(2000)
  .refine((u) => {
    const url = new URL(u);
    return !url.username && !url.password;
  }, 'must not carry credentials (give them in credentials)');
const credentials = z
  .strictObject({
    bearerToken: z.string().min(1).max(4000).optional(),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'is not a header name'), z.string().max(4000)).optional(),
  })
  .nullable();

export const agentCreate = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().trim().max(2000).nullable().default(null),
  url: agentUrl,
  defaultTool: toolName.nullable().default(null),
  credentials: credentials.default(null),
  timeoutSeconds: z.number().int().min(5).max(240).default(120),
});
export const agentUpdate = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().trim().max(2000).nullable(),
    url: agentUrl,
    defaultTool: toolName.nullable(),
    credentials,
    timeoutSeconds: z.number().int().min(5).max(240),
    status: z.enum(['active', 'disabled']),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const agentTaskCreate = z.strictObject({
  agentId: z.uuid(),
  tool: toolName.optional(),
  instructions: z.string().trim().max(20_000).optional(),
  arguments: z.record(z.string(), z.unknown()).optional(),
  deliverAs: z.enum(['note', 'draft']).default('note'),
});

export const agentWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    description: z.string().nullable(),
    url: z.string(),
    defaultTool: z.string().nullable(),
    hasCredentials: z.boolean(),
    timeoutSeconds: z.number(),
    status: z.enum(['active', 'disabled']),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Agent' });
export const agentListWire = z.strictObject({ data: z.array(agentWire) });

export const agentTaskWire = z
  .strictObject({
    id: wireId,
    threadId: wireId,
    agentId: wireId,
    agentName: z.string(),
    tool: z.string(),
    instructions: z.string().nullable(),
    deliverAs: z.enum(['note', 'draft']),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'timed_out']),
    toolCalls: z.array(z.unknown()),
    result: z.unknown().nullable(),
    error: z.string().nullable(),
    attempts: z.number(),
    deadlineAt: wireInstant,
    noteId: wireId.nullable(),
    messageId: wireId.nullable(),
    createdBy: wireId.nullable(),
    createdByApiKey: wireId.nullable(),
    source: z.enum(AGENT_TASK_SOURCES),
    startedAt: wireInstant.nullable(),
    finishedAt: wireInstant.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'AgentTask' });
export const agentTaskListWire = z.strictObject({ data: z.array(agentTaskWire) });

const agentColumns = `id, name, description, url, default_tool, credentials_sealed is not null as has_credentials, timeout_seconds, status,
  created_by, created_at, updated_at`;
const taskColumns = `t.id, t.thread_id, t.agent_id, a.name as agent_name, t.tool, t.instructions, t.deliver_as, t.status, t.tool_calls, t.result,
  t.error, t.attempts, t.deadline_at, t.note_id, t.message_id, t.created_by, t.created_by_api_key, t.source, t.started_at, t.finished_at,
  t.created_at, t.updated_at`;

/** The agent's URL must reach a public host (unless ALLOW_PRIVATE_NETWORK_HOSTS): checked when saved and when called. */
async function checkHost(url: string) {
  try {
    await resolvePublicHost(new URL(url).hostname);
  } catch (error) {
    if (error instanceof HostRefusedError) throw invalid('body.url', error.message);
    throw error;
  }
}

async function agentView(ctx: Ctx, id: string) {
  const [row] = await ctx.sql`select ${ctx.sql.unsafe(agentColumns)} from app.agents where id = ${id} and org_id = ${ctx.orgId}`;
  if (!row) throw notFound('Agent');
  return row;
}

export async function listAgents(ctx: Ctx) {
  return { data: await ctx.sql`select ${ctx.sql.unsafe(agentColumns)} from app.agents where org_id = ${ctx.orgId} order by name limit 500` };
}

export async function createAgent(ctx: Ctx, input: z.infer<typeof agentCreate>) {
  await checkHost(input.url);
  const [dup] = await ctx.sql`select 1 from app.agents where org_id = ${ctx.orgId} and name = ${input.name}`;
  if (dup) throw new AppError('conflict', `An agent named "${input.name}" exists already`);
  const [row] = await ctx.sql<{ id: string }[]>`
    insert into app.agents (org_id, name, description, url, default_tool, credentials_sealed, timeout_seconds, created_by)
    values (${ctx.orgId}, ${input.name}, ${input.description}, ${input.url}, ${input.defaultTool},
      ${input.credentials ? ctx.sql.json(sealSecret(input.credentials, ctx.orgId) as never) : null}, ${input.timeoutSeconds}, ${ctx.userId})
    returning id`;
  const view = await agentView(ctx, row!.id);
  await recordChange(ctx, {
    event: 'agent.created',
    topics: [topics.org(ctx.orgId)],
    data: view,
    audit: { entityType: 'agent', entityId: row!.id, data: { name: input.name, url: input.url } },
  });
  return view;
}

export async function updateAgent(ctx: Ctx, id: string, input: z.infer<typeof agentUpdate>) {
  await agentView(ctx, id);
  if (input.url) await checkHost(input.url);
  const changes: Record<string, unknown> = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.description !== undefined) changes.description = input.description;
  if (input.url !== undefined) changes.url = input.url;
  if (input.defaultTool !== undefined) changes.defaultTool = input.defaultTool;
  if (input.timeoutSeconds !== undefined) changes.timeoutSeconds = input.timeoutSeconds;
  if (input.status !== undefined) changes.status = input.status;
  if (input.credentials !== undefined) changes.credentialsSealed = input.credentials ? ctx.sql.json(sealSecret(input.credentials, ctx.orgId) as never) : null;
  await ctx.sql`update app.agents set ${ctx.sql(changes as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  const view = await agentView(ctx, id);
  await recordChange(ctx, {
    event: 'agent.updated',
    topics: [topics.org(ctx.orgId)],
    data: view,
    audit: { entityType: 'agent', entityId: id, data: { ...input, credentials: input.credentials === undefined ? undefined : '(changed)' } },
  });
  return view;
}

export async function deleteAgent(ctx: Ctx, id: string) {
  await agentView(ctx, id);
  await ctx.sql`delete from app.agents where id = ${id} and org_id = ${ctx.orgId}`;
  await recordChange(ctx, { event: 'agent.deleted', topics: [topics.org(ctx.orgId)], data: { id }, audit: { entityType: 'agent', entityId: id } });
  return null;
}

export async function agentTaskView(ctx: Ctx, id: string) {
  const [row] = await ctx.sql`
    select ${ctx.sql.unsafe(taskColumns)} from app.agent_tasks t join app.agents a on a.id = t.agent_id
    where t.id = ${id} and t.org_id = ${ctx.orgId}`;
  if (!row) throw notFound('Agent task');
  return row;
}

/** Tells the thread's screens (and the audit log) what happened to a task. */
export async function announceAgentTask(ctx: Ctx, event: 'agent_task.created' | 'agent_task.updated', id: string, audit?: Record<string, unknown>) {
  const task = await agentTaskView(ctx, id);
  await recordChange(ctx, {
    event,
    topics: [topics.thread(ctx.orgId, task.threadId as string), topics.org(ctx.orgId)],
    data: task,
    ...(audit ? { audit: { entityType: 'agent_task', entityId: id, data: audit } } : {}),
  });
  return task;
}

async function queueRun(ctx: Ctx, taskId: string, deadlineAt: Date) {
  await enqueue(ctx, jobSpecs.agentTask, { taskId }, { deadlineAt, dedupeKey: `agent.task:${taskId}:${Date.now()}` });
}

/**
 * Hands a thread to an agent's tool: records the task (queued, with a deadline of the agent's timeout
 * plus time to wait for a worker) and queues the job. The REST route and workflow steps call this.
 */
export async function handThreadToAgent(ctx: Ctx, threadId: string, input: z.infer<typeof agentTaskCreate>, source: AgentTaskSource = 'manual') {
  const [thread] = await ctx.sql`select id from app.threads where id = ${threadId} and org_id = ${ctx.orgId}`;
  if (!thread) throw notFound('Thread');
  const [agent] = await ctx.sql<{ id: string; status: string; defaultTool: string | null; timeoutSeconds: number }[]>`
    select id, status, default_tool, timeout_seconds from app.agents where id = ${input.agentId} and org_id = ${ctx.orgId}`;
  if (!agent) throw invalid('body.agentId', 'is not an agent of this organization');
  if (agent.status !== 'active') throw invalid('body.agentId', 'is disabled');
  const tool = input.tool ?? agent.defaultTool;
  if (!tool) throw invalid('body.tool', 'is required: the agent has no default tool');
  // The call's own timeout, plus the time a queued job may wait and be retried.
  const deadlineAt = new Date(Date.now() + agent.timeoutSeconds * 1000 + 10 * 60_000);
  const [row] = await ctx.sql<{ id: string }[]>`
    insert into app.agent_tasks (org_id, thread_id, agent_id, tool, instructions, arguments, deliver_as, deadline_at, created_by, created_by_api_key, source)
    values (${ctx.orgId}, ${threadId}, ${agent.id}, ${tool}, ${input.instructions ?? null}, ${ctx.sql.json((input.arguments ?? {}) as never)},
      ${input.deliverAs}, ${deadlineAt}, ${ctx.userId}, ${ctx.apiKey?.id ?? null}, ${ctx.apiKey && source === 'manual' ? 'api' : source})
    returning id`;
  await queueRun(ctx, row!.id, deadlineAt);
  return announceAgentTask(ctx, 'agent_task.created', row!.id, { threadId, agentId: agent.id, tool, deliverAs: input.deliverAs });
}

export async function listAgentTasks(ctx: Ctx, threadId: string) {
  const [thread] = await ctx.sql`select id from app.threads where id = ${threadId} and org_id = ${ctx.orgId}`;
  if (!thread) throw notFound('Thread');
  const data = await ctx.sql`
    select ${ctx.sql.unsafe(taskColumns)} from app.agent_tasks t join app.agents a on a.id = t.agent_id
    where t.org_id = ${ctx.orgId} and t.thread_id = ${threadId} order by t.created_at desc, t.id desc limit 100`;
  return { data };
}

/** A failed or timed-out task runs again: queued with a fresh deadline and a new job. */
export async function retryAgentTask(ctx: Ctx, id: string) {
  const task = await agentTaskView(ctx, id);
  if (task.status !== 'failed' && task.status !== 'timed_out')
    throw new AppError('conflict', `The task is ${task.status as string}: only failed or timed-out tasks are retried`);
  const [agent] = await ctx.sql<{ timeoutSeconds: number; status: string }[]>`
    select timeout_seconds, status from app.agents where id = ${task.agentId as string} and org_id = ${ctx.orgId}`;
  if (agent?.status !== 'active') throw new AppError('conflict', 'The agent is disabled');
  const deadlineAt = new Date(Date.now() + agent.timeoutSeconds * 1000 + 10 * 60_000);
  await ctx.sql`
    update app.agent_tasks set status = 'queued', error = null, result = null, deadline_at = ${deadlineAt}, started_at = null, finished_at = null
    where id = ${id} and org_id = ${ctx.orgId}`;
  await queueRun(ctx, id, deadlineAt);
  return announceAgentTask(ctx, 'agent_task.updated', id, { retried: true });
}
