import { idParams } from '../../../lib/http/params.js';
import { routeInTransactions } from '../../../lib/http/route.js';
import { macroRunBody, runMacro } from '../../../lib/macros/run.js';
import { macroRunWire } from '../../../lib/macros/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/macros/{id}/run – run the macro on up to 100 threads as the caller, each thread in a transaction of its own; answers what happened per thread
export const POST = routeInTransactions(
  { action: 'threads.write', params: idParams, body: macroRunBody, responses: { 200: macroRunWire } },
  ({ transact, params, body }) => runMacro(transact, params.id, body),
);
