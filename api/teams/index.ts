import { route } from '../../lib/http/route.js';
import { createTeam, listTeams, teamCreate } from '../../lib/org/service.js';
import { teamPageWire, teamWire } from '../../lib/org/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/teams – teams and their members
export const GET = route({ action: 'org.read', responses: { 200: teamPageWire } }, ({ ctx }) => listTeams(ctx));

// POST /api/teams – create a team
export const POST = route({ action: 'teams.manage', body: teamCreate, status: 201, responses: { 201: teamWire } }, ({ ctx, body }) => createTeam(ctx, body));
