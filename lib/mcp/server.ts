// The MCP server over the inbox: one McpServer per request (stateless Streamable HTTP), whose tools call
// the same functions the REST routes call, each in its own transaction as the caller (an API key or a
// member's token) under RLS, after the same role-by-action check with the key's scopes. Reading tools
// need *.read, writing ones threads.write; sending a reply is its own tool and needs a key scoped to
// `replies.send` (lib/api-keys/scopes.ts; members send as on the REST API).
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { actionCreate, actionListQuery, actionUpdate, createAction, listActions, updateAction } from '../actions/service.js';
import type { Ctx } from '../context.js';
import { getCustomer } from '../customers/service.js';
import { AppError, fromZod, invalid } from '../errors.js';
import { actAs } from '../http/act.js';
import type { Action } from '../http/permissions.js';
import type { Caller } from '../http/rate-limit.js';
import { listMessages, messageListQuery, reply, replyBody } from '../messages/service.js';
import { createNote, noteCreate } from '../notes/service.js';
import { search, searchQuery } from '../search/service.js';
import { getShipment } from '../shipments/service.js';
import { shipmentTimeline, timelineQuery } from '../shipments/timeline.js';
import { getThread, listThreads, threadListQuery, threadUpdate, updateThread } from '../threads/service.js';

export const MCP_SERVER_INFO = { name: 'banxway-inbox', version: '1.0.0' };

export interface McpCaller {
  caller: Caller;
  requestId: string;
  orgHeader: string | null;
}

/** Parses tool input with the REST schema, so a tool refuses what the route refuses, naming the field. */
function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error, 'body', input);
  return parsed.data;
}

const asText = (data: unknown): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(data, null, 1) }],
  structuredContent: { result: JSON.parse(JSON.stringify(data ?? null)) as unknown },
});

/** A refused or failed call is a tool error the agent can read (code, message and the fields concerned). */
function toolError(error: unknown): CallToolResult {
  if (error instanceof AppError) {
    const issues = (error.details as { issues?: { path: string; message: string }[] } | undefined)?.issues;
    const detail = issues?.length ? ` (${issues.map((i) => `${i.path}: ${i.message}`).join('; ')})` : '';
    return { isError: true, content: [{ type: 'text', text: `${error.code}: ${error.message}${detail}` }] };
  }
  throw error;
}

/** A shipment as GET /api/shipments/{id} answers it, with the first page of its timeline (GET …/timeline). */
export async function shipmentView(ctx: Ctx, id: string) {
  const shipment = await getShipment(ctx, id);
  return { ...shipment, timeline: await shipmentTimeline(ctx, id, timelineQuery.parse({})) };
}

async function threadWithMessages(ctx: Ctx, id: string, limit = 50) {
  const thread = await getThread(ctx, id);
  const messages = await listMessages(ctx, id, parse(messageListQuery, { limit: String(limit), order: 'desc' }));
  return { thread, messages: messages.data.reverse(), olderMessages: messages.nextCursor !== null };
}

const uuid = z.uuid();

export function createMcpServer(who: McpCaller): McpServer {
  const server = new McpServer(MCP_SERVER_INFO, { capabilities: { tools: {}, resources: {} } });
  const run = async (action: Action, fn: (ctx: Ctx) => Promise<unknown>): Promise<CallToolResult> => {
    try {
      return asText(await actAs(who.caller, { requestId: who.requestId, orgHeader: who.orgHeader, action }, fn));
    } catch (error) {
      return toolError(error);
    }
  };

  server.registerTool(
    'search_threads',
    {
      description:
        'Search the inbox. With q: threads whose messages (subject and body), notes, contact, customer, linked shipments or documents match, ' +
        'best first, each with its highlighted hits (GET /api/search: "quoted phrases", or, -exclusions; a container, AWB, B/L or booking ' +
        'number in any written form). Without q: the inbox list, newest activity first, filtered by status, priority, assignee, customer, shipment, tag.',
      inputSchema: {
        q: z.string().max(200).optional().describe('words, "a phrase", -excluded, or a reference such as MSKU 123456-5'),
        status: z.string().optional().describe('comma-separated statuses, e.g. open,pending'),
        channel: z.string().optional().describe('comma-separated channels (email, whatsapp, sms, voice)'),
        customer: uuid.optional(),
        type: z.string().optional().describe('with q: comma-separated hit types (message, note, contact, customer, shipment, document)'),
        from: z.string().optional().describe('with q: hits at or after this instant (ISO 8601)'),
        to: z.string().optional().describe('with q: hits before this instant (ISO 8601)'),
        priority: z.string().optional().describe('without q: comma-separated priorities'),
        assignee: z.string().optional().describe("without q: a member id, 'me' or 'none'"),
        shipment: uuid.optional().describe('without q: threads linked to this shipment'),
        tag: z.string().optional().describe('without q'),
        limit: z.number().int().min(1).max(100).optional(),
        cursor: z.string().optional().describe('nextCursor of the previous page'),
      },
    },
    (input) => {
      const given = Object.fromEntries(Object.entries(input).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])));
      return run('threads.read', async (ctx) => {
        if (given.q === undefined) return listThreads(ctx, parse(threadListQuery, given));
        // The search: one rule for the REST route and the agent (lib/search).
        const listOnly = ['priority', 'assignee', 'shipment', 'tag'].find((k) => given[k] !== undefined);
        if (listOnly) throw invalid(`body.${listOnly}`, 'filters the list without q; with q use status, channel, customer, type, from, to');
        return search(ctx, parse(searchQuery, given));
      });
    },
  );

  server.registerTool(
    'get_thread',
    {
      description: 'Read a thread with its latest messages (oldest first).',
      inputSchema: { threadId: uuid, limit: z.number().int().min(1).max(100).optional() },
    },
    ({ threadId, limit }) => run('threads.read', (ctx) => threadWithMessages(ctx, threadId, limit)),
  );

  server.registerTool('get_customer', { description: 'Read a customer with its contacts.', inputSchema: { customerId: uuid } }, ({ customerId }) =>
    run('customers.read', (ctx) => getCustomer(ctx, customerId)),
  );

  server.registerTool(
    'get_shipment',
    { description: 'Read a shipment (identifiers, ports, dates) and its milestone timeline.', inputSchema: { shipmentId: uuid } },
    ({ shipmentId }) => run('shipments.read', (ctx) => shipmentView(ctx, shipmentId)),
  );

  server.registerTool(
    'list_overdue_actions',
    {
      description: 'Open actions (tasks) past their due time, soonest due first.',
      inputSchema: { thread: uuid.optional(), assignee: z.string().optional(), limit: z.number().int().min(1).max(100).optional() },
    },
    (input) =>
      run('threads.read', (ctx) =>
        listActions(
          ctx,
          parse(actionListQuery, {
            overdue: 'true',
            ...(input.thread ? { thread: input.thread } : {}),
            ...(input.assignee ? { assignee: input.assignee } : {}),
            ...(input.limit ? { limit: String(input.limit) } : {}),
          }),
        ),
      ),
  );

  server.registerTool(
    'draft_reply',
    {
      description: 'Save a reply on a thread as a draft for a person to review and send. Never sends.',
      inputSchema: { threadId: uuid, text: z.string().min(1).max(100_000), subject: z.string().max(1000).optional() },
    },
    ({ threadId, ...content }) => run('threads.write', (ctx) => reply(ctx, threadId, parse(replyBody, { ...content, draft: true }))),
  );

  server.registerTool(
    'send_reply',
    {
      description: 'Send a reply on a thread now, to its counterpart. An API key needs the replies.send scope.',
      inputSchema: { threadId: uuid, text: z.string().min(1).max(100_000), subject: z.string().max(1000).optional() },
    },
    ({ threadId, ...content }) => run('threads.write', (ctx) => reply(ctx, threadId, parse(replyBody, { ...content, draft: false }))),
  );

  server.registerTool(
    'add_note',
    {
      description: 'Add an internal note to a thread (never sent to the customer; @mentions notify members).',
      inputSchema: { threadId: uuid, body: z.string() },
    },
    ({ threadId, body }) => run('threads.write', (ctx) => createNote(ctx, threadId, parse(noteCreate, { body }))),
  );

  server.registerTool(
    'create_action',
    {
      description: 'Create an action (a task) on a thread.',
      inputSchema: {
        threadId: uuid,
        title: z.string(),
        description: z.string().optional(),
        dueAt: z.string().optional().describe('ISO 8601 instant'),
        assigneeId: uuid.optional(),
        priority: z.enum(['low', 'normal', 'high', 'urgent']).optional(),
      },
    },
    (input) => run('threads.write', (ctx) => createAction(ctx, parse(actionCreate, input))),
  );

  server.registerTool(
    'update_action',
    {
      description: 'Change an action: status (open, in_progress, done, cancelled), title, due time, assignee.',
      inputSchema: {
        actionId: uuid,
        status: z.string().optional(),
        title: z.string().optional(),
        dueAt: z.string().nullable().optional(),
        assigneeId: uuid.nullable().optional(),
      },
    },
    ({ actionId, ...changes }) =>
      run('threads.write', (ctx) =>
        updateAction(ctx, actionId, parse(actionUpdate, Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)))),
      ),
  );

  server.registerTool(
    'update_thread',
    {
      description: "Change a thread's status, priority, tags or assignee (null unassigns).",
      inputSchema: {
        threadId: uuid,
        status: z.string().optional(),
        snoozedUntil: z.string().optional(),
        priority: z.string().optional(),
        tags: z.array(z.string()).optional(),
        assigneeId: uuid.nullable().optional(),
      },
    },
    ({ threadId, ...changes }) =>
      run('threads.write', (ctx) =>
        updateThread(ctx, threadId, parse(threadUpdate, Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)))),
      ),
  );

  const resource = (action: Action, uri: URL, fn: (ctx: Ctx) => Promise<unknown>) =>
    actAs(who.caller, { requestId: who.requestId, orgHeader: who.orgHeader, action }, fn).then((data) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(data) }],
    }));

  server.registerResource(
    'thread',
    new ResourceTemplate('banxway://threads/{id}', { list: undefined }),
    { description: 'A thread with its latest messages', mimeType: 'application/json' },
    (uri, { id }) => resource('threads.read', uri, (ctx) => threadWithMessages(ctx, parse(uuid, id))),
  );
  server.registerResource(
    'shipment',
    new ResourceTemplate('banxway://shipments/{id}', { list: undefined }),
    { description: 'A shipment and its milestone timeline', mimeType: 'application/json' },
    (uri, { id }) => resource('shipments.read', uri, (ctx) => shipmentView(ctx, parse(uuid, id))),
  );
  return server;
}
