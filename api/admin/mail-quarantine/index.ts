import { route } from '../../../lib/http/route.js';
import { listQuarantine, quarantineListQuery } from '../../../lib/email/quarantine.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/admin/mail-quarantine – messages a mailbox poll could not store, newest first (open ones by default)
export const GET = route({ action: 'jobs.admin', query: quarantineListQuery }, ({ ctx, query }) => listQuarantine(ctx, query));
