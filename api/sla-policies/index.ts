import { route } from '../../lib/http/route.js';
import { createPolicy, listPolicies, policyCreate } from '../../lib/sla/policies.js';
import { slaPolicyListWire, slaPolicyWire } from '../../lib/sla/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/sla-policies – the organization's SLA policies, the default last
export const GET = route({ action: 'org.read', responses: { 200: slaPolicyListWire } }, ({ ctx }) => listPolicies(ctx));

// POST /api/sla-policies – a policy with targets by priority and conditions (customers, tiers, channels)
export const POST = route({ action: 'sla.manage', body: policyCreate, status: 201, responses: { 201: slaPolicyWire } }, ({ ctx, body }) =>
  createPolicy(ctx, body),
);
