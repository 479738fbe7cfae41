import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { deleteMacro, getMacro, macroUpdate, updateMacro } from '../../lib/macros/service.js';
import { macroWire } from '../../lib/macros/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/macros/{id} – one macro
export const GET = route({ action: 'threads.read', params: idParams, responses: { 200: macroWire } }, ({ ctx, params }) => getMacro(ctx, params.id));

// PATCH /api/macros/{id} – change a macro (a shared one needs templates.manage)
export const PATCH = route({ action: 'threads.write', params: idParams, body: macroUpdate, responses: { 200: macroWire } }, ({ ctx, params, body }) =>
  updateMacro(ctx, params.id, body),
);

// DELETE /api/macros/{id} – delete a macro (its past runs stay on the threads' timelines)
export const DELETE = route({ action: 'threads.write', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteMacro(ctx, params.id));
