import { cronRoute } from '../../lib/http/cron.js';
import { checkServiceLevels } from '../../lib/sla/check.js';

// GET /api/cron/sla-check – Vercel Cron: raise sla.warning and sla.breached, once per target and due time
export const GET = cronRoute('sla-check', () => checkServiceLevels());
