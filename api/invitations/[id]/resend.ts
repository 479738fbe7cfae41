import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { resendInvitation } from '../../../lib/org/invitations.js';
import { invitationWire } from '../../../lib/org/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/invitations/{id}/resend – mail an open invitation again with a new link and a new 7 days (the old link stops working)
export const POST = route({ action: 'members.manage', params: idParams, responses: { 200: invitationWire } }, ({ ctx, params }) =>
  resendInvitation(ctx, params.id),
);
