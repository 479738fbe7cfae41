import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { revokeInvitation } from '../../lib/org/invitations.js';

export { OPTIONS } from '../../lib/http/cors.js';

// DELETE /api/invitations/{id} – revoke an open invitation: its link stops working (owner invitations: owners only)
export const DELETE = route({ action: 'members.manage', params: idParams, responses: { 204: null } }, ({ ctx, params }) => revokeInvitation(ctx, params.id));
