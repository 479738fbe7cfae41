import { route } from '../../../lib/http/route.js';
import { listQuarantine, quarantineListQuery } from '../../../lib/email/quarantine.js';
import { quarantinePageWire } from '../../../lib/email/quarantine-wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/admin/mail-quarantine – messages a mailbox poll could not store, newest first (open ones by default)
export const GET = route({ action: 'jobs.admin', query: quarantineListQuery, responses: { 200: quarantinePageWire } }, ({ ctx, query }) =>
  listQuarantine(ctx, query),
);
