// Customers as the API answers them (wire form: instants as ISO strings). Strict: a column added to the
// customer select must be declared here too.
import * as z from 'zod';
import { contactWire } from '../contacts/wire.js';
import { listOrSyncOf, wireId, wireInstant } from '../wire.js';
import { CUSTOMER_KINDS, CUSTOMER_TIERS } from './service.js';

export const customerWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    kind: z.enum(CUSTOMER_KINDS),
    tier: z.enum(CUSTOMER_TIERS),
    /** Company email domains: mail from a new sender on one is filed under this customer. */
    domains: z.array(z.string()),
    gstin: z.string().nullable(),
    city: z.string().nullable(),
    /** ISO 3166 alpha-2. */
    country: z.string().nullable(),
    notes: z.string().nullable(),
    tags: z.array(z.string()),
    ownerId: wireId.nullable(),
    /** Set when this customer was merged into another (it is then only a pointer): fetch that one instead. */
    mergedIntoCustomerId: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Customer' });

/** GET /api/customers/{id}: the customer with its contacts (primary first, up to 200). */
export const customerDetailWire = customerWire
  .extend({
    contacts: z.array(contactWire.omit({ customerId: true, mergedIntoContactId: true, createdAt: true, updatedAt: true })),
  })
  .meta({ id: 'CustomerDetail' });

export const customerPageWire = listOrSyncOf(customerWire);
