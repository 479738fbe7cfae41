import { route } from '../../lib/http/route.js';
import { invitationCreate, inviteMember } from '../../lib/org/invitations.js';
import { listMembers } from '../../lib/org/service.js';
import { memberPageWire } from '../../lib/org/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/members – the organization's members
export const GET = route({ action: 'org.read', responses: { 200: memberPageWire } }, ({ ctx }) => listMembers(ctx));

// POST /api/members – invite an email with a role; they join when they accept (same answer whether or not they have an account)
export const POST = route({ action: 'members.manage', body: invitationCreate, status: 201 }, ({ ctx, body }) => inviteMember(ctx, body));
