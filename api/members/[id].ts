import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { memberUpdate, removeMember, updateMember } from '../../lib/org/service.js';

export { OPTIONS } from '../../lib/http/cors.js';

// PATCH /api/members/{id} – change role, status, name or phone (owners only touch owners; the last owner stays)
export const PATCH = route({ action: 'members.manage', params: idParams, body: memberUpdate }, ({ ctx, params, body }) => updateMember(ctx, params.id, body));

// DELETE /api/members/{id} – remove a member (never the last owner)
export const DELETE = route({ action: 'members.manage', params: idParams }, ({ ctx, params }) => removeMember(ctx, params.id));
