import { route } from '../../lib/http/route.js';
import { createTeam, listTeams, teamCreate } from '../../lib/org/service.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/teams – teams and their members
export const GET = route({ action: 'org.read' }, ({ ctx }) => listTeams(ctx));

// POST /api/teams – create a team
export const POST = route({ action: 'teams.manage', body: teamCreate, status: 201 }, ({ ctx, body }) => createTeam(ctx, body));
