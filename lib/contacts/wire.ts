// Contacts as the API answers them (wire form: instants as ISO strings). Strict: a column added to the
// contact select must be declared here too.
import * as z from 'zod';
import { listOrSyncOf, wireId, wireInstant } from '../wire.js';

/** Whether mail to the contact's address is delivered (the check constraint of app.contacts). */
export const EMAIL_STATUSES = ['ok', 'bounced', 'complained'] as const;

export const contactWire = z
  .strictObject({
    id: wireId,
    customerId: wireId.nullable(),
    name: z.string(),
    email: z.string().nullable(),
    /** E.164. */
    phone: z.string().nullable(),
    /** E.164. */
    whatsapp: z.string().nullable(),
    designation: z.string().nullable(),
    emailStatus: z.enum(EMAIL_STATUSES),
    isPrimary: z.boolean(),
    /** Set when this contact was merged into another (it is then only a pointer): fetch that one instead. */
    mergedIntoContactId: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Contact' });

/** POST and PATCH: the contact and, when a number was typed without its country code, the region it was read in. */
export const contactWrittenWire = contactWire
  .extend({
    phoneRegionAssumed: z
      .strictObject({ region: z.string().regex(/^[A-Z]{2}$/), source: z.enum(['setting', 'timezone', 'none']), fields: z.array(z.string()) })
      .optional(),
  })
  .meta({ id: 'ContactWritten' });

export const contactPageWire = listOrSyncOf(contactWire);
