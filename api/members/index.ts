import { route } from '../../lib/http/route.js';
import { addMember, listMembers, memberCreate } from '../../lib/org/service.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/members – the organization's members
export const GET = route({ action: 'org.read' }, ({ ctx }) => listMembers(ctx));

// POST /api/members – add an existing user by email with a role
export const POST = route({ action: 'members.manage', body: memberCreate, status: 201 }, ({ ctx, body }) => addMember(ctx, body));
