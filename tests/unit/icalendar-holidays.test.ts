// Holidays from iCalendar files as calendar programs export them (lib/sla/calendars.ts).
import { describe, expect, it } from 'vitest';
import { holidaysFromICalendar } from '../../lib/sla/calendars.js';

const NOW = new Date('2026-12-06T00:00:00Z');

describe('holidaysFromICalendar', () => {
  it('takes Outlook’s all-day events, written as local midnight to midnight with its all-day flag', () => {
    const ics = [
      'BEGIN:VCALENDAR',
      'PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN',
      'VERSION:2.0',
      'METHOD:PUBLISH',
      'BEGIN:VTIMEZONE',
      'TZID:India Standard Time',
      'BEGIN:STANDARD',
      'DTSTART:16010101T000000',
      'TZOFFSETFROM:+0530',
      'TZOFFSETTO:+0530',
      'END:STANDARD',
      'END:VTIMEZONE',
      'BEGIN:VEVENT',
      'DTSTART;TZID="India Standard Time":20270301T000000',
      'DTEND;TZID="India Standard Time":20270303T000000',
      'SUMMARY:Holi',
      'X-MICROSOFT-CDO-ALLDAYEVENT:TRUE',
      'UID:holi@outlook.test',
      'END:VEVENT',
      // A zone the file does not define: the local date still holds.
      'BEGIN:VEVENT',
      'DTSTART;TZID=Customized Time Zone:20270815T000000',
      'DTEND;TZID=Customized Time Zone:20270816T000000',
      'RRULE:FREQ=YEARLY',
      'SUMMARY:Independence Day',
      'X-MICROSOFT-CDO-ALLDAYEVENT:TRUE',
      'UID:independence@outlook.test',
      'END:VEVENT',
      // Midnight in UTC is not a local day; a timed event at local midnight without the flag is a meeting.
      'BEGIN:VEVENT',
      'DTSTART:20270401T000000Z',
      'DTEND:20270402T000000Z',
      'SUMMARY:UTC day',
      'X-MICROSOFT-CDO-ALLDAYEVENT:TRUE',
      'UID:utc@outlook.test',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'DTSTART;TZID="India Standard Time":20270402T000000',
      'DTEND;TZID="India Standard Time":20270403T000000',
      'SUMMARY:Night shift handover',
      'UID:night@outlook.test',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    expect(holidaysFromICalendar(ics, NOW)).toEqual({
      holidays: [
        { date: '2027-03-01', name: 'Holi' },
        { date: '2027-03-02', name: 'Holi' },
        { date: '2027-08-15', name: 'Independence Day' },
        { date: '2028-08-15', name: 'Independence Day' },
        { date: '2029-08-15', name: 'Independence Day' },
      ],
      skipped: 2,
    });
  });

  it('names the body when the file is not a calendar', () => {
    expect(() => holidaysFromICalendar('BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n', NOW)).toThrow(/VCARD, not a VCALENDAR/);
  });
});
