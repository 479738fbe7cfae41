import { threadRef } from '../../lib/ai/context.js';
import { suggestThreadActions } from '../../lib/ai/suggest-actions.js';
import { route } from '../../lib/http/route.js';
import { suggestionsWire } from '../../lib/ai/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// POST /api/ai/suggest-actions – actions the thread calls for, each a ready POST /api/actions body
export const POST = route({ action: 'threads.read', body: threadRef, idempotent: false, responses: { 200: suggestionsWire } }, ({ ctx, body }) =>
  suggestThreadActions(ctx, body.threadId),
);
