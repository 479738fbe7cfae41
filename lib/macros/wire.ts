// Macros, their runs and a thread's run history as the API answers them (wire form).
import * as z from 'zod';
import { pageOf, wireId, wireInstant } from '../wire.js';
import { macroStep } from './service.js';

export const macroWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    description: z.string().nullable(),
    /** The steps in the order they run (see the README: assign, status, priority, snooze, tags, note, action, reply, shipment, agent). */
    steps: z.array(macroStep),
    visibility: z.enum(['organization', 'personal']),
    ownerId: wireId.nullable(),
    usageCount: z.number().int(),
    lastRunAt: wireInstant.nullable(),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Macro' });

export const macroPageWire = pageOf(macroWire);

/** What one step did: its type and what it changed or made (ids, the thread's new fields, warnings). */
const stepOutcomeWire = z.looseObject({ type: z.string() });

const runErrorWire = z
  .strictObject({
    /** The step that failed (its index), or null when the thread itself could not be used. */
    step: z.number().int().nullable(),
    type: z.string().nullable(),
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  })
  .nullable();

export const macroRunWire = z
  .strictObject({
    runId: wireId,
    macroId: wireId,
    macroName: z.string(),
    runBy: wireId,
    at: wireInstant,
    succeeded: z.number().int(),
    failed: z.number().int(),
    /** Per thread, in the order asked: `succeeded` with each step's outcome, or `failed` (nothing kept) with the error. */
    results: z.array(z.strictObject({ threadId: wireId, status: z.enum(['succeeded', 'failed']), steps: z.array(stepOutcomeWire), error: runErrorWire })),
  })
  .meta({ id: 'MacroRun' });

export const threadMacroRunWire = z
  .strictObject({
    runId: wireId,
    macroId: wireId.nullable(),
    macroName: z.string(),
    runBy: wireId.nullable(),
    runByName: z.string().nullable(),
    status: z.enum(['succeeded', 'failed']),
    steps: z.array(stepOutcomeWire),
    error: runErrorWire,
    at: wireInstant,
  })
  .meta({ id: 'ThreadMacroRun' });

export const threadMacroRunPageWire = pageOf(threadMacroRunWire);
