// The pure parts of the Exotel work: numbers in E.164, times as Exotel writes them, status mapping of
// WhatsApp and SMS reports and of call statuses, the webhook token rule, and what each callback shape
// turns into (or why it is refused).
import { describe, expect, it } from 'vitest';
import { callbackToken, hashSecret, newWebhookSecret, normalizePhone, tokenMatches } from '../../lib/exotel/common.js';
import { callStatusOf, incomingCallText, passthruStatusOf } from '../../lib/exotel/inbound.js';
import { eventsOf, parseTime, smsReportStatus, Unusable, waReportStatus } from '../../lib/exotel/webhook.js';

const CHANNEL = '0c000000-0000-4000-8000-000000000001';

describe('normalizePhone', () => {
  it.each([
    ['919876543210', '+919876543210'],
    ['+91 98765 43210', '+919876543210'],
    ['09876543210', '+919876543210'],
    ['9876543210', '+919876543210'],
    ['"09876543210"', '+919876543210'],
    ['whatsapp:+919876543210', '+919876543210'],
    ['02233334444', '+912233334444'],
    ['4940123456', null],
    ['+4940123456', '+4940123456'],
    ['hello', null],
    ['', null],
  ])('%s → %s', (input, expected) => {
    expect(normalizePhone(input)).toBe(expected);
  });
});

describe('parseTime', () => {
  it('reads ISO, Exotel local time (IST), unix seconds and milliseconds', () => {
    expect(parseTime('2026-11-26T10:00:00Z').toISOString()).toBe('2026-11-26T10:00:00.000Z');
    expect(parseTime('2026-11-26 15:30:00').toISOString()).toBe('2026-11-26T10:00:00.000Z');
    expect(parseTime('1764151200').toISOString()).toBe('2025-11-26T10:00:00.000Z');
    expect(parseTime(1764151200000).toISOString()).toBe('2025-11-26T10:00:00.000Z');
    const now = Date.now();
    expect(Math.abs(parseTime('garbage').getTime() - now)).toBeLessThan(5000);
    expect(Math.abs(parseTime('2999-01-01T00:00:00Z').getTime() - now)).toBeLessThan(5000);
  });
});

describe('status mapping', () => {
  it('maps WhatsApp exo_status_code and detailed statuses', () => {
    expect(waReportStatus({ exo_status_code: 30001 })).toBe('sent');
    expect(waReportStatus({ exo_status_code: '30002' })).toBe('delivered');
    expect(waReportStatus({ exo_status_code: 30003 })).toBe('read');
    expect(waReportStatus({ exo_status_code: 30004 })).toBe('failed');
    expect(waReportStatus({ exo_status_code: 30010 })).toBe('failed');
    expect(waReportStatus({ exo_detailed_status: 'EX_MESSAGE_SEEN' })).toBe('read');
    expect(waReportStatus({ status: 'delivered' })).toBe('delivered');
    expect(waReportStatus({})).toBeNull();
  });

  it('keys SMS reports off DetailedStatus, Status only as a fallback', () => {
    expect(smsReportStatus({ Status: 'sent', DetailedStatus: 'DELIVERED_TO_HANDSET' })).toBe('delivered');
    expect(smsReportStatus({ Status: 'sent', DetailedStatus: 'DELIVERED_TO_OPERATOR' })).toBe('sent');
    expect(smsReportStatus({ Status: 'failed', DetailedStatus: 'FAILED_DND' })).toBe('failed');
    expect(smsReportStatus({ Status: 'failed', DetailedStatus: 'FAILED_INVALID_NUMBER' })).toBe('failed');
    expect(smsReportStatus({ Status: 'queued', DetailedStatus: 'PENDING_TO_OPERATOR' })).toBeNull();
    expect(smsReportStatus({ Status: 'failed-dnd' })).toBe('failed');
    expect(smsReportStatus({})).toBeNull();
  });

  it('maps call statuses', () => {
    expect(callStatusOf('in-progress')).toBe('in_progress');
    expect(callStatusOf('completed')).toBe('completed');
    expect(callStatusOf('no-answer')).toBe('no_answer');
    expect(callStatusOf('call-attempt')).toBeNull();
    expect(callStatusOf('busy')).toBe('busy');
    expect(callStatusOf('canceled')).toBe('failed');
    expect(callStatusOf('whatever')).toBeNull();
  });

  it('reads where an incoming call stands from Passthru: call-attempt is still in the IVR, not missed', () => {
    expect(passthruStatusOf({ CallType: 'call-attempt' })).toBe('ringing');
    expect(passthruStatusOf({ CallType: 'completed' })).toBe('completed');
    expect(passthruStatusOf({ CallType: 'call-attempt', DialCallStatus: 'completed' })).toBe('completed');
    expect(passthruStatusOf({ CallType: 'incomplete' })).toBe('no_answer');
    expect(passthruStatusOf({ CallType: 'client-hangup' })).toBe('no_answer');
    expect(passthruStatusOf({ CallType: 'voicemail' })).toBe('no_answer');
    expect(passthruStatusOf({ CallType: 'call-attempt', DialCallStatus: 'busy' })).toBe('busy');
    expect(passthruStatusOf({})).toBe('ringing');
  });

  it('words an incoming call by where it stands', () => {
    expect(incomingCallText('ringing', null)).toBe('Incoming call');
    expect(incomingCallText('no_answer', 20)).toBe('Missed call');
    expect(incomingCallText('completed', 125)).toBe('Call, 2 min 5 s');
    expect(incomingCallText('completed', 3720)).toBe('Call, 1 h 2 min');
    expect(incomingCallText('completed', null)).toBe('Incoming call');
  });
});

describe('webhook tokens', () => {
  it('accepts the current secret, the derived callback token and the previous one only before it expires', () => {
    const a = newWebhookSecret();
    const b = newWebhookSecret();
    expect(a.hash).toBe(hashSecret(a.secret));
    const row = { webhookSecretHash: b.hash, previousWebhookSecretHash: a.hash, previousWebhookSecretExpiresAt: new Date(Date.now() + 60_000) };
    expect(tokenMatches(CHANNEL, b.secret, row)).toBe(true);
    expect(tokenMatches(CHANNEL, a.secret, row)).toBe(true);
    expect(tokenMatches(CHANNEL, callbackToken(CHANNEL, b.hash), row)).toBe(true);
    expect(tokenMatches(CHANNEL, callbackToken(CHANNEL, a.hash), row)).toBe(true);
    // Another channel's derived token never opens this one.
    expect(tokenMatches(CHANNEL, callbackToken('0c000000-0000-4000-8000-000000000002', b.hash), row)).toBe(false);
    expect(tokenMatches(CHANNEL, b.hash, row)).toBe(false);
    expect(tokenMatches(CHANNEL, null, row)).toBe(false);
    expect(tokenMatches(CHANNEL, '', row)).toBe(false);
    const expired = { ...row, previousWebhookSecretExpiresAt: new Date(Date.now() - 1) };
    expect(tokenMatches(CHANNEL, a.secret, expired)).toBe(false);
    expect(tokenMatches(CHANNEL, b.secret, expired)).toBe(true);
    expect(tokenMatches(CHANNEL, b.secret, { webhookSecretHash: null, previousWebhookSecretHash: null, previousWebhookSecretExpiresAt: null })).toBe(false);
  });
});

describe('eventsOf', () => {
  const wa = { id: CHANNEL, kind: 'whatsapp' };
  const sms = { id: CHANNEL, kind: 'sms' };
  const voice = { id: CHANNEL, kind: 'voice' };

  it('splits a WhatsApp callback into its messages, with stable dedupe keys', () => {
    const body = {
      whatsapp: {
        messages: [
          { callback_type: 'icm', sid: 's1', from: '919876543210', content: { type: 'text', text: { body: 'hi' } } },
          { callback_type: 'dlr', sid: 's2', exo_status_code: 30002 },
        ],
      },
    };
    const events = eventsOf(wa, 'POST', null, body);
    expect(events.map((e) => [e.kind, e.dedupeKey])).toEqual([
      ['whatsapp.icm', `${CHANNEL}:wa:s1`],
      ['whatsapp.dlr', `${CHANNEL}:wa:dlr:s2:30002`],
    ]);
    const noSid = { whatsapp: { messages: [{ callback_type: 'icm', from: '919876543210', timestamp: '1', content: { type: 'text', text: { body: 'x' } } }] } };
    expect(eventsOf(wa, 'POST', null, noSid)[0]!.dedupeKey).toBe(eventsOf(wa, 'POST', null, structuredClone(noSid))[0]!.dedupeKey);
  });

  it('tells SMS in, SMS status, call status and Passthru apart', () => {
    expect(eventsOf(sms, 'GET', { SmsSid: 'a', From: '09876543210', Body: 'x' }, undefined)[0]!.kind).toBe('sms.incoming');
    expect(eventsOf(sms, 'POST', { SmsSid: 'a', Status: 'sent', DetailedStatus: 'DELIVERED_TO_HANDSET' }, undefined)[0]!.kind).toBe('sms.status');
    expect(eventsOf(voice, 'POST', { CallSid: 'c', Status: 'completed' }, undefined)[0]!.kind).toBe('call.status');
    expect(eventsOf(voice, 'POST', null, { CallSid: 'c', Status: 'completed', ConversationDuration: 10 })[0]!.kind).toBe('call.status');
    expect(eventsOf(voice, 'GET', { CallSid: 'c', CallFrom: '09876543210' }, undefined)[0]!.kind).toBe('call.passthru');
  });

  it('refuses what it cannot use with a reason', () => {
    const cases: [{ id: string; kind: string }, string, Record<string, string> | null, unknown][] = [
      [wa, 'POST', null, {}],
      [wa, 'POST', null, null],
      [wa, 'POST', null, { whatsapp: { messages: [] } }],
      [wa, 'POST', null, { whatsapp: { messages: [{ callback_type: 'icm', from: '919876543210' }] } }],
      [wa, 'POST', null, { whatsapp: { messages: [{ callback_type: 'icm', from: 'x', content: { type: 'text', text: { body: 'a' } } }] } }],
      [wa, 'POST', null, { whatsapp: { messages: [{ callback_type: 'dlr' }] } }],
      [wa, 'POST', null, { whatsapp: { messages: [{ callback_type: 'icm', from: '919876543210', content: { type: 'image', image: {} } }] } }],
      [
        wa,
        'POST',
        null,
        { whatsapp: { messages: [{ callback_type: 'icm', from: '919876543210', content: { type: 'location', location: { latitude: 'x' } } }] } },
      ],
      [sms, 'POST', null, { whatsapp: { messages: [] } }],
      [sms, 'GET', { CallSid: 'c' }, undefined],
      [voice, 'GET', { SmsSid: 's', From: '09876543210', Body: 'x' }, undefined],
      [voice, 'GET', { CallSid: 'c', CallFrom: 'nobody' }, undefined],
      [sms, 'GET', {}, undefined],
    ];
    for (const [channel, method, fields, body] of cases) {
      expect(() => eventsOf(channel, method, fields, body), JSON.stringify(body ?? fields)).toThrow(Unusable);
    }
  });
});
