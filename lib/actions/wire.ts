// Actions as the API answers them (wire form: instants as ISO strings). Strict: a column added to the
// action select must be declared here too.
import * as z from 'zod';
import { PRIORITIES } from '../threads/service.js';
import { listOrSyncOf, wireId, wireInstant } from '../wire.js';
import { ACTION_STATUSES, ACTION_TYPES } from './service.js';

/** Who created an action (the check constraint of app.actions). */
export const ACTION_SOURCES = ['manual', 'ai', 'workflow', 'system'] as const;

export const actionWire = z
  .strictObject({
    id: wireId,
    threadId: wireId.nullable(),
    shipmentId: wireId.nullable(),
    title: z.string(),
    description: z.string().nullable(),
    type: z.enum(ACTION_TYPES),
    status: z.enum(ACTION_STATUSES),
    priority: z.enum(PRIORITIES),
    assigneeId: wireId.nullable(),
    assigneeName: z.string().nullable(),
    dueAt: wireInstant.nullable(),
    /** Set when the status became done; cleared when it leaves done. */
    completedAt: wireInstant.nullable(),
    source: z.enum(ACTION_SOURCES),
    /** The AI suggestion it was made from (source `ai`), else null. */
    suggestion: z.strictObject({ key: z.string(), source: z.enum(['model', 'offline']), model: z.string().nullable() }).nullable(),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
    /** Due before now and still open or in progress. */
    overdue: z.boolean(),
    threadSubject: z.string().nullable(),
    shipmentReference: z.string().nullable(),
  })
  .meta({ id: 'Action' });

/** A page of the list, or with `updatedSince` a page of changes (lib/sync.ts). */
export const actionPageWire = listOrSyncOf(actionWire);
