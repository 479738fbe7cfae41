import { executeDelivery } from '../../lib/jobs/executor.js';

// POST /api/jobs/{name} – QStash delivers a job here (signature verified on the raw body)
export const POST = (request: Request) => executeDelivery(request);
