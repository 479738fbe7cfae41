import { withResponses } from '../../lib/http/responses.js';
import { deliveryResponses, executeDelivery } from '../../lib/jobs/executor.js';

// POST /api/jobs/{name} – QStash delivers a job here (signature verified on the raw body)
export const POST = withResponses((request: Request) => executeDelivery(request), deliveryResponses, { auth: 'qstash' });
