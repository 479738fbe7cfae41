import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { createNote, listNotes, noteCreate } from '../../../lib/notes/service.js';
import { noteListOrSyncQuery, syncNotes } from '../../../lib/notes/sync.js';
import { notePageWire, noteWire } from '../../../lib/notes/wire.js';
import { isSync } from '../../../lib/sync.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/threads/{id}/notes – the thread's internal notes, oldest first; with updatedSince, what changed since
export const GET = route(
  { action: 'threads.read', params: idParams, query: noteListOrSyncQuery, responses: { 200: notePageWire } },
  ({ ctx, params, query }) => (isSync(query) ? syncNotes(ctx, params.id, query) : listNotes(ctx, params.id, query)),
);

// POST /api/threads/{id}/notes – write a note; @mentioned members are notified
export const POST = route({ action: 'threads.write', params: idParams, body: noteCreate, status: 201, responses: { 201: noteWire } }, ({ ctx, params, body }) =>
  createNote(ctx, params.id, body),
);
