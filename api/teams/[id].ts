import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { deleteTeam, teamUpdate, updateTeam } from '../../lib/org/service.js';
import { teamWire } from '../../lib/org/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// PATCH /api/teams/{id} – rename, describe, set members
export const PATCH = route({ action: 'teams.manage', params: idParams, body: teamUpdate, responses: { 200: teamWire } }, ({ ctx, params, body }) =>
  updateTeam(ctx, params.id, body),
);

// DELETE /api/teams/{id} – delete a team (its threads keep their assignee, lose the team)
export const DELETE = route({ action: 'teams.manage', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteTeam(ctx, params.id));
