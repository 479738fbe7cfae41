import { route } from '../../lib/http/route.js';
import { getOrg, orgUpdate, updateOrg } from '../../lib/org/service.js';
import { organizationWire } from '../../lib/org/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/org – the organization the request acts for, its email domains and the caller's role
export const GET = route({ action: 'org.read', responses: { 200: organizationWire } }, ({ ctx }) => getOrg(ctx));

// PATCH /api/org – name, time zone, signature, own email domains
export const PATCH = route({ action: 'org.update', body: orgUpdate, responses: { 200: organizationWire } }, ({ ctx, body }) => updateOrg(ctx, body));
