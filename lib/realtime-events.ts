// The realtime events the API broadcasts (lib/realtime.ts recordChange, through Supabase Realtime's
// broadcast): the one list of them. It types recordChange's `event` (RealtimeEventName), so an event
// the list does not name does not compile; it feeds the OpenAPI document's `x-realtime`; and the
// event table of docs/realtime.md is generated from it (`npm run docs:realtime`, checked by a test).
import * as z from 'zod';
import { wireId, wireInstant } from './wire.js';

/** Every broadcast's payload: `{ event, orgId, actorId, actorApiKeyId?, at, data }` (lib/realtime.ts eventPayload). */
export const realtimeEnvelopeWire = z
  .strictObject({
    event: z.string(),
    orgId: wireId,
    /** The member who made the change; null for the system (jobs, webhooks, automations) and API keys. */
    actorId: wireId.nullable(),
    actorApiKeyId: wireId.optional(),
    at: wireInstant,
    data: z.unknown(),
  })
  .meta({ id: 'RealtimeEvent' });

type Topic = 'org' | 'thread' | 'shipment' | 'user';

export const TOPIC_PATTERNS: Record<Topic, string> = {
  org: 'org:{orgId}',
  thread: 'org:{orgId}:thread:{threadId}',
  shipment: 'org:{orgId}:shipment:{shipmentId}',
  user: 'user:{userId}',
};

interface EventGroup {
  events: readonly string[];
  /** Every topic kind an event of the group may go to. */
  topics: readonly Topic[];
  /** Which of them, when not every event goes to all (markdown, for the docs). */
  topicsNote?: string;
  /** What `data` holds (markdown). */
  data: string;
  /** The schema `data` is, when it is an entity as the API answers it. */
  entity?: string;
}

/** The events, grouped as docs/realtime.md shows them. Each must match what the code sends, topics included. */
const GROUPS = [
  {
    events: ['thread.created', 'thread.updated', 'thread.assigned', 'thread.unassigned'],
    topics: ['org', 'thread'],
    data: "the thread view: the thread's row as `GET /api/threads/{id}` returns it, with `customerName`, and nothing of one member (no `unread`: see below). The same shape from every channel, route and job (`lib/threads/view.ts`)",
    entity: 'Thread',
  },
  {
    events: ['thread.macro_run'],
    topics: ['thread'],
    data: "`{ runId, macroId, macroName, threadId, status: succeeded|failed, steps, error }`: a macro ran on the thread (the steps' own events, `thread.updated`, `note.created`, `action.created`, `message.created`, come too when it succeeded; none when it failed)",
    entity: 'ThreadMacroRun',
  },
  {
    events: ['thread.read_state'],
    topics: ['user'],
    data: '`{ threadId, unread }`, when the member marks a thread read or unread',
    entity: 'ThreadReadState',
  },
  {
    events: ['message.created', 'message.updated'],
    topics: ['thread'],
    topicsNote: "`org:{orgId}:thread:{threadId}` (a moved message's `message.updated`: both threads)",
    data: "the message as `GET /api/messages/{id}` returns it without `bodyText`, `bodyHtml`, `bodyNewText`, `transcript`, `summary`, `entities`, `language`, `sentimentScore`, `bccRecipients`, `template` and `attachments`, with `transcription` (a call's transcription state, else null) (bodies can be megabytes; fetch the message to show them). One shape for every channel, the send jobs and the delivery webhooks (`lib/messages/announce.ts`)",
    entity: 'Message',
  },
  { events: ['message.deleted'], topics: ['thread'], data: '`{ id }` (a draft deleted)' },
  {
    events: ['message.analyzed'],
    topics: ['thread'],
    data: '`{ id, threadId, intent, sentiment, sentimentScore, urgency, summary, language, entities, source, analyzedAt }` when the analysis of an inbound message is stored',
  },
  { events: ['note.created', 'note.updated'], topics: ['thread'], data: 'the note', entity: 'Note' },
  { events: ['note.deleted'], topics: ['thread'], data: '`{ id, threadId }`' },
  {
    events: ['action.created', 'action.updated'],
    topics: ['org', 'thread'],
    topicsNote:
      '`org:{orgId}`, and `org:{orgId}:thread:{threadId}` for an action on a thread (an update that moves the action to another thread: both threads)',
    data: 'the action as `GET /api/actions/{id}` returns it',
    entity: 'Action',
  },
  { events: ['action.deleted'], topics: ['org', 'thread'], topicsNote: 'as above', data: '`{ id, threadId }`' },
  {
    events: ['workflow_run.updated'],
    topics: ['thread'],
    data: "a workflow run on the thread started, moved to its next step, waits, completed, failed or was cancelled: `{ id, workflowId, workflowName, workflowVersion, threadId, status, currentStep, error, depth, startedAt, finishedAt }` (the steps' own events come too)",
    entity: 'WorkflowRun',
  },
  { events: ['workflow.created', 'workflow.updated'], topics: ['org'], data: 'the workflow', entity: 'Workflow' },
  { events: ['workflow.deleted'], topics: ['org'], data: '`{ id }`' },
  {
    events: ['webhook_endpoint.created', 'webhook_endpoint.updated'],
    topics: ['org'],
    data: 'the endpoint, never its secret',
    entity: 'WebhookEndpoint',
  },
  { events: ['webhook_endpoint.deleted'], topics: ['org'], data: '`{ id }`' },
  {
    events: ['reply_template.created', 'reply_template.updated', 'reply_template.deleted', 'macro.created', 'macro.updated', 'macro.deleted'],
    topics: ['org', 'user'],
    topicsNote: '`org:{orgId}` for shared ones, `user:{ownerId}` for personal ones',
    data: 'the template or macro (`{ id }` when deleted)',
  },
  {
    events: ['notification.created'],
    topics: ['user'],
    data: 'the notification as `GET /api/notifications` lists it: `{ id, type, title, body, threadId, entityType, entityId, readAt, createdAt }`, of a type the member has not turned `off`; never for what the member did themselves',
    entity: 'Notification',
  },
  {
    events: ['notification.read'],
    topics: ['user'],
    data: "`{ ids, readAt, unreadCount }` after `POST /api/notifications/read` (another screen of the member's clears its badge)",
  },
  {
    events: ['notification_preferences.updated'],
    topics: ['user'],
    data: 'the preferences as `GET /api/me/notification-preferences` answers them',
    entity: 'NotificationPreferences',
  },
  {
    events: ['shipment.created', 'shipment.updated'],
    topics: ['org', 'shipment'],
    data: 'the shipment as `GET /api/shipments/{id}` returns it',
    entity: 'Shipment',
  },
  { events: ['shipment.deleted'], topics: ['org', 'shipment'], data: '`{ id }`' },
  {
    events: ['shipment.milestone'],
    topics: ['org', 'shipment'],
    data: '`{ shipmentId, milestone }`: a new milestone, or one whose actual time was just set',
  },
  { events: ['shipment.eta_changed'], topics: ['org', 'shipment'], data: '`{ shipmentId, previousEta, eta }`' },
  {
    events: ['shipment.milestone_updated'],
    topics: ['shipment'],
    data: '`{ shipmentId, milestone }`: a milestone changed without its actual time being set',
  },
  { events: ['shipment.milestone_deleted'], topics: ['shipment'], data: '`{ shipmentId, id }`' },
  {
    events: ['shipment.thread_linked', 'shipment.thread_unlinked'],
    topics: ['shipment', 'thread'],
    data: '`{ shipmentId, threadId, linkSource }`',
  },
  {
    events: ['document.created', 'document.read', 'document.updated'],
    topics: ['org', 'thread', 'shipment'],
    topicsNote: "`org:{orgId}`, and the document's thread and shipment topics when it has them",
    data: 'the document as `GET /api/documents/{id}` returns it: `created` for an upload filed as a document, `read` when its reading finished (or failed), `updated` after a correction or when it made its shipment. A document filed from an inbound attachment comes as `document.created` with `{ id, attachmentId, messageId, threadId, source }`',
  },
  {
    events: ['tracking_integration.created'],
    topics: ['org'],
    data: 'the integration as `GET /api/tracking-integrations` lists it (with its webhook URL), never its secrets',
    entity: 'TrackingIntegration',
  },
  { events: ['customer.created', 'customer.updated'], topics: ['org'], data: 'the customer', entity: 'Customer' },
  {
    events: ['contact.created', 'contact.updated'],
    topics: ['org'],
    data: 'the contact; `contact.created` also comes from an unknown WhatsApp, SMS or call number (the contact made for it, `{ id, name, phone, whatsapp, customerId }`), and `contact.updated` from a Resend bounce or complaint',
    entity: 'Contact',
  },
  { events: ['customer.deleted', 'contact.deleted'], topics: ['org'], data: '`{ id }`' },
  {
    events: ['contact.merged', 'customer.merged'],
    topics: ['org'],
    data: 'the merged contact or customer as `GET` answers it, with `mergedIntoContactId` / `mergedIntoCustomerId` naming the one it went to (replace references to it). The merge also emits `contact.updated` / `customer.updated` for the one that stays, `contact.updated` for each contact a customer merge moved, and `thread.updated` for each thread it moved (`lib/merge.ts`)',
  },
  { events: ['organization.updated'], topics: ['org'], data: 'the organization with its domains', entity: 'Organization' },
  {
    events: ['member.added', 'member.updated'],
    topics: ['org', 'user'],
    data: "the member as `GET /api/members` lists it, availability included; `member.added` on an accepted invitation; `member.updated` also follows a member's own `PATCH /api/me`, never with their signature",
    entity: 'Member',
  },
  { events: ['member.removed'], topics: ['org'], data: '`{ id, userId }`' },
  {
    events: ['team.created', 'team.updated'],
    topics: ['org'],
    data: 'the team with `memberIds`, `leadIds` and `members` (`{ userId, role }`)',
    entity: 'Team',
  },
  { events: ['team.deleted'], topics: ['org'], data: '`{ id }`' },
  {
    events: ['sender_rule.created', 'sender_rule.updated'],
    topics: ['org'],
    data: "the rule as `GET /api/sender-rules/{id}` returns it (also when marking a thread spam or not spam writes its sender's rule)",
    entity: 'SenderRule',
  },
  { events: ['sender_rule.deleted'], topics: ['org'], data: '`{ id }`' },
  { events: ['job.retried'], topics: ['org'], data: '`{ id, name }` of the job back in the queue' },
  { events: ['search.backfill_started'], topics: ['org'], data: '`{ jobId }` of the queued search backfill' },
  { events: ['identifiers.backfill_started'], topics: ['org'], data: '`{ jobId }` of the queued freight identifiers backfill' },
  {
    events: ['attachment.created', 'attachment.ready', 'attachment.quarantined'],
    topics: ['org', 'thread'],
    topicsNote: '`org:{orgId}` (and `org:{orgId}:thread:{threadId}` for a file on a thread)',
    data: 'the attachment: `created` when an upload starts, `ready` when its bytes arrived, `ready` or `quarantined` for a file that came with an inbound message',
    entity: 'Attachment',
  },
  {
    events: ['channel.created', 'channel.updated', 'channel.disabled'],
    topics: ['org'],
    data: 'the channel (mailbox or Exotel number) as `GET /api/channels/{id}` returns it, no secrets; `channel.updated` also comes as `{ id, webhookSecretRotatedAt, previousSecretExpiresAt }` after a webhook secret rotation and as `{ id, sendingDomainStatus }` after a sending-domain check, and as the channel after a poll marks it failed or recovered',
    entity: 'Channel',
  },
  {
    events: ['mail_quarantine.created', 'mail_quarantine.updated'],
    topics: ['org'],
    data: 'the quarantined message as `GET /api/admin/mail-quarantine/{id}` returns it, without `error` and the download link (every member hears the topic; the quarantine is for owners and admins): `created` when a poll quarantines it, `updated` after a reprocess (resolved as `reprocessed`, or still `open` with a new error) or a discard',
    entity: 'QuarantinedMessage',
  },
  {
    events: ['invitation.created', 'invitation.updated'],
    topics: ['org'],
    data: 'the invitation as `GET /api/invitations` lists it (`updated`: resent, or its mail sent or failed)',
    entity: 'Invitation',
  },
  { events: ['invitation.revoked', 'invitation.declined'], topics: ['org'], data: '`{ id }`' },
  {
    events: ['api_key.created', 'api_key.revoked'],
    topics: ['org'],
    data: 'the key as `GET /api/api-keys` lists it (never the key itself)',
    entity: 'ApiKey',
  },
  { events: ['agent.created', 'agent.updated'], topics: ['org'], data: 'the agent as `GET /api/agents` lists it (never its credentials)', entity: 'Agent' },
  { events: ['agent.deleted'], topics: ['org'], data: '`{ id }`' },
  {
    events: ['agent_task.created', 'agent_task.updated'],
    topics: ['org', 'thread'],
    data: "the task as `GET /api/threads/{id}/agent-tasks` lists it: queued, running, then succeeded (with `noteId` or `messageId`), failed or timed out; `actorId: null` for the job's updates",
    entity: 'AgentTask',
  },
  {
    events: ['sla_policy.created', 'sla_policy.updated'],
    topics: ['org'],
    data: 'the policy as `GET /api/sla-policies/{id}` returns it',
    entity: 'SlaPolicy',
  },
  { events: ['sla_policy.deleted', 'business_calendar.deleted'], topics: ['org'], data: '`{ id }`' },
  {
    events: ['business_calendar.created', 'business_calendar.updated'],
    topics: ['org'],
    data: 'the calendar as `GET /api/business-calendars/{id}` returns it (also after a holiday import)',
    entity: 'BusinessCalendar',
  },
  {
    events: ['sla.warning', 'sla.breached'],
    topics: ['org', 'thread'],
    data: '`{ threadId, target, kind, dueAt, policyId }`, with `actorId: null` (the `sla-check` cron, `lib/sla/check.ts`)',
  },
] as const satisfies readonly EventGroup[];

/** The name of an event the API broadcasts: recordChange accepts no other. */
export type RealtimeEventName = (typeof GROUPS)[number]['events'][number];

export interface RealtimeEvent {
  topics: Topic[];
  data: string;
  entity?: string;
}

/** Per event: where it goes, and what `data` holds (the entity as the API answers it, where named). */
export const REALTIME_EVENTS = Object.fromEntries(
  GROUPS.flatMap((g: EventGroup) =>
    g.events.map((name) => [name, { topics: [...g.topics], data: g.data, ...(g.entity ? { entity: g.entity } : {}) } satisfies RealtimeEvent]),
  ),
) as Record<RealtimeEventName, RealtimeEvent>;

/** Is this string the name of an event the API broadcasts? */
export function isRealtimeEvent(name: string): name is RealtimeEventName {
  return Object.hasOwn(REALTIME_EVENTS, name);
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The event table of docs/realtime.md (between its `realtime-events` markers): one row per group. */
export function realtimeEventTableMarkdown(): string {
  const rows = GROUPS.map((g: EventGroup) => {
    const names = g.events.map((e) => `\`${e}\``).join(', ');
    const where = g.topicsNote ?? g.topics.map((t) => `\`${TOPIC_PATTERNS[t]}\``).join(', ');
    return `| ${names} | ${cell(where)} | ${cell(g.data)} |`;
  });
  return ['| event | topics | data |', '|---|---|---|', ...rows].join('\n');
}
