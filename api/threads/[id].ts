import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { getThread, threadUpdate, updateThread } from '../../lib/threads/service.js';
import { threadChangedWire, threadDetailWire } from '../../lib/threads/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/threads/{id} – a thread with its customer, contact and shipments
export const GET = route({ action: 'threads.read', params: idParams, responses: { 200: threadDetailWire } }, ({ ctx, params }) => getThread(ctx, params.id));

// PATCH /api/threads/{id} – edit subject, status (snooze until), priority, tags, customer, team, assignee (warns when away)
export const PATCH = route({ action: 'threads.write', params: idParams, body: threadUpdate, responses: { 200: threadChangedWire } }, ({ ctx, params, body }) =>
  updateThread(ctx, params.id, body),
);
