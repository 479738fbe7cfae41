import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { deleteNote, noteUpdate, updateNote } from '../../lib/notes/service.js';
import { noteWire } from '../../lib/notes/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// PATCH /api/notes/{id} – edit a note (its author only); newly @mentioned members are notified
export const PATCH = route({ action: 'threads.write', params: idParams, body: noteUpdate, responses: { 200: noteWire } }, ({ ctx, params, body }) =>
  updateNote(ctx, params.id, body),
);

// DELETE /api/notes/{id} – delete (soft) a note: your own, or anyone's with threads.delete
export const DELETE = route({ action: 'threads.write', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteNote(ctx, params.id));
