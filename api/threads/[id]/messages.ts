import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { listMessages, reply, replyBody } from '../../../lib/messages/service.js';
import { messageListOrSyncQuery, syncMessages } from '../../../lib/messages/sync.js';
import { messagePageWire, messageWire } from '../../../lib/messages/wire.js';
import { isSync } from '../../../lib/sync.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/threads/{id}/messages – the conversation, oldest first (order=desc for newest first); with updatedSince, what changed since
export const GET = route(
  { action: 'threads.read', params: idParams, query: messageListOrSyncQuery, responses: { 200: messagePageWire } },
  ({ ctx, params, query }) => (isSync(query) ? syncMessages(ctx, params.id, query) : listMessages(ctx, params.id, query)),
);

// POST /api/threads/{id}/messages – reply on the thread's channel (queued for sending), or save a draft
export const POST = route(
  { action: 'threads.write', params: idParams, body: replyBody, status: 201, responses: { 201: messageWire } },
  ({ ctx, params, body }) => reply(ctx, params.id, body),
);
