import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { splitThread, threadSplit } from '../../../lib/threads/regroup.js';
import { threadDetailWire } from '../../../lib/threads/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/threads/{id}/split – move a message and every later one to a new thread; answers the new thread
export const POST = route(
  { action: 'threads.write', params: idParams, body: threadSplit, status: 201, responses: { 201: threadDetailWire } },
  ({ ctx, params, body }) => splitThread(ctx, params.id, body),
);
