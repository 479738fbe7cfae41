import { describe, expect, it } from 'vitest';
import { canonicalIdentifiers, extractIdentifiers, searchForms } from '../../lib/logistics/identifiers.js';
import { KNOWN_PORT_COUNT, portName } from '../../lib/shipments/ports.js';
import { parseNotification, sign, signatureMatches } from '../../lib/tracking/terminal49.js';

describe('canonical identifiers', () => {
  it('stores every identifier a text names once, in canonical form', () => {
    const ids = extractIdentifiers('Containers MSKU 123456-5 and TGHU8765436, AWB 176 1234 5675, B/L No: MAEU123456789, booking no. bkg2611458');
    expect(canonicalIdentifiers(ids)).toEqual(['176-12345675', 'BKG2611458', 'MAEU123456789', 'MSKU1234565', 'TGHU8765436']);
  });

  it('reads a typed reference in each form it may stand for', () => {
    expect(searchForms('msku 123456-5')).toEqual(['MSKU1234565', 'MSKU123456-5']);
    expect(searchForms('176 1234 5675')).toEqual(['176-12345675', '17612345675']);
    // A job reference as typed, and without its slashes (every stored number has that form too).
    expect(searchForms('SHL/EXP/2026/0412')).toEqual(['SHL/EXP/2026/0412', 'SHLEXP20260412']);
  });

  it('names known UN/LOCODE places and none for the rest', () => {
    expect(portName('INNSA')).toBe('Nhava Sheva (Jawaharlal Nehru)');
    expect(portName('ZZZZZ')).toBeNull();
    expect(KNOWN_PORT_COUNT).toBeGreaterThan(50);
  });
});

describe('Terminal49 webhooks', () => {
  it('accepts only the hex HMAC-SHA256 of the exact body under the secret', () => {
    const body = '{"data":{"id":"n1"}}';
    expect(signatureMatches(body, 'secret-1', sign(body, 'secret-1'))).toBe(true);
    expect(signatureMatches(body, 'secret-1', sign(body, 'secret-2'))).toBe(false);
    expect(signatureMatches(`${body} `, 'secret-1', sign(body, 'secret-1'))).toBe(false);
    expect(signatureMatches(body, 'secret-1', null)).toBe(false);
    expect(signatureMatches(body, 'secret-1', 'not hex')).toBe(false);
  });

  it('parses a notification defensively', () => {
    expect(parseNotification({ data: { type: 'container', id: 'x' } })).toBeNull();
    expect(parseNotification(null)).toBeNull();
    const n = parseNotification({
      data: { id: 'n1', type: 'webhook_notification', attributes: { event: 'container.transport.vessel_departed' } },
      included: [
        { id: 's1', type: 'shipment', attributes: { bill_of_lading_number: 'MAEU1', pod_eta_at: '2027-02-10T06:00:00Z' } },
        { id: 'c1', type: 'container', attributes: { number: 'MSKU1234565' } },
        {
          id: 't1',
          type: 'transport_event',
          attributes: { event: 'container.transport.vessel_departed', timestamp: '2027-01-02T10:00:00Z', location_locode: 'INNSA' },
        },
      ],
    });
    expect(n).toEqual({
      id: 'n1',
      event: 'container.transport.vessel_departed',
      containers: ['MSKU1234565'],
      billsOfLading: ['MAEU1'],
      transport: { id: 't1', event: 'container.transport.vessel_departed', at: '2027-01-02T10:00:00Z', locode: 'INNSA' },
      podEta: '2027-02-10T06:00:00Z',
    });
  });
});
