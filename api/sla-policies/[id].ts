import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { deletePolicy, getPolicy, policyUpdate, updatePolicy } from '../../lib/sla/policies.js';
import { slaPolicyWire } from '../../lib/sla/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/sla-policies/{id} – one policy
export const GET = route({ action: 'org.read', params: idParams, responses: { 200: slaPolicyWire } }, ({ ctx, params }) => getPolicy(ctx, params.id));

// PATCH /api/sla-policies/{id} – change targets, conditions, calendar, position, warning share …
export const PATCH = route({ action: 'sla.manage', params: idParams, body: policyUpdate, responses: { 200: slaPolicyWire } }, ({ ctx, params, body }) =>
  updatePolicy(ctx, params.id, body),
);

// DELETE /api/sla-policies/{id} – delete a policy (not the default: 409)
export const DELETE = route({ action: 'sla.manage', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deletePolicy(ctx, params.id));
