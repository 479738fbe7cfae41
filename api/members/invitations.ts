import { route } from '../../lib/http/route.js';
import { listInvitations } from '../../lib/org/invitations.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/members/invitations – open invitations, newest first
export const GET = route({ action: 'members.manage' }, ({ ctx }) => listInvitations(ctx));
