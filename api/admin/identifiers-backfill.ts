import * as z from 'zod';
import { route } from '../../lib/http/route.js';
import { startIdentifiersBackfill } from '../../lib/shipments/backfill.js';
import { wireId } from '../../lib/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

const started = z.strictObject({ jobId: wireId, messages: z.number().int().nonnegative() }).meta({ id: 'IdentifiersBackfillStarted' });

// POST /api/admin/identifiers-backfill – queue the backfill of the freight identifiers of the organization's messages
export const POST = route({ action: 'jobs.admin', status: 202, responses: { 202: started } }, ({ ctx }) => startIdentifiersBackfill(ctx));
