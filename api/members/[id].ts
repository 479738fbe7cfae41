import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { memberUpdate, removeMember, updateMember } from '../../lib/org/service.js';
import { memberUpdatedWire } from '../../lib/org/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// PATCH /api/members/{id} – change role, status, name or phone (owners only touch owners; the last owner stays)
export const PATCH = route({ action: 'members.manage', params: idParams, body: memberUpdate, responses: { 200: memberUpdatedWire } }, ({ ctx, params, body }) =>
  updateMember(ctx, params.id, body),
);

// DELETE /api/members/{id} – remove a member (never the last owner)
export const DELETE = route({ action: 'members.manage', params: idParams, responses: { 204: null } }, ({ ctx, params }) => removeMember(ctx, params.id));
