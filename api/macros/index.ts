import { route } from '../../lib/http/route.js';
import { createMacro, listMacros, macroCreate, macroListQuery } from '../../lib/macros/service.js';
import { macroPageWire, macroWire } from '../../lib/macros/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/macros – the macros the caller may run (shared and their own), most used first; filter q
export const GET = route({ action: 'threads.read', query: macroListQuery, responses: { 200: macroPageWire } }, ({ ctx, query }) => listMacros(ctx, query));

// POST /api/macros – a macro, personal or (templates.manage) shared with the organization
export const POST = route({ action: 'threads.write', body: macroCreate, status: 201, responses: { 201: macroWire } }, ({ ctx, body }) =>
  createMacro(ctx, body),
);
