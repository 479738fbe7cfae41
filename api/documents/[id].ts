import { documentUpdate, getDocument, updateDocument } from '../../lib/documents/service.js';
import { documentDetailWire, documentWire } from '../../lib/documents/wire.js';
import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/documents/{id} – a document with its text per page and a 5-minute signed download URL
export const GET = route({ action: 'shipments.read', params: idParams, responses: { 200: documentDetailWire } }, ({ ctx, params }) =>
  getDocument(ctx, params.id),
);

// PATCH /api/documents/{id} – status, title, shipment; correct the type and fields (each correction kept and marked)
export const PATCH = route({ action: 'shipments.write', params: idParams, body: documentUpdate, responses: { 200: documentWire } }, ({ ctx, params, body }) =>
  updateDocument(ctx, params.id, body),
);
