import { userRoute } from '../../../lib/http/user-route.js';
import { acceptInvitationLink, ensureLocalAccount, linkTokenParams } from '../../../lib/org/invitations.js';
import { invitationResponseWire } from '../../../lib/org/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/invitations/{token}/accept – the invitee, signed in with the invited (confirmed) email, joins with the invited role.
// Needs a valid access token but no membership; the link's token is single use and lasts 7 days (410 once used, revoked, replaced or expired).
export const POST = userRoute(
  { params: linkTokenParams, before: ensureLocalAccount, responses: { 200: invitationResponseWire } },
  ({ principal, sql, params, requestId }) => acceptInvitationLink(sql, principal, params.id, requestId),
);
