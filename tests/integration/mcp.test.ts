// The MCP server (api/mcp) through the SDK's own client (Client + StreamableHTTPClientTransport) against
// the same router the dev server serves: every tool listed and called with an API key, a key without the
// scope refused, another organization's data never reachable, a revoked key refused at once, a member's
// token accepted, and GET/DELETE 405.
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, router } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';

let db: TestDatabase;
let org: TestOrg;
let other: TestOrg;
beforeAll(async () => {
  db = await testDatabase();
  org = await newOrganization(db.sql);
  other = await newOrganization(db.sql);
  await db.sql`
    insert into app.channels (org_id, kind, name, address, sending_domain_status) values (${org.id}, 'email', 'Ops', ${`ops@${org.domain}`}, 'verified')`;
});
afterAll(() => db.close());

async function makeKey(o: TestOrg, input: Record<string, unknown> = {}) {
  const res = await o.json('POST', '/api/api-keys', { as: 'admin', body: { name: 'MCP agent', ...input } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; key: string };
}

/** The SDK's client, its HTTP going to the in-process router as the dev server would. */
async function connect(token: string) {
  const client = new Client({ name: 'banxway-test-agent', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL('http://localhost/api/mcp'), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    fetch: (input, init) => router.fetch(new Request(input, init)),
  });
  await client.connect(transport);
  return client;
}

const text = (r: unknown) => ((r as CallToolResult).content[0] as { text: string }).text;
const data = (r: unknown) => {
  expect((r as CallToolResult).isError, text(r)).toBeFalsy();
  return JSON.parse(text(r));
};

async function seedThread(o: TestOrg, subject: string) {
  const word = `zq${randomUUID().slice(0, 8)}`;
  const [customer] = await db.sql<{ id: string }[]>`insert into app.customers (org_id, name) values (${o.id}, ${`Customer ${subject}`}) returning id`;
  const [shipment] = await db.sql<{ id: string }[]>`
    insert into app.shipments (org_id, reference, mode, customer_id) values (${o.id}, ${`SH-${randomUUID().slice(0, 8)}`}, 'sea_fcl', ${customer!.id}) returning id`;
  await db.sql`insert into app.shipment_milestones (org_id, shipment_id, code, actual_at) values (${o.id}, ${shipment!.id}, 'departed', now())`;
  const [thread] = await db.sql<{ id: string }[]>`
    insert into app.threads (org_id, subject, channel, counterpart, customer_id) values (${o.id}, ${subject}, 'email', 'buyer@customer.example', ${customer!.id}) returning id`;
  await db.sql`
    insert into app.messages (org_id, thread_id, channel, direction, status, body_text, subject)
    values (${o.id}, ${thread!.id}, 'email', 'inbound', 'received', ${`Please share the draft B/L, ${word}`}, ${subject})`;
  const [action] = await db.sql<{ id: string }[]>`
    insert into app.actions (org_id, thread_id, title, due_at) values (${o.id}, ${thread!.id}, 'Chase the VGM', now() - interval '1 hour') returning id`;
  return { thread: thread!.id, customer: customer!.id, shipment: shipment!.id, action: action!.id, word };
}

describe('the MCP server', () => {
  it('lists its tools with input schemas and calls each through the SDK client', async () => {
    const s = await seedThread(org, `MCP ${randomUUID().slice(0, 6)}`);
    const key = await makeKey(org);
    const client = await connect(key.key);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        'add_note',
        'create_action',
        'draft_reply',
        'get_customer',
        'get_shipment',
        'get_thread',
        'list_overdue_actions',
        'search_threads',
        'send_reply',
        'update_action',
        'update_thread',
      ].sort(),
    );
    for (const t of tools) expect(t.inputSchema.type).toBe('object');

    const found = data(await client.callTool({ name: 'search_threads', arguments: { limit: 50 } }));
    expect(found.data.map((t: { id: string }) => t.id)).toContain(s.thread);
    // With q, the search (GET /api/search): the body's words, stemmed, highlighted.
    const searched = data(await client.callTool({ name: 'search_threads', arguments: { q: `${s.word} drafts`, type: 'message' } }));
    expect(searched.data.map((r: { thread: { id: string } }) => r.thread.id)).toEqual([s.thread]);
    expect(searched.data[0].hits[0].snippet).toContain('<mark>draft</mark>');
    const mixed = (await client.callTool({ name: 'search_threads', arguments: { q: 'draft', tag: 'bl' } })) as CallToolResult;
    expect(mixed.isError).toBe(true);
    expect(text(mixed)).toContain('body.tag');
    const read = data(await client.callTool({ name: 'get_thread', arguments: { threadId: s.thread } }));
    expect(read.thread.id).toBe(s.thread);
    expect(read.messages[0].bodyText).toContain('draft B/L');
    expect(data(await client.callTool({ name: 'get_customer', arguments: { customerId: s.customer } })).id).toBe(s.customer);
    const shipment = data(await client.callTool({ name: 'get_shipment', arguments: { shipmentId: s.shipment } }));
    expect(shipment.reference).toBeTruthy();
    expect(shipment.timeline.data.find((i: { kind: string }) => i.kind === 'milestone').data.code).toBe('departed');
    const overdue = data(await client.callTool({ name: 'list_overdue_actions', arguments: { thread: s.thread } }));
    expect(overdue.data.map((a: { id: string }) => a.id)).toContain(s.action);

    const draft = data(await client.callTool({ name: 'draft_reply', arguments: { threadId: s.thread, text: 'Draft B/L attached shortly.' } }));
    expect(draft.status).toBe('draft');
    const note = data(await client.callTool({ name: 'add_note', arguments: { threadId: s.thread, body: 'Agent: customer wants the draft B/L' } }));
    expect(note.body).toContain('draft B/L');
    const action = data(await client.callTool({ name: 'create_action', arguments: { threadId: s.thread, title: 'Send draft B/L' } }));
    expect(action.title).toBe('Send draft B/L');
    const done = data(await client.callTool({ name: 'update_action', arguments: { actionId: action.id, status: 'done' } }));
    expect(done.status).toBe('done');
    const updated = data(
      await client.callTool({ name: 'update_thread', arguments: { threadId: s.thread, priority: 'high', tags: ['bl'], assigneeId: org.users.agent.id } }),
    );
    expect(updated).toMatchObject({ priority: 'high', tags: ['bl'] });
    expect(JSON.stringify(updated)).toContain(org.users.agent.id);
    // Sending needs the replies.send scope.
    const refused = (await client.callTool({ name: 'send_reply', arguments: { threadId: s.thread, text: 'Sent' } })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain('replies.send');

    const resource = await client.readResource({ uri: `banxway://threads/${s.thread}` });
    expect(JSON.parse((resource.contents[0] as { text: string }).text).thread.id).toBe(s.thread);
    const shipRes = await client.readResource({ uri: `banxway://shipments/${s.shipment}` });
    expect(JSON.parse((shipRes.contents[0] as { text: string }).text).id).toBe(s.shipment);

    const audits = await db.sql<{ actor: string; apiKeyId: string }[]>`
      select actor, api_key_id from app.audit_log where org_id = ${org.id} and entity_id = ${s.thread}`;
    expect(audits.length).toBeGreaterThan(0);
    expect(audits.every((a) => a.actor === 'api_key' && a.apiKeyId === key.id)).toBe(true);
    await client.close();
  });

  it('sends with a key scoped to it, and refuses tools outside a key’s scopes', async () => {
    const s = await seedThread(org, `MCP send ${randomUUID().slice(0, 6)}`);
    const sender = await connect((await makeKey(org, { scopes: ['threads.read', 'threads.write', 'replies.send'] })).key);
    const sent = data(await sender.callTool({ name: 'send_reply', arguments: { threadId: s.thread, text: 'The draft B/L follows today.' } }));
    expect(sent.status).toBe('queued');
    const noCustomers = (await sender.callTool({ name: 'get_customer', arguments: { customerId: s.customer } })) as CallToolResult;
    expect(noCustomers.isError).toBe(true);
    expect(text(noCustomers)).toContain('forbidden');
    await sender.close();

    const reader = await connect((await makeKey(org, { role: 'viewer' })).key);
    const write = (await reader.callTool({ name: 'add_note', arguments: { threadId: s.thread, body: 'x' } })) as CallToolResult;
    expect(text(write)).toContain('forbidden');
    await reader.close();
  });

  it('never reaches another organization’s data', async () => {
    const theirs = await seedThread(other, `Theirs ${randomUUID().slice(0, 6)}`);
    const client = await connect((await makeKey(org, { role: 'admin' })).key);
    for (const [name, args] of [
      ['get_thread', { threadId: theirs.thread }],
      ['get_customer', { customerId: theirs.customer }],
      ['get_shipment', { shipmentId: theirs.shipment }],
      ['add_note', { threadId: theirs.thread, body: 'x' }],
      ['update_thread', { threadId: theirs.thread, priority: 'low' }],
      ['update_action', { actionId: theirs.action, status: 'done' }],
    ] as const) {
      const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(r.isError, name).toBe(true);
      expect(text(r), name).toContain('not_found');
    }
    const found = data(await client.callTool({ name: 'search_threads', arguments: { limit: 100 } }));
    expect(JSON.stringify(found)).not.toContain(theirs.thread);
    await expect(client.readResource({ uri: `banxway://threads/${theirs.thread}` })).rejects.toThrow();
    await client.close();
  });

  it('refuses a revoked key at once, and anyone without a credential', async () => {
    const key = await makeKey(org);
    const client = await connect(key.key);
    await client.listTools();
    expect((await org.json('DELETE', `/api/api-keys/${key.id}`, { as: 'admin' })).status).toBe(200);
    await expect(client.listTools()).rejects.toThrow(/401|unauthorized|not valid/i);
    await expect(connect('bx_live_' + 'x'.repeat(44))).rejects.toThrow();
    const bare = await call('POST', '/api/mcp', { token: null, body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
    expect(bare.status).toBe(401);
  });

  it("takes a member's token (acting as the member), and answers GET and DELETE with 405", async () => {
    const s = await seedThread(org, `MCP member ${randomUUID().slice(0, 6)}`);
    const client = await connect(await org.token('agent'));
    const note = data(await client.callTool({ name: 'add_note', arguments: { threadId: s.thread, body: 'By the member through MCP' } }));
    expect(note.authorId).toBe(org.users.agent.id);
    await client.close();
    for (const method of ['GET', 'DELETE']) {
      const res = await call(method, '/api/mcp', { token: await org.token('agent') });
      expect(res.status).toBe(405);
    }
  });
});
