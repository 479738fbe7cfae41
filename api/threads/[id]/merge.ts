import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { mergeThreads, threadMerge } from '../../../lib/threads/regroup.js';
import { threadDetailWire } from '../../../lib/threads/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/threads/{id}/merge – merge this thread into the thread `into` names; answers the thread that stays
export const POST = route({ action: 'threads.write', params: idParams, body: threadMerge, responses: { 200: threadDetailWire } }, ({ ctx, params, body }) =>
  mergeThreads(ctx, params.id, body),
);
