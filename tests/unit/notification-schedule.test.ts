// When notification mail may go: quiet hours in the member's time zone (across midnight and a
// daylight-saving change), the hourly and the daily digest.
import { describe, expect, it } from 'vitest';
import { quietUntil, sendTime, type DeliverySettings } from '../../lib/notifications/schedule.js';

const at = (iso: string) => new Date(iso);
const base: DeliverySettings = { quietStart: null, quietEnd: null, timeZone: 'Asia/Kolkata', digest: 'immediate' };
const night: DeliverySettings = { ...base, quietStart: '22:00', quietEnd: '07:00' };

describe('notification schedule', () => {
  it('holds mail through quiet hours that span midnight, in the member’s zone, and lets it go outside them', () => {
    // 23:30 in Kolkata (18:00 UTC) is quiet until 07:00 there (01:30 UTC).
    expect(quietUntil(at('2027-01-04T18:00:00Z'), night)).toEqual(at('2027-01-05T01:30:00Z'));
    // 06:59 is still quiet; 07:00 is not; noon is not.
    expect(quietUntil(at('2027-01-05T01:29:00Z'), night)).toEqual(at('2027-01-05T01:30:00Z'));
    expect(quietUntil(at('2027-01-05T01:30:00Z'), night)).toBeNull();
    expect(quietUntil(at('2027-01-05T06:30:00Z'), night)).toBeNull();
    expect(sendTime(at('2027-01-05T06:30:00Z'), night, null)).toEqual(at('2027-01-05T06:30:00Z'));
  });

  it('ends quiet hours at the local time on a daylight-saving night', () => {
    const london: DeliverySettings = { ...base, timeZone: 'Europe/London', quietStart: '23:00', quietEnd: '07:00' };
    // 28 March 2027: clocks go forward at 01:00; 07:00 BST is 06:00 UTC.
    expect(quietUntil(at('2027-03-28T00:30:00Z'), london)).toEqual(at('2027-03-28T06:00:00Z'));
  });

  it('hourly: at most one mail an hour; daily: at 09:00 local, once a day', () => {
    const hourly = { ...base, digest: 'hourly' as const };
    expect(sendTime(at('2027-01-05T06:10:00Z'), hourly, at('2027-01-05T05:50:00Z'))).toEqual(at('2027-01-05T06:50:00Z'));
    expect(sendTime(at('2027-01-05T07:10:00Z'), hourly, at('2027-01-05T05:50:00Z'))).toEqual(at('2027-01-05T07:10:00Z'));
    const daily = { ...base, digest: 'daily' as const };
    // 09:00 in Kolkata is 03:30 UTC.
    expect(sendTime(at('2027-01-05T02:00:00Z'), daily, null)).toEqual(at('2027-01-05T03:30:00Z'));
    expect(sendTime(at('2027-01-05T05:00:00Z'), daily, at('2027-01-05T03:30:00Z'))).toEqual(at('2027-01-06T03:30:00Z'));
  });
});
