import { route } from '../../lib/http/route.js';
import { threadCounts } from '../../lib/threads/counts.js';
import { threadCountsWire } from '../../lib/threads/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/threads/counts – the sidebar: open threads that are mine, unassigned, my teams', unread; each status; SLA
export const GET = route({ action: 'threads.read', responses: { 200: threadCountsWire } }, ({ ctx }) => threadCounts(ctx));
