// The realtime events the API broadcasts (lib/realtime.ts recordChange, through Supabase Realtime's
// broadcast), for the OpenAPI document's `x-realtime`: the topics, the envelope every event shares,
// and each event with the topics it goes to and what its `data` is. A unit test keeps the list
// complete: every event name the code emits must be here.
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

/** Per event: where it goes, and what `data` holds (the entity as the API answers it, where named). */
export const REALTIME_EVENTS: Record<string, { topics: Topic[]; data: string; entity?: string }> = {};

const add = (names: string[], topics: Topic[], data: string, entity?: string) => {
  for (const name of names) REALTIME_EVENTS[name] = { topics, data, ...(entity ? { entity } : {}) };
};

add(['thread.created', 'thread.updated'], ['org', 'thread'], 'the thread (its event view: status, assignment, counts, tags, analysis)', 'Thread');
add(['thread.read_state'], ['user'], "the thread's read state for the member", 'ThreadReadState');
add(['thread.macro_run'], ['org', 'thread'], 'the macro run on the thread', 'ThreadMacroRun');
add(['message.created', 'message.updated'], ['org', 'thread'], 'the message', 'Message');
add(['message.deleted'], ['org', 'thread'], '`{ id, threadId }` of the deleted message');
add(['message.analyzed'], ['org', 'thread'], "the message's analysis (intent, sentiment, urgency, entities)");
add(['note.created', 'note.updated'], ['org', 'thread'], 'the note', 'Note');
add(['note.deleted'], ['org', 'thread'], '`{ id, threadId }` of the deleted note');
add(['action.created', 'action.updated'], ['org'], 'the action', 'Action');
add(['action.deleted'], ['org'], '`{ id }` of the deleted action');
add(['agent.created', 'agent.updated'], ['org'], 'the agent', 'Agent');
add(['agent.deleted'], ['org'], '`{ id }` of the deleted agent');
add(['agent_task.created', 'agent_task.updated'], ['org', 'thread'], 'the agent task', 'AgentTask');
add(['api_key.created', 'api_key.revoked'], ['org'], 'the API key (never its secret)', 'ApiKey');
add(['attachment.created', 'attachment.ready', 'attachment.quarantined'], ['org', 'thread'], 'the attachment', 'Attachment');
add(['business_calendar.created', 'business_calendar.updated'], ['org'], 'the calendar', 'BusinessCalendar');
add(['business_calendar.deleted'], ['org'], '`{ id }` of the deleted calendar');
add(['channel.created', 'channel.updated', 'channel.disabled'], ['org'], 'the channel, or the fields that changed with its `id`', 'Channel');
add(['contact.created', 'contact.updated'], ['org'], 'the contact', 'Contact');
add(['contact.deleted', 'contact.merged'], ['org'], 'the contact gone (`id`), and for a merge the one it went into');
add(['customer.created', 'customer.updated'], ['org'], 'the customer', 'Customer');
add(['customer.deleted', 'customer.merged'], ['org'], 'the customer gone (`id`), and for a merge the one it went into');
add(['invitation.created', 'invitation.updated'], ['org'], 'the invitation', 'Invitation');
add(['invitation.revoked', 'invitation.declined'], ['org'], '`{ id }` of the invitation');
add(['job.retried'], ['org'], '`{ id, name }` of the job back in the queue');
add(['mail_quarantine.created', 'mail_quarantine.updated'], ['org'], 'the quarantined message, without its error text', 'QuarantinedMessage');
add(['member.added', 'member.updated'], ['org', 'user'], 'the member', 'Member');
add(['member.removed'], ['org', 'user'], '`{ id, userId }` of the member removed');
add(['notification.created', 'notification.read'], ['user'], 'the notification, or the ids marked read', 'Notification');
add(['notification_preferences.updated'], ['user'], "the member's notification preferences", 'NotificationPreferences');
add(['organization.updated'], ['org'], 'the organization', 'Organization');
add(['sender_rule.created', 'sender_rule.updated'], ['org'], 'the sender rule', 'SenderRule');
add(['sender_rule.deleted'], ['org'], '`{ id }` of the deleted rule');
add(
  ['document.created', 'document.read', 'document.updated'],
  ['org', 'thread', 'shipment'],
  'the document (to its thread and shipment topics when it has them)',
  'Document',
);
add(['search.backfill_started'], ['org'], '`{ jobId }` of the queued search backfill');
add(['shipment.created', 'shipment.updated', 'shipment.eta_changed'], ['org', 'shipment'], 'the shipment', 'Shipment');
add(['shipment.deleted'], ['org', 'shipment'], '`{ id }` of the deleted shipment');
add(['shipment.milestone', 'shipment.milestone_updated'], ['org', 'shipment'], 'the milestone', 'Milestone');
add(['shipment.milestone_deleted'], ['org', 'shipment'], '`{ id, shipmentId }` of the deleted milestone');
add(['sla_policy.created', 'sla_policy.updated'], ['org'], 'the policy', 'SlaPolicy');
add(['sla_policy.deleted'], ['org'], '`{ id }` of the deleted policy');
add(['team.created', 'team.updated'], ['org'], 'the team', 'Team');
add(['team.deleted'], ['org'], '`{ id }` of the deleted team');
add(['tracking_integration.created'], ['org'], 'the integration (never its secrets)', 'TrackingIntegration');
add(['webhook_endpoint.created', 'webhook_endpoint.updated'], ['org'], 'the endpoint (never its secret)', 'WebhookEndpoint');
add(['webhook_endpoint.deleted'], ['org'], '`{ id }` of the deleted endpoint');
add(['workflow.created', 'workflow.updated'], ['org'], 'the workflow', 'Workflow');
add(['workflow.deleted'], ['org'], '`{ id }` of the deleted workflow');
add(['workflow_run.updated'], ['org', 'thread'], 'the run', 'WorkflowRun');

export const TOPIC_PATTERNS: Record<Topic, string> = {
  org: 'org:{orgId}',
  thread: 'org:{orgId}:thread:{threadId}',
  shipment: 'org:{orgId}:shipment:{shipmentId}',
  user: 'user:{userId}',
};
