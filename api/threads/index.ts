import { route } from '../../lib/http/route.js';
import { createThread, listThreads, threadCreate, threadListQuery } from '../../lib/threads/service.js';
import { threadPageWire, threadWire } from '../../lib/threads/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/threads – the inbox: threads by last activity, with filters
export const GET = route({ action: 'threads.read', query: threadListQuery, customPlans: true, responses: { 200: threadPageWire } }, ({ ctx, query }) => listThreads(ctx, query));

// POST /api/threads – open a thread
export const POST = route({ action: 'threads.write', body: threadCreate, status: 201, responses: { 201: threadWire } }, ({ ctx, body }) => createThread(ctx, body));
