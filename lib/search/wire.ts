// Search results as the API answers them (GET /api/search): threads, each with its best hits.
import * as z from 'zod';
import { threadWire } from '../threads/wire.js';
import { pageOf, wireId, wireInstant } from '../wire.js';
import { HIT_TYPES } from './service.js';

export const searchHitWire = z
  .strictObject({
    type: z.enum(HIT_TYPES),
    /** The message, note, contact, customer, shipment or document that matched. */
    id: wireId,
    at: wireInstant,
    /** HTML-escaped text with <mark> around the matched words (a message's snippet for an identifier match). */
    snippet: z.string(),
    /** The query's freight identifiers this hit carries, canonical. */
    identifiers: z.array(z.string()),
  })
  .meta({ id: 'SearchHit' });

export const searchResultWire = z
  .strictObject({
    thread: threadWire,
    /** Relevance among the latest matches (higher is better; 1 for an identifier match). */
    rank: z.number(),
    /** The latest hit in the thread. */
    matchedAt: wireInstant,
    hits: z.array(searchHitWire),
  })
  .meta({ id: 'SearchResult' });

export const searchPageWire = pageOf(searchResultWire);
