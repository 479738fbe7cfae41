// Handing a thread to an external agent: an organization registers an MCP server (URL through the
// private-network guard, credentials sealed), a member or a macro step hands a thread to one of its
// tools, and the agent.task job calls it with the SDK's client against an MCP server this test starts
// with the SDK, then records the task, its tool calls and the result on the thread (note or draft) with
// realtime events. A tool error, a timeout and bad credentials are visible on the task and retryable.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { config, setConfig, type Config } from '../../lib/config.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let org: TestOrg;
let saved: Config;
let agentServer: Server;
let agentUrl: string;
const SECRET = `agent-secret-${randomUUID()}`;
/** What the agent's tools were called with, newest last. */
const received: { tool: string; args: Record<string, unknown>; authorization?: string }[] = [];

/** The external agent: an MCP server over the SDK's Streamable HTTP transport, stateless, bearer-checked. */
function startAgent(): Promise<string> {
  agentServer = createServer((req, res) => void handle(req, res));
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${SECRET}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    const server = new McpServer({ name: 'test-agent', version: '1.0.0' });
    const note = (tool: string, args: Record<string, unknown>) => received.push({ tool, args, authorization: req.headers.authorization });
    const input = { instructions: z.string().optional(), thread: z.looseObject({ id: z.string(), subject: z.string() }), tone: z.string().optional() };
    server.registerTool('triage', { inputSchema: input }, (args) => {
      note('triage', args);
      const last = (args.thread.messages as { text: string }[] | undefined)?.at(-1)?.text ?? '';
      return { content: [{ type: 'text', text: `Customer asks: "${last}". Suggest sending the draft B/L today (${args.tone ?? 'plain'}).` }] };
    });
    server.registerTool('broken', { inputSchema: input }, (args) => {
      note('broken', args);
      return { isError: true, content: [{ type: 'text', text: 'The carrier portal is down' }] };
    });
    server.registerTool('slow', { inputSchema: input }, async (args, extra) => {
      note('slow', args);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, 4000);
        extra.signal.addEventListener('abort', () => (clearTimeout(t), resolve(null)));
      });
      return { content: [{ type: 'text', text: 'too late' }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void server.close());
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };
  return new Promise((resolve) => agentServer.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(agentServer.address() as AddressInfo).port}/mcp`)));
}

beforeAll(async () => {
  db = await testDatabase();
  saved = config();
  org = await newOrganization(db.sql);
  await db.sql`
    insert into app.channels (org_id, kind, name, address, sending_domain_status) values (${org.id}, 'email', 'Ops', ${`ops@${org.domain}`}, 'verified')`;
  agentUrl = await startAgent();
});
beforeEach(async () => {
  // The agent runs on loopback: allowed here only, as for on-premises servers.
  setConfig({ ...saved, network: { ...saved.network, allowPrivateHosts: true } });
  await drainJobs();
});
afterAll(async () => {
  setConfig(saved);
  agentServer.closeAllConnections();
  await new Promise((resolve) => agentServer.close(resolve));
  await db.close();
});

async function newThread() {
  const [t] = await db.sql<{ id: string }[]>`
    insert into app.threads (org_id, subject, channel, counterpart) values (${org.id}, ${`Booking ${randomUUID().slice(0, 6)}`}, 'email', 'buyer@customer.example') returning id`;
  await db.sql`
    insert into app.messages (org_id, thread_id, channel, direction, status, body_text)
    values (${org.id}, ${t!.id}, 'email', 'inbound', 'received', 'Please share the draft B/L for MSKU1234565')`;
  return t!.id;
}

async function registerAgent(input: Record<string, unknown> = {}) {
  const res = await org.json('POST', '/api/agents', {
    as: 'admin',
    body: { name: `Agent ${randomUUID().slice(0, 6)}`, url: agentUrl, defaultTool: 'triage', credentials: { bearerToken: SECRET }, ...input },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string };
}

const taskOf = async (threadId: string, id: string) =>
  (await org.json('GET', `/api/threads/${threadId}/agent-tasks`)).body.data.find((t: { id: string }) => t.id === id);

describe('agent tasks', () => {
  it('registers agents with sealed credentials, never answered, and refuses private hosts', async () => {
    const agent = await registerAgent();
    const list = await org.json('GET', '/api/agents', { as: 'viewer' });
    expect(list.status).toBe(200);
    const listed = list.body.data.find((a: { id: string }) => a.id === agent.id);
    expect(listed.hasCredentials).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain(SECRET);
    const [row] = await db.sql<{ credentialsSealed: unknown }[]>`select credentials_sealed from app.agents where id = ${agent.id}`;
    expect(JSON.stringify(row!.credentialsSealed)).not.toContain(SECRET);
    expect((await org.json('POST', '/api/agents', { as: 'manager', body: { name: 'x', url: agentUrl } })).status).toBe(403);

    setConfig(saved);
    const refused = await org.json('POST', '/api/agents', { as: 'admin', body: { name: `Private ${randomUUID()}`, url: agentUrl } });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details.issues[0].path).toBe('body.url');
  });

  it('hands a thread to the agent: the job calls its tool with the SDK client and posts the result as a note', async () => {
    const agent = await registerAgent();
    const thread = await newThread();
    const since = await broadcastsSince(db.sql);
    const created = await org.json('POST', `/api/threads/${thread}/agent-tasks`, {
      body: { agentId: agent.id, instructions: 'Triage this request', arguments: { tone: 'formal' } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ status: 'queued', tool: 'triage', deliverAs: 'note', createdBy: org.users.agent.id });
    await drainJobs();

    const task = await taskOf(thread, created.body.id);
    expect(task.status).toBe('succeeded');
    expect(task.toolCalls).toHaveLength(1);
    expect(task.toolCalls[0]).toMatchObject({ tool: 'triage', isError: false });
    expect(task.result.text).toContain('draft B/L');
    const call = received.findLast((r) => r.tool === 'triage')!;
    expect(call.authorization).toBe(`Bearer ${SECRET}`);
    expect(call.args).toMatchObject({ instructions: 'Triage this request', tone: 'formal', thread: { id: thread } });

    const notes = await org.json('GET', `/api/threads/${thread}/notes`);
    const note = notes.body.data.find((n: { id: string }) => n.id === task.noteId);
    expect(note.body).toContain('(agent): Customer asks');
    const events = (await since()).filter((b) => b.event.startsWith('agent_task.'));
    expect(events.map((e) => [e.event, (e.payload as { data: { status: string } }).data.status])).toEqual(
      expect.arrayContaining([
        ['agent_task.created', 'queued'],
        ['agent_task.updated', 'running'],
        ['agent_task.updated', 'succeeded'],
      ]),
    );
  });

  it('delivers as a draft reply (never sent) when asked, and from a macro step', async () => {
    const agent = await registerAgent();
    const thread = await newThread();
    const created = await org.json('POST', `/api/threads/${thread}/agent-tasks`, { body: { agentId: agent.id, deliverAs: 'draft' } });
    await drainJobs();
    const task = await taskOf(thread, created.body.id);
    expect(task.status).toBe('succeeded');
    const [draft] = await db.sql<{ status: string; bodyText: string }[]>`select status, body_text from app.messages where id = ${task.messageId}`;
    expect(draft).toMatchObject({ status: 'draft' });
    expect(draft!.bodyText).toContain('draft B/L');

    const macro = await org.json('POST', '/api/macros', {
      body: { name: `Ask the agent ${randomUUID().slice(0, 6)}`, steps: [{ type: 'agent', agentId: agent.id, instructions: 'From a macro' }] },
    });
    expect(macro.status, JSON.stringify(macro.body)).toBe(201);
    const run = await org.json('POST', `/api/macros/${macro.body.id}/run`, { body: { threadIds: [thread] } });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    await drainJobs();
    const tasks = (await org.json('GET', `/api/threads/${thread}/agent-tasks`)).body.data;
    const fromMacro = tasks.find((t: { source: string }) => t.source === 'macro');
    expect(fromMacro).toMatchObject({ status: 'succeeded', instructions: 'From a macro' });
  });

  it('shows a tool error, a timeout and refused credentials on the task, and retries them', async () => {
    const agent = await registerAgent();
    const thread = await newThread();
    const broken = await org.json('POST', `/api/threads/${thread}/agent-tasks`, { body: { agentId: agent.id, tool: 'broken' } });
    const slow = await org.json('POST', `/api/threads/${thread}/agent-tasks`, { body: { agentId: agent.id, tool: 'slow' } });
    // The slow task's deadline is a second away: the call is given no longer than that.
    await db.sql`update app.agent_tasks set deadline_at = now() + interval '1 second' where id = ${slow.body.id}`;
    await drainJobs();
    const b = await taskOf(thread, broken.body.id);
    expect(b).toMatchObject({ status: 'failed' });
    expect(b.error).toContain('carrier portal is down');
    expect(b.toolCalls[0]).toMatchObject({ tool: 'broken', isError: true });
    const s = await taskOf(thread, slow.body.id);
    expect(s.status).toBe('timed_out');
    expect(s.error).toContain('did not answer');

    const wrong = await registerAgent({ credentials: { bearerToken: 'wrong' } });
    const refused = await org.json('POST', `/api/threads/${thread}/agent-tasks`, { body: { agentId: wrong.id } });
    await drainJobs();
    const r = await taskOf(thread, refused.body.id);
    expect(r.status).toBe('failed');
    expect(r.error).toContain('401');

    // Fixed credentials, then a retry succeeds.
    expect((await org.json('PATCH', `/api/agents/${wrong.id}`, { as: 'admin', body: { credentials: { bearerToken: SECRET } } })).status).toBe(200);
    const retried = await org.json('POST', `/api/agent-tasks/${refused.body.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('queued');
    await drainJobs();
    const again = await taskOf(thread, refused.body.id);
    expect(again.status).toBe('succeeded');
    expect(again.toolCalls).toHaveLength(2);
    expect((await org.json('POST', `/api/agent-tasks/${refused.body.id}/retry`)).status).toBe(409);
  });

  it('fails the task, keeping the answer, when the result cannot be placed on the thread', async () => {
    const agent = await registerAgent();
    // A WhatsApp thread of an organization with no WhatsApp number: no draft can be saved on it.
    const [t] = await db.sql<{ id: string }[]>`
      insert into app.threads (org_id, subject, channel, counterpart) values (${org.id}, 'WhatsApp', 'whatsapp', '+919800000001') returning id`;
    const created = await org.json('POST', `/api/threads/${t!.id}/agent-tasks`, { body: { agentId: agent.id, deliverAs: 'draft' } });
    await drainJobs();
    const task = await taskOf(t!.id, created.body.id);
    expect(task.status).toBe('failed');
    expect(task.error).toContain('could not be placed on the thread');
    expect(task.result.text).toContain('Suggest sending');
    expect(task.messageId).toBeNull();
  });

  it('never hands a thread to another organization’s agent, nor reads their tasks', async () => {
    const other = await newOrganization(db.sql);
    const theirs = (await other.json('POST', '/api/agents', { as: 'admin', body: { name: 'Theirs', url: agentUrl } })).body as { id: string };
    const thread = await newThread();
    const res = await org.json('POST', `/api/threads/${thread}/agent-tasks`, { body: { agentId: theirs.id } });
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues[0].path).toBe('body.agentId');
    expect((await other.json('GET', `/api/threads/${thread}/agent-tasks`)).status).toBe(404);
    expect((await org.json('GET', '/api/agents')).body.data.map((a: { id: string }) => a.id)).not.toContain(theirs.id);
  });
});
