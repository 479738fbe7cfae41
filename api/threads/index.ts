import { route } from '../../lib/http/route.js';
import { createThread, listThreads, threadCreate } from '../../lib/threads/service.js';
import { isSync } from '../../lib/sync.js';
import { syncThreads, threadListOrSyncQuery } from '../../lib/threads/sync.js';
import { threadChangedWire, threadPageWire } from '../../lib/threads/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/threads – the inbox: threads by last activity, with filters; with updatedSince, what changed since
export const GET = route({ action: 'threads.read', query: threadListOrSyncQuery, customPlans: true, responses: { 200: threadPageWire } }, ({ ctx, query }) =>
  isSync(query) ? syncThreads(ctx, query) : listThreads(ctx, query),
);

// POST /api/threads – open a thread
export const POST = route({ action: 'threads.write', body: threadCreate, status: 201, responses: { 201: threadChangedWire } }, ({ ctx, body }) =>
  createThread(ctx, body),
);
