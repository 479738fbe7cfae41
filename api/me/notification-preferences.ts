import { route } from '../../lib/http/route.js';
import { getPreferences, preferencesUpdate, updatePreferences } from '../../lib/notifications/service.js';
import { notificationPreferencesWire } from '../../lib/notifications/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/me/notification-preferences – how the caller is told of each notification type, quiet hours, digest
export const GET = route({ action: 'org.read', responses: { 200: notificationPreferencesWire } }, ({ ctx }) => getPreferences(ctx));

// PUT /api/me/notification-preferences – change them: { types: { mention: "email"|"in_app"|"off", … }, quietHours, digest }
export const PUT = route({ action: 'profile.update', body: preferencesUpdate, responses: { 200: notificationPreferencesWire } }, ({ ctx, body }) =>
  updatePreferences(ctx, body),
);
