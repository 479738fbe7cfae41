import { actionCreate, createAction, listActions } from '../../lib/actions/service.js';
import { actionListOrSyncQuery, syncActions } from '../../lib/actions/sync.js';
import { isSync } from '../../lib/sync.js';
import { route } from '../../lib/http/route.js';
import { actionPageWire, actionWire } from '../../lib/actions/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/actions – actions by due time; filters assignee, thread, shipment, status, overdue, due_before; with updatedSince, what changed since
export const GET = route({ action: 'threads.read', query: actionListOrSyncQuery, responses: { 200: actionPageWire } }, ({ ctx, query }) =>
  isSync(query) ? syncActions(ctx, query) : listActions(ctx, query),
);

// POST /api/actions – create an action on a thread and/or a shipment (the assignee is notified)
export const POST = route({ action: 'threads.write', body: actionCreate, status: 201, responses: { 201: actionWire } }, ({ ctx, body }) =>
  createAction(ctx, body),
);
