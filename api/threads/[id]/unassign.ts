import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { unassignThread } from '../../../lib/threads/service.js';
import { threadWire } from '../../../lib/threads/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/threads/{id}/unassign – remove the assignee
export const POST = route({ action: 'threads.write', params: idParams, responses: { 200: threadWire } }, ({ ctx, params }) => unassignThread(ctx, params.id));
