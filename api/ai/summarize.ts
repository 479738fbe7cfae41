import { threadRef } from '../../lib/ai/context.js';
import { summarizeThread } from '../../lib/ai/summarize.js';
import { route } from '../../lib/http/route.js';
import { threadSummaryWire } from '../../lib/ai/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// POST /api/ai/summarize – a thread's summary and key points, from the model or extracted offline
export const POST = route({ action: 'threads.read', body: threadRef, idempotent: false, responses: { 200: threadSummaryWire } }, ({ ctx, body }) =>
  summarizeThread(ctx, body.threadId),
);
