import { route } from '../../lib/http/route.js';
import { listNotifications, notificationListQuery } from '../../lib/notifications/service.js';
import { notificationPageWire } from '../../lib/notifications/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/notifications – the caller's notifications, newest first (unread, type), with their unread count
export const GET = route({ action: 'org.read', query: notificationListQuery, responses: { 200: notificationPageWire } }, ({ ctx, query }) =>
  listNotifications(ctx, query),
);
