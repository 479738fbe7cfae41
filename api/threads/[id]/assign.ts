import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { assignThread, threadAssign } from '../../../lib/threads/service.js';
import { threadChangedWire } from '../../../lib/threads/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/threads/{id}/assign – assign to a member and/or a team
export const POST = route({ action: 'threads.write', params: idParams, body: threadAssign, responses: { 200: threadChangedWire } }, ({ ctx, params, body }) =>
  assignThread(ctx, params.id, body),
);
