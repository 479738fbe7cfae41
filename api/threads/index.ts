import { route } from '../../lib/http/route.js';
import { createThread, listThreads, threadCreate, threadListQuery } from '../../lib/threads/service.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/threads – the inbox: threads by last activity, with filters
export const GET = route({ action: 'threads.read', query: threadListQuery, customPlans: true }, ({ ctx, query }) => listThreads(ctx, query));

// POST /api/threads – open a thread
export const POST = route({ action: 'threads.write', body: threadCreate, status: 201 }, ({ ctx, body }) => createThread(ctx, body));
