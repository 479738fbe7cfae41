import { createShipmentFromDocument, documentShipmentBody } from '../../../lib/documents/service.js';
import { documentShipmentWire } from '../../../lib/documents/wire.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/documents/{id}/shipment – create the shipment the document suggests (body: overrides) and file the document to it
export const POST = route(
  { action: 'shipments.write', params: idParams, body: documentShipmentBody, status: 201, responses: { 201: documentShipmentWire } },
  ({ ctx, params, body }) => createShipmentFromDocument(ctx, params.id, body),
);
