import { idParams } from '../../../../lib/http/params.js';
import { userRoute } from '../../../../lib/http/user-route.js';
import { respondToInvitation } from '../../../../lib/org/invitations.js';
import { invitationResponseWire } from '../../../../lib/org/wire.js';

export { OPTIONS } from '../../../../lib/http/cors.js';

// POST /api/me/invitations/{id}/accept – join the organization with the invited role
export const POST = userRoute({ params: idParams, responses: { 200: invitationResponseWire } }, ({ principal, sql, params, requestId }) =>
  respondToInvitation(sql, principal, params.id, true, requestId),
);
