import { route } from '../../lib/http/route.js';
import { listMembers } from '../../lib/org/service.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/members – the organization's members
export const GET = route({ action: 'org.read' }, ({ ctx }) => listMembers(ctx));

