import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { deleteSenderRule, getSenderRule, senderRuleUpdate, updateSenderRule } from '../../lib/sender-rules/service.js';
import { senderRuleWire } from '../../lib/sender-rules/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/sender-rules/{id} – one sender rule
export const GET = route({ action: 'senders.read', params: idParams, responses: { 200: senderRuleWire } }, ({ ctx, params }) => getSenderRule(ctx, params.id));

// PATCH /api/sender-rules/{id} – change a rule's kind, value or note
export const PATCH = route(
  { action: 'senders.manage', params: idParams, body: senderRuleUpdate, responses: { 200: senderRuleWire } },
  ({ ctx, params, body }) => updateSenderRule(ctx, params.id, body),
);

// DELETE /api/sender-rules/{id} – delete a rule (the sender's next mail is judged by its headers again)
export const DELETE = route({ action: 'senders.manage', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteSenderRule(ctx, params.id));
