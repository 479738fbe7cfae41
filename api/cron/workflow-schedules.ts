import { cronRoute } from '../../lib/http/cron.js';
import { fireSchedules } from '../../lib/workflows/engine.js';

// GET /api/cron/workflow-schedules – Vercel Cron: queue each scheduled workflow's fire once per fire time
export const GET = cronRoute('workflow-schedules', () => fireSchedules());
