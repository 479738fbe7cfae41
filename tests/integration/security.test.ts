// The shared security suite: every user-facing route, found from the api/ files themselves, is called
// without a token, with a malformed, expired or wrongly signed token, as a member of another
// organization, as each role of the permission table, and as a member of two organizations.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECOND_ORG_ID, SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { storeRawSource } from '../../lib/attachments/service.js';
import { signAccessToken } from '../../lib/http/auth.js';
import { newApiKey } from '../../lib/api-keys/token.js';
import { can, keyCan, ROLES, type Action } from '../../lib/http/permissions.js';
import type { RouteHandler } from '../../lib/http/route.js';
import { call, router } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
/** API keys of the seed organization made by its owner: one per role ceiling, and one revoked. */
const keys = {} as Record<(typeof ROLES)[number] | 'revoked' | 'other', string>;
beforeAll(async () => {
  db = await testDatabase();
  const makeKey = async (org: string, creator: string, role: string, revoked = false) => {
    const k = newApiKey();
    await db.sql`insert into app.api_keys (org_id, name, prefix, key_hash, role, created_by, revoked_at)
      values (${org}, 'Security suite', ${k.prefix}, ${k.hash}, ${role}, ${creator}, ${revoked ? new Date() : null})`;
    return k.key;
  };
  for (const role of ROLES) keys[role] = await makeKey(SEED_ORG_ID, SEED_USERS.owner.id, role);
  keys.revoked = await makeKey(SEED_ORG_ID, SEED_USERS.owner.id, 'owner', true);
  keys.other = await makeKey(SECOND_ORG_ID, SEED_USERS.other.id, 'owner');
});
afterAll(() => db.close());

interface Sample {
  path: string;
  body?: unknown;
}

const T1 = '10000001-0000-4000-8000-000000000001';
const C1 = '0d000000-0000-4000-8000-000000000001';

async function freshCustomer(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.customers (org_id, name) values (${SEED_ORG_ID}, ${`Security sample ${randomUUID()}`}) returning id`;
  return row!.id;
}
async function freshContact(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`insert into app.contacts (org_id, name) values (${SEED_ORG_ID}, 'Sample') returning id`;
  return row!.id;
}
async function deadJob(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.outbox (org_id, name, status, attempts) values (${SEED_ORG_ID}, 'thread.unsnooze', 'dead', 8) returning id`;
  return row!.id;
}

/** A message the poller quarantined, its raw source kept (a readable one: reprocessing stores it). */
async function freshQuarantined(): Promise<string> {
  const raw = Buffer.from(`From: sample@quarantine.example\r\nSubject: Sample ${randomUUID()}\r\n\r\nHello\r\n`);
  const path = await storeRawSource(SEED_ORG_ID, randomUUID(), raw);
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.mail_quarantine (org_id, folder, raw_storage_path, raw_size, error) values (${SEED_ORG_ID}, 'INBOX', ${path}, ${raw.length}, 'Sample') returning id`;
  return row!.id;
}

async function freshShipment(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.shipments (org_id, reference, mode) values (${SEED_ORG_ID}, ${`SEC/${randomUUID().slice(0, 12)}`}, 'sea_fcl') returning id`;
  return row!.id;
}
/** A ready attachment (its file need not exist: creating a document only checks the row). */
async function freshAttachment(): Promise<string> {
  const id = randomUUID();
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.attachments (id, org_id, filename, content_type, size_bytes, storage_path, status)
    values (${id}, ${SEED_ORG_ID}, 'sample.pdf', 'application/pdf', 10, ${`org/${SEED_ORG_ID}/attachments/${id}/sample.pdf`}, 'ready') returning id`;
  return row!.id;
}
/** A document with a suggested shipment of a fresh reference. */
async function freshDocument(): Promise<string> {
  const suggestion = { reference: `SEC/${randomUUID().slice(0, 12)}`, mode: 'sea_fcl' };
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.documents (org_id, title, attachment_id, suggested_shipment) values (${SEED_ORG_ID}, 'Sample', ${await freshAttachment()}, ${db.sql.json(suggestion)}) returning id`;
  return row!.id;
}
async function freshMilestone(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.shipment_milestones (org_id, shipment_id, code, planned_at) values (${SEED_ORG_ID}, ${await freshShipment()}, 'departed', now()) returning id`;
  return row!.id;
}
async function freshUser(): Promise<string> {
  const email = `user-${randomUUID()}@seahawk-logistics.in`;
  await db.sql`insert into auth.users (id, email, created_at, updated_at) values (gen_random_uuid(), ${email}, now(), now())`;
  return email;
}
async function freshInvitation(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.member_invitations (org_id, email, role) values (${SEED_ORG_ID}, ${`i-${randomUUID()}@forwarder.example`}, 'agent') returning id`;
  return row!.id;
}
async function freshMember(): Promise<string> {
  const email = await freshUser();
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.members (org_id, user_id, role, email) select ${SEED_ORG_ID}, id, 'agent', email from auth.users where email = ${email} returning id`;
  return row!.id;
}
async function freshCalendar(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.business_calendars (org_id, name, hours) values (${SEED_ORG_ID}, ${`C ${randomUUID()}`}, '[]') returning id`;
  return row!.id;
}
async function freshPolicy(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.sla_policies (org_id, name, targets, conditions)
    values (${SEED_ORG_ID}, ${`P ${randomUUID()}`}, '{"low": {"resolution": {"minutes": 60, "business": true}}}', '{"channels": ["sms"]}') returning id`;
  return row!.id;
}
async function freshTeam(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`insert into app.teams (org_id, name) values (${SEED_ORG_ID}, ${`T ${randomUUID()}`}) returning id`;
  return row!.id;
}

/** A note on T1 written by `author` (the caller, for routes that only a note's author may use). */
async function freshNote(author: string = SEED_USERS.agent.id): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.notes (org_id, thread_id, author_id, body) values (${SEED_ORG_ID}, ${T1}, ${author}, 'Sample note') returning id`;
  return row!.id;
}
/** A mailbox on a loopback port nothing listens on (the test endpoint refuses it, or fails to connect at once). */
async function freshChannel(): Promise<string> {
  const settings = { imap: { host: '127.0.0.1', port: 1, tls: true, username: 'u', auth: { method: 'password' } }, threadToken: 'reply_to' };
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.channels (org_id, kind, name, address, settings) values (${SEED_ORG_ID}, 'email', 'Sample', ${`c-${randomUUID()}@seahawk-logistics.in`}, ${db.sql.json(settings)}) returning id`;
  return row!.id;
}
async function freshAction(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.actions (org_id, thread_id, title) values (${SEED_ORG_ID}, ${T1}, 'Sample action') returning id`;
  return row!.id;
}

/** An agent on a public documentation address (its tasks stay queued: the suite runs no jobs). */
async function freshAgent(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.agents (org_id, name, url, default_tool) values (${SEED_ORG_ID}, ${`Agent ${randomUUID()}`}, 'https://203.0.113.10/mcp', 'triage') returning id`;
  return row!.id;
}
async function freshAgentTask(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.agent_tasks (org_id, thread_id, agent_id, tool, status, error, deadline_at)
    values (${SEED_ORG_ID}, ${T1}, ${await freshAgent()}, 'triage', 'failed', 'Sample failure', now()) returning id`;
  return row!.id;
}
async function freshApiKey(): Promise<string> {
  const k = newApiKey();
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.api_keys (org_id, name, prefix, key_hash, created_by) values (${SEED_ORG_ID}, 'Sample', ${k.prefix}, ${k.hash}, ${SEED_USERS.owner.id}) returning id`;
  return row!.id;
}

/** The user a token speaks for (undefined for tokens that are not JWTs), passed to each sample. */
function callerOf(token: string | null): string | undefined {
  try {
    return (JSON.parse(Buffer.from(token?.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: string }).sub;
  } catch {
    return undefined;
  }
}

/**
 * One valid request per route and method, made fresh for each call (writes may consume it). A sample
 * may take the caller's user id, for routes that only the owner of a record may use.
 */
async function freshDraft(author: string = SEED_USERS.agent.id): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.messages (org_id, thread_id, channel, direction, status, to_recipients, body_text, author_id)
    values (${SEED_ORG_ID}, ${T1}, 'email', 'outbound', 'draft', '[{"address":"karthik@tatatextiles.example"}]', 'Draft', ${author})
    returning id`;
  return row!.id;
}

/** A fresh email thread of the seed organization with `messages` customer messages a minute apart. */
async function freshThread(messages = 2): Promise<{ id: string; messageIds: string[] }> {
  const [thread] = await db.sql<{ id: string }[]>`
    insert into app.threads (org_id, subject, channel, counterpart) values (${SEED_ORG_ID}, 'Regroup sample', 'email', 'sample@regroup.example') returning id`;
  const messageIds: string[] = [];
  for (let i = 0; i < messages; i++) {
    const [m] = await db.sql<{ id: string }[]>`
      insert into app.messages (org_id, thread_id, channel, direction, status, body_text, occurred_at)
      values (${SEED_ORG_ID}, ${thread!.id}, 'email', 'inbound', 'received', 'Sample', now() - make_interval(mins => ${messages - i}))
      returning id`;
    messageIds.push(m!.id);
  }
  return { id: thread!.id, messageIds };
}

async function freshSenderRule(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.sender_rules (org_id, kind, match, value) values (${SEED_ORG_ID}, 'block', 'address', ${`s-${randomUUID()}@rules.example`}) returning id`;
  return row!.id;
}

/** A reply template of the caller's own (shared ones are the managers' to change). */
async function freshTemplate(caller?: string): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.reply_templates (org_id, owner_id, name, channels, body)
    values (${SEED_ORG_ID}, ${caller ?? null}, ${`Sample ${randomUUID()}`}, '{email}', 'Dear {{contact.firstName}}') returning id`;
  return row!.id;
}

async function freshMacro(caller?: string): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.macros (org_id, owner_id, name, steps)
    values (${SEED_ORG_ID}, ${caller ?? null}, ${`Sample ${randomUUID()}`}, '[{"type":"priority","priority":"high"}]') returning id`;
  return row!.id;
}

/** A workflow of the seed organization (disabled), at version 1. */
async function freshWorkflow(): Promise<string> {
  const definition = { trigger: { type: 'thread.created' }, steps: [{ type: 'priority', priority: 'high' }] };
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.workflows (org_id, name, trigger_event, steps) values (${SEED_ORG_ID}, ${`Sample ${randomUUID()}`}, 'thread.created', ${db.sql.json(definition.steps)})
    returning id`;
  await db.sql`insert into app.workflow_versions (org_id, workflow_id, version, definition) values (${SEED_ORG_ID}, ${row!.id}, 1, ${db.sql.json(definition)})`;
  return row!.id;
}

/** A run of a fresh workflow on the seeded thread, in the given status (failed at step 0, or running). */
async function freshRun(status: 'failed' | 'running' = 'failed'): Promise<string> {
  const workflowId = await freshWorkflow();
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.workflow_runs (org_id, workflow_id, workflow_version, trigger_event, subject_type, subject_id, thread_id, dedupe_key, status, current_step, error)
    values (${SEED_ORG_ID}, ${workflowId}, 1, 'thread.created', 'thread', ${T1}, ${T1}, ${randomUUID()}, ${status}, '0', ${status === 'failed' ? 'Sample failure' : null})
    returning id`;
  return row!.id;
}

async function freshEndpoint(): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.webhook_endpoints (org_id, url, secret) values (${SEED_ORG_ID}, 'https://93.184.215.14/hooks', '{"keyId":"k0","ciphertext":"x"}')
    returning id`;
  return row!.id;
}

const samples: Record<string, (caller?: string) => Promise<Sample>> = {
  'POST /api/threads/[id]/merge': async () => ({ path: `/api/threads/${(await freshThread()).id}/merge`, body: { into: (await freshThread()).id } }),
  'POST /api/threads/[id]/split': async () => {
    const t = await freshThread();
    return { path: `/api/threads/${t.id}/split`, body: { fromMessageId: t.messageIds[1] } };
  },
  'POST /api/messages/[id]/move': async () => ({
    path: `/api/messages/${(await freshThread()).messageIds[1]}/move`,
    body: { threadId: (await freshThread(1)).id },
  }),
  'GET /api/threads/[id]/messages': async () => ({ path: `/api/threads/${T1}/messages` }),
  'POST /api/threads/[id]/messages': async () => ({ path: `/api/threads/${T1}/messages`, body: { draft: true, text: 'A draft' } }),
  'GET /api/messages/[id]': async () => ({ path: `/api/messages/${await freshDraft()}` }),
  'PATCH /api/messages/[id]': async (caller) => ({ path: `/api/messages/${await freshDraft(caller)}`, body: { text: 'Edited' } }),
  'DELETE /api/messages/[id]': async (caller) => ({ path: `/api/messages/${await freshDraft(caller)}` }),
  'POST /api/messages/[id]/send': async (caller) => ({ path: `/api/messages/${await freshDraft(caller)}/send` }),
  'GET /api/customers': async () => ({ path: '/api/customers' }),
  'GET /api/shipments': async () => ({ path: '/api/shipments?status=booked' }),
  'POST /api/shipments': async () => ({ path: '/api/shipments', body: { reference: `SEC/${randomUUID().slice(0, 12)}`, mode: 'air' } }),
  'GET /api/shipments/[id]': async () => ({ path: `/api/shipments/${await freshShipment()}` }),
  'PATCH /api/shipments/[id]': async () => ({ path: `/api/shipments/${await freshShipment()}`, body: { vessel: 'X' } }),
  'DELETE /api/shipments/[id]': async () => ({ path: `/api/shipments/${await freshShipment()}` }),
  'GET /api/shipments/[id]/milestones': async () => ({ path: `/api/shipments/${await freshShipment()}/milestones` }),
  'POST /api/shipments/[id]/milestones': async () => ({
    path: `/api/shipments/${await freshShipment()}/milestones`,
    body: { code: 'departed', plannedAt: '2027-01-01T00:00:00Z' },
  }),
  'GET /api/shipments/[id]/timeline': async () => ({ path: `/api/shipments/${await freshShipment()}/timeline` }),
  'GET /api/shipments/[id]/threads': async () => ({ path: `/api/shipments/${await freshShipment()}/threads` }),
  'POST /api/shipments/[id]/threads': async () => ({ path: `/api/shipments/${await freshShipment()}/threads`, body: { threadId: T1 } }),
  'DELETE /api/shipments/[id]/threads': async () => ({ path: `/api/shipments/${await freshShipment()}/threads?threadId=${T1}` }),
  'PATCH /api/milestones/[id]': async () => ({ path: `/api/milestones/${await freshMilestone()}`, body: { label: 'x' } }),
  'DELETE /api/milestones/[id]': async () => ({ path: `/api/milestones/${await freshMilestone()}` }),
  'POST /api/customers': async () => ({ path: '/api/customers', body: { name: `New ${randomUUID()}` } }),
  'GET /api/customers/[id]': async () => ({ path: `/api/customers/${C1}` }),
  'PATCH /api/customers/[id]': async () => ({ path: `/api/customers/${await freshCustomer()}`, body: { notes: 'x' } }),
  'DELETE /api/customers/[id]': async () => ({ path: `/api/customers/${await freshCustomer()}` }),
  'POST /api/customers/[id]/merge': async () => ({ path: `/api/customers/${await freshCustomer()}/merge`, body: { mergeIds: [await freshCustomer()] } }),
  'GET /api/contacts': async () => ({ path: '/api/contacts' }),
  'POST /api/contacts': async () => ({ path: '/api/contacts', body: { name: 'Someone', customerId: C1 } }),
  'GET /api/contacts/[id]': async () => ({ path: '/api/contacts/0e000000-0000-4000-8000-000000000001' }),
  'PATCH /api/contacts/[id]': async () => ({ path: `/api/contacts/${await freshContact()}`, body: { designation: 'Ops' } }),
  'DELETE /api/contacts/[id]': async () => ({ path: `/api/contacts/${await freshContact()}` }),
  'POST /api/contacts/[id]/merge': async () => ({ path: `/api/contacts/${await freshContact()}/merge`, body: { mergeIds: [await freshContact()] } }),
  'GET /api/threads': async () => ({ path: '/api/threads' }),
  'GET /api/threads/counts': async () => ({ path: '/api/threads/counts' }),
  'GET /api/search': async () => ({ path: '/api/search?q=booking&type=message,note' }),
  'POST /api/threads': async () => ({ path: '/api/threads', body: { subject: 'Sample', customerId: C1 } }),
  'GET /api/threads/[id]': async () => ({ path: `/api/threads/${T1}` }),
  'PATCH /api/threads/[id]': async () => ({ path: `/api/threads/${T1}`, body: { priority: 'high' } }),
  'POST /api/threads/[id]/assign': async () => ({ path: `/api/threads/${T1}/assign`, body: { assigneeId: SEED_USERS.agent.id } }),
  'POST /api/threads/[id]/unassign': async () => ({ path: `/api/threads/${T1}/unassign` }),
  'PUT /api/threads/[id]/read': async () => ({ path: `/api/threads/${T1}/read` }),
  'DELETE /api/threads/[id]/read': async () => ({ path: `/api/threads/${T1}/read` }),
  'GET /api/org': async () => ({ path: '/api/org' }),
  'PATCH /api/org': async () => ({ path: '/api/org', body: { signature: 'Regards, Seahawk' } }),
  'GET /api/notifications': async () => ({ path: '/api/notifications?unread=true&type=mention,assignment' }),
  'POST /api/notifications/read': async () => ({ path: '/api/notifications/read', body: { ids: [randomUUID()] } }),
  'GET /api/me/notification-preferences': async () => ({ path: '/api/me/notification-preferences' }),
  'PUT /api/me/notification-preferences': async () => ({ path: '/api/me/notification-preferences', body: { digest: 'hourly' } }),
  'PATCH /api/me': async () => ({ path: '/api/me', body: { jobTitle: 'Operations', availability: { status: 'busy' } } }),
  'GET /api/members': async () => ({ path: '/api/members' }),
  'GET /api/invitations': async () => ({ path: '/api/invitations' }),
  'POST /api/invitations': async () => ({ path: '/api/invitations', body: { email: await freshUser(), role: 'agent' } }),
  'DELETE /api/invitations/[id]': async () => ({ path: `/api/invitations/${await freshInvitation()}` }),
  'POST /api/invitations/[id]/resend': async () => ({ path: `/api/invitations/${await freshInvitation()}/resend` }),
  'PATCH /api/members/[id]': async () => ({ path: `/api/members/${await freshMember()}`, body: { role: 'manager' } }),
  'DELETE /api/members/[id]': async () => ({ path: `/api/members/${await freshMember()}` }),
  'GET /api/teams': async () => ({ path: '/api/teams' }),
  'POST /api/teams': async () => ({ path: '/api/teams', body: { name: `Team ${randomUUID()}` } }),
  'PATCH /api/teams/[id]': async () => ({ path: `/api/teams/${await freshTeam()}`, body: { description: 'x' } }),
  'DELETE /api/teams/[id]': async () => ({ path: `/api/teams/${await freshTeam()}` }),
  'GET /api/analytics/overview': async () => ({ path: '/api/analytics/overview?from=2026-11-01&to=2026-11-07&tz=Asia/Kathmandu' }),
  'GET /api/analytics/volume': async () => ({ path: '/api/analytics/volume?from=2026-11-01&to=2026-11-07&tz=Asia/Kathmandu' }),
  'GET /api/analytics/response-times': async () => ({ path: '/api/analytics/response-times?from=2026-11-01&to=2026-11-07&tz=Asia/Kathmandu' }),
  'GET /api/analytics/sla': async () => ({ path: '/api/analytics/sla?from=2026-11-01&to=2026-11-07&tz=Asia/Kathmandu' }),
  'GET /api/analytics/agents': async () => ({ path: '/api/analytics/agents?from=2026-11-01&to=2026-11-07&tz=Asia/Kathmandu' }),
  'GET /api/analytics/customers': async () => ({ path: '/api/analytics/customers?from=2026-11-01&to=2026-11-07&tz=Asia/Kathmandu' }),
  'GET /api/analytics/intents': async () => ({ path: '/api/analytics/intents?from=2026-11-01&to=2026-11-07&tz=Asia/Kathmandu' }),
  'GET /api/sla-policies': async () => ({ path: '/api/sla-policies' }),
  'POST /api/sla-policies': async () => ({
    path: '/api/sla-policies',
    body: { name: `P ${randomUUID()}`, targets: { high: { firstResponse: { minutes: 30 } } }, conditions: { channels: ['whatsapp'] } },
  }),
  'GET /api/sla-policies/[id]': async () => ({ path: `/api/sla-policies/${await freshPolicy()}` }),
  'PATCH /api/sla-policies/[id]': async () => ({ path: `/api/sla-policies/${await freshPolicy()}`, body: { position: 3 } }),
  'DELETE /api/sla-policies/[id]': async () => ({ path: `/api/sla-policies/${await freshPolicy()}` }),
  'GET /api/business-calendars': async () => ({ path: '/api/business-calendars' }),
  'POST /api/business-calendars': async () => ({
    path: '/api/business-calendars',
    body: { name: `C ${randomUUID()}`, timezone: 'Asia/Kolkata', hours: [{ day: 1, start: '09:00', end: '17:00' }] },
  }),
  'GET /api/business-calendars/[id]': async () => ({ path: `/api/business-calendars/${await freshCalendar()}` }),
  'PATCH /api/business-calendars/[id]': async () => ({ path: `/api/business-calendars/${await freshCalendar()}`, body: { name: `C ${randomUUID()}` } }),
  'DELETE /api/business-calendars/[id]': async () => ({ path: `/api/business-calendars/${await freshCalendar()}` }),
  // A JSON body is refused with 415 once the permission passed.
  'POST /api/business-calendars/[id]/holidays': async () => ({ path: `/api/business-calendars/${await freshCalendar()}/holidays`, body: {} }),
  'GET /api/admin/jobs': async () => ({ path: '/api/admin/jobs' }),
  'POST /api/admin/search-backfill': async () => ({ path: '/api/admin/search-backfill' }),
  'POST /api/admin/identifiers-backfill': async () => ({ path: '/api/admin/identifiers-backfill' }),
  'POST /api/admin/jobs/[id]/retry': async () => ({ path: `/api/admin/jobs/${await deadJob()}/retry` }),
  'GET /api/admin/mail-quarantine': async () => ({ path: '/api/admin/mail-quarantine' }),
  'GET /api/admin/mail-quarantine/[id]': async () => ({ path: `/api/admin/mail-quarantine/${await freshQuarantined()}` }),
  'DELETE /api/admin/mail-quarantine/[id]': async () => ({ path: `/api/admin/mail-quarantine/${await freshQuarantined()}` }),
  'POST /api/admin/mail-quarantine/[id]/reprocess': async () => ({ path: `/api/admin/mail-quarantine/${await freshQuarantined()}/reprocess` }),
  'POST /api/attachments/uploads': async () => ({
    path: '/api/attachments/uploads',
    body: { filename: 'Sample B-L.pdf', contentType: 'application/pdf', sizeBytes: 1024 },
  }),
  'GET /api/documents': async () => ({ path: '/api/documents?type=bill_of_lading' }),
  'POST /api/documents': async () => ({ path: '/api/documents', body: { attachmentId: await freshAttachment() } }),
  'GET /api/documents/[id]': async () => ({ path: `/api/documents/${await freshDocument()}` }),
  'PATCH /api/documents/[id]': async () => ({ path: `/api/documents/${await freshDocument()}`, body: { status: 'approved', fields: { vessel: 'MSC ANNA' } } }),
  'POST /api/documents/[id]/shipment': async () => ({ path: `/api/documents/${await freshDocument()}/shipment`, body: {} }),
  'GET /api/attachments/[id]': async () => ({
    path: `/api/attachments/${(await db.sql<{ id: string }[]>`insert into app.attachments (org_id, filename, storage_path) values (${SEED_ORG_ID}, 'sample.pdf', ${`org/${SEED_ORG_ID}/attachments/${randomUUID()}/sample.pdf`}) returning id`)[0]!.id}`,
  }),
  'POST /api/attachments/[id]/confirm': async () => ({
    path: `/api/attachments/${(await db.sql<{ id: string }[]>`insert into app.attachments (org_id, filename, storage_path) values (${SEED_ORG_ID}, 'sample.pdf', ${`org/${SEED_ORG_ID}/attachments/${randomUUID()}/sample.pdf`}) returning id`)[0]!.id}/confirm`,
  }),
  'GET /api/threads/[id]/notes': async () => ({ path: `/api/threads/${T1}/notes` }),
  'POST /api/threads/[id]/notes': async () => ({ path: `/api/threads/${T1}/notes`, body: { body: 'Checked with @Anita: B/L draft is fine' } }),
  'PATCH /api/notes/[id]': async (caller) => ({ path: `/api/notes/${await freshNote(caller)}`, body: { body: 'Edited note' } }),
  'DELETE /api/notes/[id]': async (caller) => ({ path: `/api/notes/${await freshNote(caller)}` }),
  'GET /api/actions': async () => ({ path: '/api/actions?assignee=me' }),
  'POST /api/actions': async () => ({ path: '/api/actions', body: { title: 'Chase the VGM', threadId: T1, assigneeId: SEED_USERS.agent.id } }),
  'GET /api/actions/[id]': async () => ({ path: `/api/actions/${await freshAction()}` }),
  'PATCH /api/actions/[id]': async () => ({ path: `/api/actions/${await freshAction()}`, body: { status: 'done' } }),
  'DELETE /api/actions/[id]': async () => ({ path: `/api/actions/${await freshAction()}` }),
  'GET /api/channels': async () => ({ path: '/api/channels' }),
  'POST /api/channels': async () => ({
    path: '/api/channels',
    body: {
      kind: 'email',
      name: 'Sample',
      address: `s-${randomUUID()}@seahawk-logistics.in`,
      imap: { host: '203.0.113.10', username: 'u', auth: { method: 'password', password: 'p' } },
    },
  }),
  'GET /api/channels/[id]': async () => ({ path: `/api/channels/${await freshChannel()}` }),
  'PATCH /api/channels/[id]': async () => ({ path: `/api/channels/${await freshChannel()}`, body: { name: 'Renamed' } }),
  'DELETE /api/channels/[id]': async () => ({ path: `/api/channels/${await freshChannel()}` }),
  'POST /api/channels/[id]/test': async () => ({ path: `/api/channels/${await freshChannel()}/test` }),
  'POST /api/channels/[id]/verify-domain': async () => ({ path: `/api/channels/${await freshChannel()}/verify-domain` }),
  'POST /api/channels/[id]/rotate-webhook-secret': async () => ({
    path: `/api/channels/${(await db.sql<{ id: string }[]>`insert into app.channels (org_id, kind, name, address, settings, webhook_secret_hash) values (${SEED_ORG_ID}, 'whatsapp', 'Sample', ${`+9122${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`}, '{"subdomain":"api.exotel.com","accountSid":"s"}', ${'0'.repeat(64)}) returning id`)[0]!.id}/rotate-webhook-secret`,
  }),
  'POST /api/threads/[id]/calls': async () => {
    // A voice ExoPhone and a phone on every membership: Exotel rings the caller first.
    await db.sql`insert into app.channels (org_id, kind, name, address, settings) values (${SEED_ORG_ID}, 'voice', 'Sample ExoPhone', '+912233334444', '{"subdomain":"api.exotel.com","accountSid":"s"}') on conflict do nothing`;
    await db.sql`update app.members set phone = '+919800011122' where org_id = ${SEED_ORG_ID} and phone is null`;
    return { path: `/api/threads/${T1}/calls`, body: {} };
  },
  'POST /api/threads/[id]/spam': async () => ({ path: `/api/threads/${(await freshThread(1)).id}/spam` }),
  'POST /api/threads/[id]/not-spam': async () => {
    const t = await freshThread(1);
    await db.sql`update app.threads set status = 'spam' where id = ${t.id}`;
    return { path: `/api/threads/${t.id}/not-spam` };
  },
  'GET /api/sender-rules': async () => ({ path: '/api/sender-rules?kind=block' }),
  'POST /api/sender-rules': async () => ({ path: '/api/sender-rules', body: { kind: 'block', match: 'domain', value: `s-${randomUUID()}.example` } }),
  'GET /api/sender-rules/[id]': async () => ({ path: `/api/sender-rules/${await freshSenderRule()}` }),
  'PATCH /api/sender-rules/[id]': async () => ({ path: `/api/sender-rules/${await freshSenderRule()}`, body: { kind: 'allow' } }),
  'DELETE /api/sender-rules/[id]': async () => ({ path: `/api/sender-rules/${await freshSenderRule()}` }),
  'GET /api/templates': async () => ({ path: '/api/templates?channel=email' }),
  'POST /api/templates': async () => ({
    path: '/api/templates',
    body: { name: `Sample ${randomUUID()}`, channels: ['email'], body: 'Dear {{contact.firstName}}' },
  }),
  'GET /api/templates/[id]': async (caller) => ({ path: `/api/templates/${await freshTemplate(caller)}` }),
  'PATCH /api/templates/[id]': async (caller) => ({ path: `/api/templates/${await freshTemplate(caller)}`, body: { folder: 'Rates' } }),
  'DELETE /api/templates/[id]': async (caller) => ({ path: `/api/templates/${await freshTemplate(caller)}` }),
  'POST /api/templates/[id]/preview': async (caller) => ({ path: `/api/templates/${await freshTemplate(caller)}/preview`, body: { threadId: T1 } }),
  'GET /api/macros': async () => ({ path: '/api/macros?limit=5' }),
  'POST /api/macros': async () => ({ path: '/api/macros', body: { name: `Sample ${randomUUID()}`, steps: [{ type: 'priority', priority: 'high' }] } }),
  'GET /api/macros/[id]': async (caller) => ({ path: `/api/macros/${await freshMacro(caller)}` }),
  'PATCH /api/macros/[id]': async (caller) => ({ path: `/api/macros/${await freshMacro(caller)}`, body: { description: 'Edited' } }),
  'DELETE /api/macros/[id]': async (caller) => ({ path: `/api/macros/${await freshMacro(caller)}` }),
  'GET /api/workflows': async () => ({ path: '/api/workflows?limit=5' }),
  'POST /api/workflows': async () => ({
    path: '/api/workflows',
    body: { name: `Sample ${randomUUID()}`, trigger: { type: 'thread.created' }, steps: [{ type: 'priority', priority: 'high' }] },
  }),
  'GET /api/workflows/[id]': async () => ({ path: `/api/workflows/${await freshWorkflow()}` }),
  'PATCH /api/workflows/[id]': async () => ({ path: `/api/workflows/${await freshWorkflow()}`, body: { description: 'Edited' } }),
  'DELETE /api/workflows/[id]': async () => ({ path: `/api/workflows/${await freshWorkflow()}` }),
  'GET /api/workflows/[id]/versions': async () => ({ path: `/api/workflows/${await freshWorkflow()}/versions` }),
  'GET /api/workflows/[id]/runs': async () => ({ path: `/api/workflows/${await freshWorkflow()}/runs` }),
  'POST /api/workflows/[id]/dry-run': async () => ({ path: `/api/workflows/${await freshWorkflow()}/dry-run`, body: { threadId: T1 } }),
  'GET /api/workflow-runs/[id]': async () => ({ path: `/api/workflow-runs/${await freshRun()}` }),
  'POST /api/workflow-runs/[id]/retry': async () => ({ path: `/api/workflow-runs/${await freshRun('failed')}/retry` }),
  'POST /api/workflow-runs/[id]/cancel': async () => ({ path: `/api/workflow-runs/${await freshRun('running')}/cancel` }),
  'GET /api/threads/[id]/workflow-runs': async () => ({ path: `/api/threads/${T1}/workflow-runs` }),
  'GET /api/webhook-endpoints': async () => ({ path: '/api/webhook-endpoints?limit=5' }),
  'POST /api/webhook-endpoints': async () => ({ path: '/api/webhook-endpoints', body: { url: 'https://93.184.215.14/hooks' } }),
  'GET /api/webhook-endpoints/[id]': async () => ({ path: `/api/webhook-endpoints/${await freshEndpoint()}` }),
  'PATCH /api/webhook-endpoints/[id]': async () => ({ path: `/api/webhook-endpoints/${await freshEndpoint()}`, body: { description: 'Edited' } }),
  'DELETE /api/webhook-endpoints/[id]': async () => ({ path: `/api/webhook-endpoints/${await freshEndpoint()}` }),
  'POST /api/webhook-endpoints/[id]/rotate': async () => ({ path: `/api/webhook-endpoints/${await freshEndpoint()}/rotate` }),
  'GET /api/webhook-endpoints/[id]/deliveries': async () => ({ path: `/api/webhook-endpoints/${await freshEndpoint()}/deliveries` }),
  'POST /api/macros/[id]/run': async (caller) => ({ path: `/api/macros/${await freshMacro(caller)}/run`, body: { threadIds: [(await freshThread(1)).id] } }),
  'GET /api/threads/[id]/macro-runs': async () => ({ path: `/api/threads/${T1}/macro-runs` }),
  // Compose answers 200 with a UI message stream for roles that may write (viewers get 403).
  'POST /api/ai/compose': async () => ({ path: '/api/ai/compose', body: { threadId: T1, instruction: 'Confirm the booking and ask for the SI' } }),
  'POST /api/ai/summarize': async () => ({ path: '/api/ai/summarize', body: { threadId: T1 } }),
  'POST /api/ai/suggest-actions': async () => ({ path: '/api/ai/suggest-actions', body: { threadId: T1 } }),
  'GET /api/tracking-integrations': async () => ({ path: '/api/tracking-integrations' }),
  // The seed organization has no integration: the first admin call creates it, later ones answer 409.
  'POST /api/tracking-integrations': async () => ({
    path: '/api/tracking-integrations',
    body: { provider: 'terminal49', apiKey: 'security-key-0123', webhookSecret: 'security-secret-0123' },
  }),
  'GET /api/agents': async () => ({ path: '/api/agents' }),
  'POST /api/agents': async () => ({ path: '/api/agents', body: { name: `Agent ${randomUUID()}`, url: 'https://203.0.113.10/mcp', defaultTool: 'triage' } }),
  'PATCH /api/agents/[id]': async () => ({ path: `/api/agents/${await freshAgent()}`, body: { timeoutSeconds: 30 } }),
  'DELETE /api/agents/[id]': async () => ({ path: `/api/agents/${await freshAgent()}` }),
  'GET /api/threads/[id]/agent-tasks': async () => ({ path: `/api/threads/${T1}/agent-tasks` }),
  'POST /api/threads/[id]/agent-tasks': async () => ({ path: `/api/threads/${T1}/agent-tasks`, body: { agentId: await freshAgent(), instructions: 'Triage' } }),
  'POST /api/agent-tasks/[id]/retry': async () => ({ path: `/api/agent-tasks/${await freshAgentTask()}/retry` }),
  'GET /api/api-keys': async () => ({ path: '/api/api-keys?status=all' }),
  'POST /api/api-keys': async () => ({ path: '/api/api-keys', body: { name: 'Sample key', role: 'viewer' } }),
  'DELETE /api/api-keys/[id]': async () => ({ path: `/api/api-keys/${await freshApiKey()}` }),
};

/** Routes with their own guard instead of a member's token, each tested in its own file. */
const otherGuards = new Set([
  'GET /api/health',
  'GET /api/me',
  'POST /api/me/invitations/[id]/accept',
  'POST /api/me/invitations/[id]/decline',
  'POST /api/invitations/[id]/accept',
  'POST /api/jobs/[name]',
  // QStash signature (tests/integration/documents.test.ts).
  'POST /api/jobs/documents/[name]',
  'POST /api/webhooks/tracking/[integrationId]',
  'GET /api/cron/jobs-sweep',
  'GET /api/cron/email-poll',
  'GET /api/cron/sla-check',
  // The cron secret (tests/integration/workflows.test.ts).
  'GET /api/cron/workflow-schedules',
  'PUT /api/storage/object',
  'GET /api/storage/object',
  'POST /api/webhooks/resend',
  // A signed unsubscribe token in the URL (tests/integration/notifications.test.ts).
  'GET /api/notifications/unsubscribe',
  'POST /api/notifications/unsubscribe',
  // An API key or a member's token, each tool checked by action (tests/integration/mcp.test.ts).
  'POST /api/mcp',
  'GET /api/mcp',
  'DELETE /api/mcp',
  'GET /api/webhooks/exotel/[channelId]',
  'POST /api/webhooks/exotel/[channelId]',
]);

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

async function userRoutes() {
  const out: { key: string; method: string; action: Action }[] = [];
  for (const r of router.routes) {
    const mod = (await import(r.file)) as Record<string, RouteHandler | undefined>;
    for (const method of METHODS) {
      const handler = mod[method];
      if (!handler) continue;
      const key = `${method} ${r.pattern}`;
      if (otherGuards.has(key)) continue;
      out.push({ key, method, action: handler.meta?.action });
    }
  }
  return out;
}

const routes = await userRoutes();

describe('the security suite covers every route', () => {
  it('has a sample request and a permission for every user route', () => {
    for (const r of routes) {
      expect(samples[r.key], `add a sample for ${r.key}`).toBeTypeOf('function');
      expect(r.action, `${r.key} must be built with route() and name an action`).toBeTypeOf('string');
    }
    expect(Object.keys(samples).sort()).toEqual(routes.map((r) => r.key).sort());
  });
});

describe.each(routes)('$key', ({ method, action, key }) => {
  const send = async (token: string | null, headers: Record<string, string> = {}) => {
    const s = await samples[key]!(callerOf(token));
    return call(method, s.path, { token, body: s.body, headers });
  };
  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it('refuses a missing, malformed, expired or wrongly signed token with 401', async () => {
    const expired = await signAccessToken(SEED_USERS.owner, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    const forged = await signAccessToken(SEED_USERS.owner, { secret: 'another-secret-that-is-long-enough-0123456789' });
    const wrongAudience = await signAccessToken(SEED_USERS.owner, { audience: 'anon' });
    for (const token of [null, 'not-a-jwt', 'a.b.c', expired, forged, wrongAudience]) {
      const res = await send(token);
      expect(res.status, `token ${String(token).slice(0, 12)}`).toBe(401);
      expect(await errorCode(res)).toBe('unauthorized');
    }
  });

  it('never shows a member of another organization the data', async () => {
    const res = await send(await signAccessToken(SEED_USERS.other));
    const text = await res.text();
    expect(res.status).not.toBe(500);
    expect(text).not.toContain(SEED_ORG_ID);
    expect(text).not.toContain('Tata Textiles');
    expect(text).not.toContain(T1);
    if (key.includes('[id]') && can('owner', action)) expect(res.status).toBe(404);
  });

  it.each(ROLES)('as %s: allowed or 403 exactly as the permission table says', async (role) => {
    const res = await send(await signAccessToken(SEED_USERS[role]));
    if (can(role, action)) {
      expect([401, 403], `${role} may ${action}: got ${res.status} ${await res.clone().text()}`).not.toContain(res.status);
      expect(res.status).toBeLessThan(500);
    } else {
      expect(res.status).toBe(403);
      expect(await errorCode(res)).toBe('forbidden');
    }
  });

  it('takes API keys: each role ceiling allowed or 403 as the table says (keys never manage keys), revoked 401, other org none', async () => {
    for (const role of ROLES) {
      const res = await send(keys[role]);
      if (keyCan(role, null, action)) {
        // Member-only features (the sidebar counts, compose, "assignee=me", macros, calls, read marks) refuse a
        // key in their handler (403 or 422 naming why); sending needs the replies.send scope.
        expect(res.status, `${role} key may ${action}: got ${res.status} ${await res.clone().text()}`).not.toBe(401);
        expect(res.status).toBeLessThan(500);
      } else {
        expect(res.status, `${role} key: ${await res.clone().text()}`).toBe(403);
      }
    }
    const revoked = await send(keys.revoked);
    expect(revoked.status).toBe(401);
    const other = await send(keys.other);
    expect(other.status).not.toBe(500);
    const text = await other.text();
    expect(text).not.toContain(SEED_ORG_ID);
    expect(text).not.toContain('Tata Textiles');
    expect(text).not.toContain(T1);
    if (key.includes('[id]') && can('owner', action) && keyCan('owner', null, action)) expect([403, 404, 422]).toContain(other.status);
  });

  it('checks the permission before validating input: a role without it gets 403, never a 422 about the schema', async () => {
    const s = await samples[key]!();
    const malformedPath = s.path.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, 'not-a-uuid');
    for (const role of ROLES.filter((r) => !can(r, action))) {
      const res = await call(method, `${malformedPath}${malformedPath.includes('?') ? '&' : '?'}limit=-1&status=bogus`, {
        token: await signAccessToken(SEED_USERS[role]),
        ...(method === 'GET' || method === 'DELETE' ? {} : { rawBody: '[{"not":"the schema"}]', headers: { 'content-type': 'application/json' } }),
      });
      expect(res.status, `${role}: ${await res.clone().text()}`).toBe(403);
    }
  });

  it('asks a member of two organizations to name one with X-Org-Id', async () => {
    const token = await signAccessToken(SEED_USERS.multi);
    const none = await send(token);
    expect(none.status).toBe(422);
    const body = (await none.json()) as { error: { details: { issues: { path: string }[] } } };
    expect(body.error.details.issues[0]!.path).toBe('header.x-org-id');
    const first = await send(token, { 'x-org-id': SEED_ORG_ID });
    expect(first.status).toBe(can('agent', action) ? first.status : 403);
    expect([401, 422]).not.toContain(first.status);
    const second = await send(token, { 'x-org-id': SECOND_ORG_ID });
    expect(await second.clone().text()).not.toContain('Tata Textiles');
    const stranger = await send(token, { 'x-org-id': randomUUID() });
    expect(stranger.status).toBe(404);
    const malformed = await send(token, { 'x-org-id': 'org-1' });
    expect(malformed.status).toBe(422);
  });
});

describe('references to people of another organization', () => {
  it("refuses a customer owner who is not an active member of the caller's organization (422 naming body.ownerId)", async () => {
    for (const ownerId of [SEED_USERS.other.id, randomUUID()]) {
      const created = await call('POST', '/api/customers', { as: 'agent', body: { name: `Owner check ${randomUUID()}`, ownerId } });
      expect(created.status).toBe(422);
      expect(((await created.json()) as any).error.details.issues.map((i: any) => i.path)).toEqual(['body.ownerId']);
      const edited = await call('PATCH', `/api/customers/${await freshCustomer()}`, { as: 'agent', body: { ownerId } });
      expect(edited.status).toBe(422);
      expect(((await edited.json()) as any).error.details.issues.map((i: any) => i.path)).toEqual(['body.ownerId']);
    }
    const mine = await call('POST', '/api/customers', { as: 'agent', body: { name: `Owner check ${randomUUID()}`, ownerId: SEED_USERS.manager.id } });
    expect(mine.status).toBe(201);
  });
});
