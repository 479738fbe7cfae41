// What the handlers that speak other parties' protocols answer: providers' webhooks (Exotel, Resend,
// Terminal49), local storage's signed URLs, the MCP server and the unsubscribe page.
import * as z from 'zod';
import { wireId } from '../wire.js';
import { rawBody } from './responses.js';

/** Resend and Terminal49: what became of the delivery (a repeat of one already seen is a duplicate). */
export const webhookOutcomeWire = z.strictObject({ outcome: z.enum(['processed', 'ignored', 'duplicate', 'failed']) }).meta({ id: 'WebhookOutcome' });

/** Exotel's POST callbacks: one result per event in the callback, and why any part could not be used. */
export const exotelCallbackWire = z
  .union([
    z.strictObject({
      results: z.array(z.strictObject({ kind: z.string(), outcome: z.string(), messageId: wireId.optional(), threadId: wireId.optional() })),
      rejected: z.array(z.string()),
    }),
    /** WhatsApp's verification probe, echoed. */
    z.strictObject({ challenge: z.string() }),
  ])
  .meta({ id: 'ExotelCallbackResult' });

/** Exotel's GET callbacks (incoming SMS, Passthru) read only the status: every answer is empty text. */
export const exotelGetAnswer = rawBody('text/plain', 'empty: Exotel reads only the status');

export const htmlPage = rawBody('text/html', 'a small HTML page');
export const anyFile = rawBody('*/*', "the file's bytes, as an attachment");
export const jsonRpc = rawBody('application/json', 'a JSON-RPC 2.0 answer (MCP Streamable HTTP, JSON responses)');

/** PUT to a local signed upload URL: the stored object. */
export const storedObjectWire = z.strictObject({ key: z.string(), size: z.number().int(), sha256: z.string() }).meta({ id: 'StoredObject' });
