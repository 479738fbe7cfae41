// Terminal49, as its public API documents it: tracking requests (`POST /v2/tracking_requests`, a
// JSON:API document, `Authorization: Token <key>`), and webhook notifications (a JSON:API
// `webhook_notification` whose id is the idempotency key, with the shipment, containers and transport
// event in `included`), signed in `X-T49-Webhook-Signature` as the hex HMAC-SHA256 of the raw body
// under the webhook secret. Parsed defensively: fields we do not need are ignored.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { config } from '../config.js';

export type RequestType = 'container' | 'bill_of_lading' | 'booking_number';

export interface TrackingRequestResult {
  ok: boolean;
  status: number;
  providerId: string | null;
  error: string | null;
}

/** Registers a number with Terminal49; the answer's id, or the provider's error text. */
export async function createTrackingRequest(apiKey: string, input: { type: RequestType; number: string; scac: string }): Promise<TrackingRequestResult> {
  const response = await fetch(`${config().terminal49BaseUrl}/tracking_requests`, {
    method: 'POST',
    headers: { authorization: `Token ${apiKey}`, 'content-type': 'application/vnd.api+json', accept: 'application/json' },
    body: JSON.stringify({ data: { type: 'tracking_request', attributes: { request_type: input.type, request_number: input.number, scac: input.scac } } }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.json().catch(() => null)) as {
    data?: { id?: string };
    errors?: Array<{ detail?: string; title?: string }>;
  } | null;
  if (response.ok) return { ok: true, status: response.status, providerId: body?.data?.id ?? null, error: null };
  const error = body?.errors?.map((e) => e.detail ?? e.title).join('; ') || `HTTP ${response.status}`;
  return { ok: false, status: response.status, providerId: null, error };
}

/** Whether the signature header is the hex HMAC-SHA256 of the raw body under the secret (constant time). */
export function signatureMatches(rawBody: string, secret: string, header: string | null): boolean {
  if (!header) return false;
  const expected = createHmac('sha256', secret).update(rawBody, 'utf8').digest();
  const given = Buffer.from(header.trim().toLowerCase(), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Signs a body the way Terminal49 does (the fake provider in tests). */
export function sign(rawBody: string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex');
}

interface Resource {
  id: string;
  type: string;
  attributes?: Record<string, unknown>;
}

export interface Notification {
  id: string;
  event: string;
  /** The containers and B/L the notification concerns, for finding our shipment. */
  containers: string[];
  billsOfLading: string[];
  /** A transport event: what happened, when, where, and its id. */
  transport: { id: string; event: string; at: string | null; locode: string | null } | null;
  /** The port-of-discharge ETA of the shipment, when the notification carries one. */
  podEta: string | null;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);

/** Reads a webhook notification; null when it is not one. */
export function parseNotification(body: unknown): Notification | null {
  const doc = body as { data?: Resource & { attributes?: { event?: unknown } }; included?: Resource[] } | null;
  const id = text(doc?.data?.id);
  const event = text(doc?.data?.attributes?.event);
  if (!doc?.data || doc.data.type !== 'webhook_notification' || !id || !event) return null;
  const included = Array.isArray(doc.included) ? doc.included.filter((r) => r && typeof r === 'object') : [];
  const containers = included
    .filter((r) => r.type === 'container')
    .map((r) => text(r.attributes?.number))
    .filter((v): v is string => v !== null);
  const shipments = included.filter((r) => r.type === 'shipment');
  const billsOfLading = shipments.map((r) => text(r.attributes?.bill_of_lading_number)).filter((v): v is string => v !== null);
  const t = included.find((r) => r.type === 'transport_event');
  const transport = t
    ? {
        id: String(t.id),
        event: text(t.attributes?.event) ?? event,
        at: text(t.attributes?.timestamp),
        locode: text(t.attributes?.location_locode),
      }
    : null;
  const podEta = shipments.map((r) => text(r.attributes?.pod_eta_at)).find((v) => v !== null) ?? null;
  return { id, event, containers, billsOfLading, transport, podEta };
}

/** Terminal49's transport events and the milestone each one is. */
export const TRANSPORT_MILESTONES: Readonly<Record<string, string>> = {
  'container.transport.empty_out': 'empty_pickup',
  'container.transport.full_in': 'gate_in',
  'container.transport.vessel_loaded': 'loaded',
  'container.transport.vessel_departed': 'departed',
  'container.transport.transshipment_arrived': 'transshipment',
  'container.transport.vessel_arrived': 'arrived',
  'container.transport.vessel_discharged': 'discharged',
  'container.transport.full_out': 'gate_out',
  'container.transport.empty_in': 'empty_returned',
};
