import { route } from '../../lib/http/route.js';
import { invitationCreate, invitationListQuery, inviteMember, listInvitations } from '../../lib/org/invitations.js';
import { invitationPageWire, invitationWire } from '../../lib/org/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/invitations – invitations by status (?status=pending (default), accepted, declined, revoked or all), newest first
export const GET = route({ action: 'members.manage', query: invitationListQuery, responses: { 200: invitationPageWire } }, ({ ctx, query }) =>
  listInvitations(ctx, query),
);

// POST /api/invitations – invite an email with a role and mail them a link (the same answer whether or not the email has an account)
export const POST = route({ action: 'members.manage', body: invitationCreate, status: 201, responses: { 201: invitationWire } }, ({ ctx, body }) =>
  inviteMember(ctx, body),
);
