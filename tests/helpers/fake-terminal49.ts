// Plays Terminal49 in tests: a local HTTP server answering POST /v2/tracking_requests the way
// api.terminal49.com does (`Authorization: Token <key>`, a JSON:API document with request_type,
// request_number and scac; 201 with the tracking request, 422 with JSON:API errors for a number
// already tracked or a missing field, 401 for a wrong key), recording every request; and builds
// webhook notifications signed as Terminal49 signs them (X-T49-Webhook-Signature: hex HMAC-SHA256).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sign } from '../../lib/tracking/terminal49.js';

export const FAKE_T49 = { apiKey: 't49_test_key_0123456789', webhookSecret: 't49_webhook_secret_abcdef' } as const;

export interface T49Request {
  headers: IncomingHttpHeaders;
  body: any;
}

export async function startFakeTerminal49() {
  const requests: T49Request[] = [];
  const tracked = new Set<string>();
  /** Numbers to answer once with 503, as an outage would. */
  const failOnce = new Set<string>();
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/vnd.api+json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/v2/tracking_requests') return answer(404, { errors: [{ status: '404', title: 'Not Found' }] });
      if (req.headers.authorization !== `Token ${FAKE_T49.apiKey}`) return answer(401, { errors: [{ status: '401', title: 'Unauthorized' }] });
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        return answer(400, { errors: [{ status: '400', title: 'Bad Request' }] });
      }
      requests.push({ headers: req.headers, body });
      const a = body?.data?.attributes ?? {};
      if (
        body?.data?.type !== 'tracking_request' ||
        !a.request_number ||
        !a.scac ||
        !['bill_of_lading', 'booking_number', 'container'].includes(a.request_type)
      ) {
        return answer(422, { errors: [{ status: '422', title: 'Unprocessable Entity', detail: 'request_type, request_number and scac are required' }] });
      }
      if (failOnce.delete(a.request_number)) return answer(503, { errors: [{ status: '503', title: 'Service Unavailable' }] });
      const key = `${a.request_type}:${a.request_number}`;
      if (tracked.has(key)) return answer(422, { errors: [{ status: '422', title: 'Unprocessable Entity', detail: 'Request number has already been taken' }] });
      tracked.add(key);
      answer(201, {
        data: {
          id: randomUUID(),
          type: 'tracking_request',
          attributes: { request_number: a.request_number, request_type: a.request_type, scac: a.scac, status: 'pending', created_at: new Date().toISOString() },
        },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v2`,
    requests,
    failOnce,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A webhook notification for a transport event on a container of a B/L, with the shipment's POD ETA. */
export function transportNotification(input: {
  event: string;
  container: string;
  bl: string;
  at: string;
  locode?: string;
  podEta?: string | null;
  id?: string;
}) {
  const eventId = randomUUID();
  return {
    data: {
      id: input.id ?? randomUUID(),
      type: 'webhook_notification',
      attributes: { event: input.event, delivery_status: 'pending', created_at: new Date().toISOString() },
      relationships: { reference_object: { data: { id: eventId, type: 'transport_event' } }, webhook: { data: { id: randomUUID(), type: 'webhook' } } },
    },
    included: [
      {
        id: randomUUID(),
        type: 'shipment',
        attributes: { bill_of_lading_number: input.bl, shipping_line_scac: input.bl.slice(0, 4), pod_eta_at: input.podEta ?? null },
      },
      { id: randomUUID(), type: 'container', attributes: { number: input.container } },
      {
        id: eventId,
        type: 'transport_event',
        attributes: { event: input.event, timestamp: input.at, location_locode: input.locode ?? null, voyage_number: '447W' },
      },
    ],
  };
}

/** The request Terminal49 would POST: raw JSON body and its signature header. */
export function signedDelivery(body: unknown, secret: string = FAKE_T49.webhookSecret) {
  const raw = JSON.stringify(body);
  return { rawBody: raw, headers: { 'content-type': 'application/json', 'x-t49-webhook-signature': sign(raw, secret) } };
}
