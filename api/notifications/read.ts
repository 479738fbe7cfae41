import { route } from '../../lib/http/route.js';
import { markNotificationsRead, notificationRead } from '../../lib/notifications/service.js';
import { notificationReadWire } from '../../lib/notifications/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// POST /api/notifications/read – mark the caller's notifications read: { ids } or { before } (everything up to a time)
export const POST = route({ action: 'org.read', body: notificationRead, idempotent: false, responses: { 200: notificationReadWire } }, ({ ctx, body }) =>
  markNotificationsRead(ctx, body),
);
