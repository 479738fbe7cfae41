import * as z from 'zod';
import { route } from '../../lib/http/route.js';
import { startSearchBackfill } from '../../lib/search/backfill.js';
import { wireId } from '../../lib/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

const started = z.strictObject({ jobId: wireId, missing: z.number().int().nonnegative() }).meta({ id: 'SearchBackfillStarted' });

// POST /api/admin/search-backfill – queue the search index backfill of the organization's messages (those without one)
export const POST = route({ action: 'jobs.admin', status: 202, responses: { 202: started } }, ({ ctx }) => startSearchBackfill(ctx));
