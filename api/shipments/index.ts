import { route } from '../../lib/http/route.js';
import { shipmentCreate } from '../../lib/shipments/schemas.js';
import { createShipment, listShipments, shipmentListQuery } from '../../lib/shipments/service.js';
import { shipmentPageWire, shipmentWire } from '../../lib/shipments/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/shipments – list shipments (status, mode, customer, port, ETA/ETD, cut-off and free-time windows, any reference)
export const GET = route({ action: 'shipments.read', query: shipmentListQuery, customPlans: true, responses: { 200: shipmentPageWire } }, ({ ctx, query }) =>
  listShipments(ctx, query),
);

// POST /api/shipments – create a shipment (links the threads that already name its references)
export const POST = route({ action: 'shipments.write', body: shipmentCreate, status: 201, responses: { 201: shipmentWire } }, ({ ctx, body }) =>
  createShipment(ctx, body),
);
