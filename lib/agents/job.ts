// The agent.task job: calls an external agent's MCP tool with the SDK's client and puts the result on
// the thread. Three steps, each committed on its own: mark the task running (announced), call the tool
// outside any transaction (through the private-network guard, within the task's timeout), record the
// tool call and the result as a note or a draft (announced). A tool that answers an error fails the task
// at once, a call that takes longer than the agent's timeout (or the task's deadline) times it out, and a
// server that cannot be reached is retried by the job system, the task failed when the job dies. Failed
// and timed-out tasks are retried with POST /api/agent-tasks/{id}/retry. A crash between the call and
// the record calls the tool again when the job runs again.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { HostRefusedError, publicFetch } from '../channels/net-guard.js';
import { savepoint, type Ctx } from '../context.js';
import { AppError } from '../errors.js';
import { openSecret, SecretUnavailableError, type SealedSecret } from '../crypto/secrets.js';
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { reply, replyBody } from '../messages/service.js';
import { createNote } from '../notes/service.js';
import { announceAgentTask } from './service.js';

interface TaskRow {
  id: string;
  threadId: string;
  tool: string;
  instructions: string | null;
  arguments: Record<string, unknown>;
  deliverAs: 'note' | 'draft';
  status: string;
  deadlineAt: Date;
  agentName: string;
  url: string;
  credentialsSealed: SealedSecret | null;
  timeoutSeconds: number;
  agentStatus: string;
}

interface ToolCall {
  tool: string;
  startedAt: string;
  durationMs: number;
  isError: boolean;
  error?: string;
}

/** What the agent is told about the thread: its facts and latest messages, oldest first. */
async function threadContext(ctx: Ctx, threadId: string) {
  const [thread] = await ctx.sql`
    select t.id, t.subject, t.channel, t.status, t.priority, t.counterpart, t.tags, c.name as customer_name, t.last_message_at
    from app.threads t left join app.customers c on c.id = t.customer_id and c.org_id = t.org_id
    where t.id = ${threadId} and t.org_id = ${ctx.orgId}`;
  const messages = await ctx.sql`
    select direction, from_address as "from", subject, left(coalesce(body_new_text, body_text, ''), 4000) as text, occurred_at as at
    from app.messages where org_id = ${ctx.orgId} and thread_id = ${threadId} and status <> 'draft'
    order by occurred_at desc, arrival desc limit 20`;
  return { ...thread, messages: messages.reverse() };
}

async function updateTask(ctx: Ctx, id: string, changes: Record<string, unknown>) {
  await ctx.sql`update app.agent_tasks set ${ctx.sql(changes as never)} where id = ${id} and org_id = ${ctx.orgId}`;
}

async function appendCall(ctx: Ctx, id: string, call: ToolCall) {
  await ctx.sql`update app.agent_tasks set tool_calls = tool_calls || ${ctx.sql.json([call] as never)}::jsonb where id = ${id} and org_id = ${ctx.orgId}`;
}

/** The SDK's HTTP through publicFetch: public hosts only (unless ALLOW_PRIVATE_NETWORK_HOSTS), no redirects. */
function guardedFetch(timeoutMs: number) {
  return async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    const body = typeof init?.body === 'string' ? init.body : undefined;
    return publicFetch(url, { method: init?.method ?? 'GET', headers, body, timeoutMs });
  };
}

const resultText = (r: CallToolResult) =>
  r.content
    .map((c) => (c.type === 'text' ? c.text : `[${c.type}]`))
    .join('\n\n')
    .trim();

type Outcome =
  | { kind: 'result'; call: ToolCall; result: CallToolResult }
  | { kind: 'failed' | 'timed_out'; call: ToolCall | null; error: string }
  | { kind: 'retry'; call: ToolCall; error: Error };

/** Connects to the agent's server with the SDK's client and calls the tool once, within timeoutMs. */
async function callAgent(task: TaskRow & { context: unknown }, orgId: string, timeoutMs: number): Promise<Outcome> {
  let credentials: { bearerToken?: string; headers?: Record<string, string> } = {};
  try {
    if (task.credentialsSealed) credentials = openSecret(task.credentialsSealed, orgId);
  } catch (error) {
    if (error instanceof SecretUnavailableError) return { kind: 'failed', call: null, error: `The agent's credentials cannot be read: ${error.message}` };
    throw error;
  }
  const headers: Record<string, string> = { ...(credentials.headers ?? {}) };
  if (credentials.bearerToken) headers.authorization = `Bearer ${credentials.bearerToken}`;
  const started = Date.now();
  const call = (isError: boolean, error?: string): ToolCall => ({
    tool: task.tool,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    isError,
    ...(error ? { error: error.slice(0, 2000) } : {}),
  });
  const client = new Client({ name: 'banxway', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(task.url), { requestInit: { headers }, fetch: guardedFetch(timeoutMs + 1000) });
  try {
    await client.connect(transport, { timeout: timeoutMs });
    const result = (await client.callTool(
      { name: task.tool, arguments: { ...task.arguments, instructions: task.instructions ?? '', thread: task.context } },
      undefined,
      { timeout: Math.max(1, timeoutMs - (Date.now() - started)) },
    )) as CallToolResult;
    if (result.isError)
      return { kind: 'failed', call: call(true, resultText(result)), error: `The agent's tool answered an error: ${resultText(result).slice(0, 2000)}` };
    return { kind: 'result', call: call(false), result };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
      return { kind: 'timed_out', call: call(true, message), error: `The agent did not answer within ${Math.round(timeoutMs / 1000)} s` };
    }
    if (error instanceof HostRefusedError) return { kind: 'failed', call: call(true, message), error: message };
    if (error instanceof McpError) return { kind: 'failed', call: call(true, message), error: `The agent's server refused the call: ${message}` };
    // 4xx (bad credentials, unknown path) will not change by retrying; 408, 429 and 5xx may.
    const status = error instanceof StreamableHTTPError ? (error.code ?? 0) : 0;
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return { kind: 'failed', call: call(true, message), error: `The agent's server answered ${status}: ${message}` };
    }
    return { kind: 'retry', call: call(true, message), error: error instanceof Error ? error : new Error(message) };
  } finally {
    await client.close().catch(() => {});
  }
}

/** The result on the thread: a note signed with the agent's name, or a draft reply for a person to send. */
async function deliver(ctx: Ctx, task: TaskRow, text: string) {
  if (task.deliverAs === 'draft') {
    const message = await reply(ctx, task.threadId, replyBody.parse({ text: text.slice(0, 100_000) || '(the agent answered nothing)', draft: true }));
    return { messageId: message.id };
  }
  const note = await createNote(ctx, task.threadId, { body: `${task.agentName} (agent): ${text || '(no answer)'}`.slice(0, 20_000) });
  return { noteId: note.id as string };
}

export const agentTaskJob = defineJob({
  ...jobSpecs.agentTask,
  async perform({ transact, orgId, payload, job }) {
    const task = await transact(async (ctx) => {
      const [row] = await ctx.sql<TaskRow[]>`
        select t.id, t.thread_id, t.tool, t.instructions, t.arguments, t.deliver_as, t.status, t.deadline_at,
          a.name as agent_name, a.url, a.credentials_sealed, a.timeout_seconds, a.status as agent_status
        from app.agent_tasks t join app.agents a on a.id = t.agent_id
        where t.id = ${payload.taskId} and t.org_id = ${ctx.orgId}`;
      if (!row || (row.status !== 'queued' && row.status !== 'running')) return null;
      if (row.agentStatus !== 'active' || row.deadlineAt.getTime() <= Date.now()) {
        const timedOut = row.agentStatus === 'active';
        await updateTask(ctx, row.id, {
          status: timedOut ? 'timed_out' : 'failed',
          error: timedOut ? 'The task passed its deadline before the agent answered' : 'The agent was disabled',
          finishedAt: new Date(),
        });
        await announceAgentTask(ctx, 'agent_task.updated', row.id, { status: timedOut ? 'timed_out' : 'failed' });
        return null;
      }
      await updateTask(ctx, row.id, { status: 'running', attempts: job.attempts, startedAt: new Date() });
      await announceAgentTask(ctx, 'agent_task.updated', row.id);
      return { ...row, context: await threadContext(ctx, row.threadId) };
    });
    if (!task) return;

    const timeoutMs = Math.max(1000, Math.min(task.timeoutSeconds * 1000, task.deadlineAt.getTime() - Date.now()));
    const outcome = await callAgent(task, orgId, timeoutMs);

    await transact(async (ctx) => {
      if (outcome.call) await appendCall(ctx, task.id, outcome.call);
      if (outcome.kind === 'result') {
        const text = resultText(outcome.result);
        const result = ctx.sql.json({ text, structuredContent: outcome.result.structuredContent ?? null } as never);
        let placed: { noteId?: string; messageId?: string };
        try {
          // In a savepoint: a result the thread refuses (a draft on a channel with no sending channel left)
          // fails the task, keeping the agent's answer, instead of calling the agent again.
          placed = await savepoint(ctx, (sp) => deliver(sp, task, text));
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          const message = `The agent answered, but the result could not be placed on the thread: ${error.message}`;
          await updateTask(ctx, task.id, { status: 'failed', error: message, result, finishedAt: new Date() });
          await announceAgentTask(ctx, 'agent_task.updated', task.id, { status: 'failed', error: message });
          return;
        }
        await updateTask(ctx, task.id, { status: 'succeeded', error: null, result, finishedAt: new Date(), ...placed });
        await announceAgentTask(ctx, 'agent_task.updated', task.id, { status: 'succeeded', ...placed });
      } else if (outcome.kind === 'retry') {
        // Still running: the job system tries again (onDead fails the task when it gives up).
        await updateTask(ctx, task.id, { error: outcome.error.message.slice(0, 2000) });
        await announceAgentTask(ctx, 'agent_task.updated', task.id);
      } else {
        await updateTask(ctx, task.id, { status: outcome.kind, error: outcome.error, finishedAt: new Date() });
        await announceAgentTask(ctx, 'agent_task.updated', task.id, { status: outcome.kind, error: outcome.error });
      }
    });
    if (outcome.kind === 'retry') throw outcome.error;
  },
  async onDead({ ctx, payload, error }) {
    const [row] = await ctx.sql<{ status: string }[]>`select status from app.agent_tasks where id = ${payload.taskId} and org_id = ${ctx.orgId}`;
    if (row?.status !== 'queued' && row?.status !== 'running') return;
    await updateTask(ctx, payload.taskId, { status: 'failed', error: `The agent could not be reached: ${error}`.slice(0, 2000), finishedAt: new Date() });
    await announceAgentTask(ctx, 'agent_task.updated', payload.taskId, { status: 'failed' });
  },
});
