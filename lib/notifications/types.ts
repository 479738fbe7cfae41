// What a notification can be about, and how a member may want each kind delivered: `off` (nothing is
// created), `in_app` (the list and the realtime event), `email` (in the app, and by mail when they
// have not seen it: lib/notifications/email-job.ts). Kept apart so routes, jobs and the unsubscribe
// link share one list without loading each other.
export const NOTIFICATION_TYPES = [
  'mention',
  'assignment',
  'inbound_message',
  'sla_warning',
  'sla_breach',
  'action_due',
  'action_overdue',
  'missed_call',
  'automation',
  'system',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const DELIVERY_MODES = ['off', 'in_app', 'email'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** A member who set nothing: mailed about what asks something of them, told in the app of the rest. */
export const DEFAULT_MODES: Record<NotificationType, DeliveryMode> = {
  mention: 'email',
  assignment: 'email',
  inbound_message: 'email',
  sla_warning: 'in_app',
  sla_breach: 'email',
  action_due: 'in_app',
  action_overdue: 'email',
  missed_call: 'email',
  automation: 'in_app',
  system: 'in_app',
};

/** A stored preference row (in_app, email; null when the member set nothing for the type) as a mode. */
export function modeOf(type: NotificationType, row: { inApp: boolean | null; email: boolean | null } | undefined): DeliveryMode {
  if (!row || row.inApp === null || row.email === null) return DEFAULT_MODES[type];
  if (row.email) return 'email';
  return row.inApp ? 'in_app' : 'off';
}

/** A mode as the preference row's two columns. */
export function columnsOf(mode: DeliveryMode): { inApp: boolean; email: boolean } {
  return { inApp: mode !== 'off', email: mode === 'email' };
}

export const DIGESTS = ['immediate', 'hourly', 'daily'] as const;
export type Digest = (typeof DIGESTS)[number];

/** The local part of every notification mail's Message-ID: replies and bounces that quote it are recognised by it. */
export const NOTIFICATION_MESSAGE_ID_PREFIX = 'banxway-notification.';
/** The header every notification mail carries (its value: the types it holds). */
export const NOTIFICATION_HEADER = 'X-Banxway-Notification';
