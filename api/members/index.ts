import { route } from '../../lib/http/route.js';
import { listMembers } from '../../lib/org/service.js';
import { memberPageWire } from '../../lib/org/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/members – the organization's members
export const GET = route({ action: 'org.read', responses: { 200: memberPageWire } }, ({ ctx }) => listMembers(ctx));
