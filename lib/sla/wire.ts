// SLA policies and business calendars as the API answers them (wire form).
import * as z from 'zod';
import { CHANNEL_KINDS } from '../channels/mailboxes.js';
import { CUSTOMER_TIERS } from '../customers/service.js';
import { pageOf, wireId, wireInstant } from '../wire.js';

const target = z.strictObject({ minutes: z.number().int(), business: z.boolean() });
const targetRow = z.strictObject({ firstResponse: target.optional(), nextResponse: target.optional(), resolution: target.optional() });

export const slaPolicyWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    description: z.string().nullable(),
    calendarId: wireId.nullable(),
    /** Per priority, the targets it sets. */
    targets: z.strictObject({ urgent: targetRow.optional(), high: targetRow.optional(), normal: targetRow.optional(), low: targetRow.optional() }),
    conditions: z.strictObject({
      customerIds: z.array(wireId).optional(),
      customerTiers: z.array(z.enum(CUSTOMER_TIERS)).optional(),
      channels: z.array(z.enum(CHANNEL_KINDS)).optional(),
    }),
    position: z.number().int(),
    enabled: z.boolean(),
    isDefault: z.boolean(),
    warningPercent: z.number().int(),
    automationRepliesCount: z.boolean(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'SlaPolicy' });

export const slaPolicyListWire = pageOf(slaPolicyWire);

export const businessCalendarWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    timezone: z.string(),
    /** Weekly hours: day 0 (Sunday) to 6, local times HH:MM. */
    hours: z.array(z.strictObject({ day: z.number().int(), start: z.string(), end: z.string() })),
    isDefault: z.boolean(),
    holidays: z.array(z.strictObject({ date: z.iso.date(), name: z.string(), source: z.enum(['manual', 'ical']) })),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'BusinessCalendar' });

export const businessCalendarListWire = pageOf(businessCalendarWire);

/** POST /api/business-calendars/{id}/holidays: how many holidays the file gave, how many events it skipped, and the calendar. */
export const holidayImportWire = z
  .strictObject({ imported: z.number().int(), skipped: z.number().int(), calendar: businessCalendarWire })
  .meta({ id: 'HolidayImport' });
