import { route } from '../../lib/http/route.js';
import { createSenderRule, listSenderRules, senderRuleCreate, senderRuleListQuery } from '../../lib/sender-rules/service.js';
import { senderRulePageWire, senderRuleWire } from '../../lib/sender-rules/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/sender-rules – the organization's sender rules, newest first (filters kind, match, q)
export const GET = route({ action: 'senders.read', query: senderRuleListQuery, responses: { 200: senderRulePageWire } }, ({ ctx, query }) =>
  listSenderRules(ctx, query),
);

// POST /api/sender-rules – block, allow or mark as bulk an address, a domain or a phone number
export const POST = route({ action: 'senders.manage', body: senderRuleCreate, status: 201, responses: { 201: senderRuleWire } }, ({ ctx, body }) =>
  createSenderRule(ctx, body),
);
