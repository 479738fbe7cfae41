import { anyFile, storedObjectWire } from '../../lib/http/provider-wire.js';
import { describe, rawBody } from '../../lib/http/responses.js';
import { serveLocalObject } from '../../lib/storage/index.js';

export { OPTIONS } from '../../lib/http/cors.js';

const auth = { auth: 'signature', authNote: 'a signed URL this API issued (its query carries the grant and signature)' } as const;

// PUT /api/storage/object – local storage only: upload to a signed URL (size, type and expiry enforced)
export const PUT = describe((request: Request) => serveLocalObject(request), {
  ...auth,
  body: rawBody('application/octet-stream', "the file's bytes, with the Content-Type the upload was signed for"),
  responses: { 200: storedObjectWire },
});

// GET /api/storage/object – local storage only: download from a signed URL (as an attachment)
export const GET = describe((request: Request) => serveLocalObject(request), { ...auth, responses: { 200: anyFile } });
