import { serveLocalObject } from '../../lib/storage/index.js';

export { OPTIONS } from '../../lib/http/cors.js';

// PUT /api/storage/object – local storage only: upload to a signed URL (size, type and expiry enforced)
export const PUT = (request: Request) => serveLocalObject(request);

// GET /api/storage/object – local storage only: download from a signed URL (as an attachment)
export const GET = (request: Request) => serveLocalObject(request);
