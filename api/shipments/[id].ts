import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { shipmentUpdate } from '../../lib/shipments/schemas.js';
import { deleteShipment, getShipment, updateShipment } from '../../lib/shipments/service.js';
import { shipmentWire } from '../../lib/shipments/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/shipments/{id} – a shipment
export const GET = route({ action: 'shipments.read', params: idParams, responses: { 200: shipmentWire } }, ({ ctx, params }) => getShipment(ctx, params.id));

// PATCH /api/shipments/{id} – edit a shipment (a reference added links the threads that name it)
export const PATCH = route({ action: 'shipments.write', params: idParams, body: shipmentUpdate, responses: { 200: shipmentWire } }, ({ ctx, params, body }) =>
  updateShipment(ctx, params.id, body),
);

// DELETE /api/shipments/{id} – delete a shipment with its milestones and links
export const DELETE = route({ action: 'shipments.delete', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteShipment(ctx, params.id));
