// The AI routes' answers (wire form). POST /api/ai/compose streams instead (the AI SDK's UI message stream over SSE).
import * as z from 'zod';
import { ACTION_TYPES } from '../actions/service.js';
import { rawBody } from '../http/responses.js';
import { PRIORITIES } from '../threads/service.js';
import { wireId, wireInstant } from '../wire.js';

const madeBy = z.enum(['model', 'offline']);

export const threadSummaryWire = z
  .strictObject({ summary: z.string(), bullets: z.array(z.string()), source: madeBy })
  .meta({ id: 'ThreadSummary', description: 'From the model, or extracted offline when there is none or it fails' });

/** Each suggestion is a valid POST /api/actions body (its `suggestion` says which and what made it). */
export const suggestionsWire = z
  .strictObject({
    suggestions: z.array(
      z.strictObject({
        title: z.string(),
        description: z.string(),
        type: z.enum(ACTION_TYPES),
        priority: z.enum(PRIORITIES),
        dueAt: wireInstant.optional(),
        threadId: wireId,
        shipmentId: wireId.optional(),
        source: z.literal('ai'),
        suggestion: z.strictObject({ key: z.string(), source: madeBy, model: z.string().nullable() }),
      }),
    ),
    source: madeBy,
  })
  .meta({ id: 'ActionSuggestions' });

export const composeStream = rawBody(
  'text/event-stream',
  "the draft as the AI SDK's UI message stream (server-sent events); it is saved as a draft message when it finishes",
);
