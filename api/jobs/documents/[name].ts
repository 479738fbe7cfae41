// Document jobs only (document.read): this function carries the PDF reader and the OCR engine, whose
// worker, WASM core and English model vercel.json ships with it (includeFiles); no other job loads them.
import '../../../lib/documents/jobs.js';
import { withResponses } from '../../../lib/http/responses.js';
import { deliveryResponses, executeDelivery } from '../../../lib/jobs/executor.js';

// POST /api/jobs/documents/{name} – QStash delivers a document job here (signature verified on the raw body)
export const POST = withResponses((request: Request) => executeDelivery(request), deliveryResponses, { auth: 'qstash' });
