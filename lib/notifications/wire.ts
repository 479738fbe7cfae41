// Notifications and notification preferences as the API answers them (wire form).
import * as z from 'zod';
import { wireId, wireInstant } from '../wire.js';
import { DELIVERY_MODES, DIGESTS, NOTIFICATION_TYPES } from './types.js';

export const notificationWire = z
  .strictObject({
    id: wireId,
    type: z.enum(NOTIFICATION_TYPES),
    title: z.string(),
    body: z.string().nullable(),
    /** The thread it is about (the web app links there); null when none. */
    threadId: wireId.nullable(),
    /** What it is about: `thread`, `action`, `note` or `message`, and its id. */
    entityType: z.string().nullable(),
    entityId: wireId.nullable(),
    readAt: wireInstant.nullable(),
    createdAt: wireInstant,
  })
  .meta({ id: 'Notification' });

export const notificationPageWire = z.strictObject({
  data: z.array(notificationWire),
  nextCursor: z.string().nullable(),
  /** The member's unread notifications, whatever the filters. */
  unreadCount: z.number().int().min(0),
});

export const notificationReadWire = z.strictObject({
  read: z.number().int().min(0),
  ids: z.array(wireId),
  unreadCount: z.number().int().min(0),
});

export const notificationPreferencesWire = z
  .strictObject({
    types: z.record(z.enum(NOTIFICATION_TYPES), z.enum(DELIVERY_MODES)),
    quietHours: z.strictObject({ start: z.string(), end: z.string(), timeZone: z.string() }).nullable(),
    digest: z.enum(DIGESTS),
    timeZone: z.string(),
  })
  .meta({ id: 'NotificationPreferences' });
