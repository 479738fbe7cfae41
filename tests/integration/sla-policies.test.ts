// SLA policies and business-hours calendars through the API: the defaults every organization starts
// with, validation that names the field, holidays imported from a real-world iCalendar file, and the
// rules that keep a default in place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const issue = (body: any) => body.error.details.issues[0];

/** Public holidays as a calendar app exports them: yearly rules, an exception, a two-day festival and a timed event. */
const ICS = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Google Inc//Google Calendar 70.9054//EN',
  'CALSCALE:GREGORIAN',
  'X-WR-CALNAME:Holidays in India',
  'BEGIN:VEVENT',
  'DTSTART;VALUE=DATE:20240126',
  'DTEND;VALUE=DATE:20240127',
  'RRULE:FREQ=YEARLY',
  'EXDATE;VALUE=DATE:20280126',
  'UID:republic-day@banxway.test',
  'SUMMARY:Republic Day',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'DTSTART;VALUE=DATE:20270115',
  'DTEND;VALUE=DATE:20270117',
  'UID:pongal-2027@banxway.test',
  'SUMMARY:Pongal',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'DTSTART:20270115T100000Z',
  'DTEND:20270115T110000Z',
  'UID:meeting@banxway.test',
  'SUMMARY:Quarterly review',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

describe('every organization', () => {
  it('starts with a default calendar in its own time zone and a default policy', async () => {
    const org = await newOrganization(db.sql, { timezone: 'Europe/Berlin' });
    const calendars = await org.json('GET', '/api/business-calendars', { as: 'viewer' });
    expect(calendars.status).toBe(200);
    expect(calendars.body.data).toEqual([expect.objectContaining({ isDefault: true, timezone: 'Europe/Berlin', holidays: [] })]);
    expect(calendars.body.data[0].hours).toContainEqual({ day: 6, start: '10:00', end: '14:00' });
    const policies = await org.json('GET', '/api/sla-policies', { as: 'viewer' });
    expect(policies.body.data).toEqual([expect.objectContaining({ isDefault: true, enabled: true, conditions: {}, warningPercent: 75 })]);
    expect(policies.body.data[0].targets.urgent.firstResponse).toEqual({ minutes: 30, business: true });
  });
});

describe('business calendars', () => {
  let org: TestOrg;
  beforeAll(async () => {
    org = await newOrganization(db.sql);
  });

  it('are made with split shifts and named holidays, and announced', async () => {
    const since = await broadcastsSince(db.sql);
    const made = await org.json('POST', '/api/business-calendars', {
      as: 'manager',
      body: {
        name: 'Chennai CFS desk',
        timezone: 'Asia/Kolkata',
        hours: [
          { day: 1, start: '09:00', end: '13:00' },
          { day: 1, start: '14:00', end: '18:00' },
          { day: 6, start: '09:00', end: '13:00' },
        ],
        holidays: [{ date: '2027-01-14', name: 'Bhogi' }],
      },
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ name: 'Chennai CFS desk', isDefault: false, holidays: [{ date: '2027-01-14', name: 'Bhogi', source: 'manual' }] });
    expect((await since()).map((b) => b.event)).toContain('business_calendar.created');

    const made2 = await org.json('PATCH', `/api/business-calendars/${made.body.id}`, { as: 'manager', body: { isDefault: true } });
    expect(made2.body.isDefault).toBe(true);
    const all = (await org.json('GET', '/api/business-calendars')).body.data;
    expect(all.filter((c: any) => c.isDefault).map((c: any) => c.id)).toEqual([made.body.id]);
    expect((await org.json('DELETE', `/api/business-calendars/${made.body.id}`, { as: 'manager' })).status).toBe(409);
    const other = all.find((c: any) => c.id !== made.body.id);
    expect((await org.json('PATCH', `/api/business-calendars/${other.id}`, { as: 'manager', body: { isDefault: true } })).status).toBe(200);
  });

  it('refuse bad input with a 422 naming the field, and agents with 403', async () => {
    const base = { name: 'Bad', timezone: 'Asia/Kolkata', hours: [{ day: 1, start: '09:00', end: '18:00' }] };
    for (const [body, path] of [
      [{ ...base, timezone: 'India/Mumbai' }, 'body.timezone'],
      [{ ...base, hours: [{ day: 8, start: '09:00', end: '18:00' }] }, 'body.hours.0.day'],
      [{ ...base, hours: [{ day: 1, start: '18:00', end: '09:00' }] }, 'body.hours.0.end'],
      [{ ...base, hours: [{ day: 1, start: '9:00', end: '18:00' }] }, 'body.hours.0.start'],
      [{ ...base, holidays: [{ date: '26-01-2027' }] }, 'body.holidays.0.date'],
      [
        {
          ...base,
          holidays: [
            { date: '2027-01-26', name: 'a' },
            { date: '2027-01-26', name: 'b' },
          ],
        },
        'body.holidays.1.date',
      ],
    ] as const) {
      const res = await org.json('POST', '/api/business-calendars', { as: 'manager', body });
      expect(res.status, path).toBe(422);
      expect(issue(res.body).path).toBe(path);
    }
    expect((await org.json('POST', '/api/business-calendars', { as: 'agent', body: base })).status).toBe(403);
  });

  it('import holidays from an iCalendar file: all-day events, yearly rules for three years, multi-day events', async () => {
    const cal = await org.json('POST', '/api/business-calendars', {
      as: 'manager',
      body: { name: `Imported ${Date.now()}`, timezone: 'Asia/Kolkata', hours: [{ day: 1, start: '09:00', end: '18:00' }] },
    });
    const res = await org.json('POST', `/api/business-calendars/${cal.body.id}/holidays`, {
      as: 'manager',
      rawBody: ICS,
      headers: { 'content-type': 'text/calendar; charset=utf-8' },
    });
    expect(res.status).toBe(200);
    expect(res.body.skipped).toBe(1);
    const dates = res.body.calendar.holidays.map((h: any) => `${h.date} ${h.name}`);
    const year = new Date().getUTCFullYear();
    // Republic Day from a year ago to three years ahead, except the excluded 2028; nothing older.
    for (let y = year; y <= year + 3; y++) {
      if (y !== 2028 && Date.parse(`${y}-01-26`) > Date.now() - 365 * 86_400_000) expect(dates).toContain(`${y}-01-26 Republic Day`);
    }
    expect(dates.filter((d: string) => Date.parse(d.slice(0, 10)) < Date.now() - 366 * 86_400_000)).toEqual([]);
    expect(dates).not.toContain('2028-01-26 Republic Day');
    expect(dates).toEqual(expect.arrayContaining(['2027-01-15 Pongal', '2027-01-16 Pongal']));
    expect(dates).not.toContain('2027-01-17 Pongal');
    expect(res.body.calendar.holidays.every((h: any) => h.source === 'ical')).toBe(true);

    const notIcs = await org.json('POST', `/api/business-calendars/${cal.body.id}/holidays`, {
      as: 'manager',
      rawBody: 'BEGIN:VCALENDAR\r\nthis is not',
      headers: { 'content-type': 'text/calendar' },
    });
    expect(notIcs.status).toBe(422);
    expect(issue(notIcs.body).path).toBe('body');
    const json = await org.json('POST', `/api/business-calendars/${cal.body.id}/holidays`, { as: 'manager', body: { holidays: [] } });
    expect(json.status).toBe(415);
    const big = await org.json('POST', `/api/business-calendars/${cal.body.id}/holidays`, {
      as: 'manager',
      rawBody: ICS.replace('END:VCALENDAR', `X-PAD:${'x'.repeat(300 * 1024)}\r\nEND:VCALENDAR`),
      headers: { 'content-type': 'text/calendar' },
    });
    expect(big.status).toBe(413);
  });
});

describe('SLA policies', () => {
  let org: TestOrg;
  let customerId: string;
  beforeAll(async () => {
    org = await newOrganization(db.sql);
    customerId = (await org.json('POST', '/api/customers', { as: 'manager', body: { name: 'Tata Textiles Exports', tier: 'strategic' } })).body.id;
  });
  const targets = { urgent: { firstResponse: { minutes: 15 } }, normal: { firstResponse: { minutes: 60, business: false }, resolution: { minutes: 1440 } } };

  it('are made with targets by priority and conditions, business minutes by default', async () => {
    const res = await org.json('POST', '/api/sla-policies', {
      as: 'manager',
      body: { name: 'Strategic WhatsApp', targets, conditions: { customerTiers: ['strategic'], channels: ['whatsapp'] }, position: 5 },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      isDefault: false,
      enabled: true,
      position: 5,
      calendarId: null,
      targets: { urgent: { firstResponse: { minutes: 15, business: true } }, normal: { firstResponse: { minutes: 60, business: false } } },
    });
    const changed = await org.json('PATCH', `/api/sla-policies/${res.body.id}`, { as: 'manager', body: { warningPercent: 80, enabled: false } });
    expect(changed.body).toMatchObject({ warningPercent: 80, enabled: false });
    expect((await org.json('GET', `/api/sla-policies/${res.body.id}`, { as: 'viewer' })).body.warningPercent).toBe(80);
    expect((await org.json('DELETE', `/api/sla-policies/${res.body.id}`, { as: 'manager' })).status).toBe(204);
    expect((await org.json('GET', `/api/sla-policies/${res.body.id}`)).status).toBe(404);
  });

  it('refuse a policy without conditions, with unknown customers or calendars, or without targets', async () => {
    for (const [body, path] of [
      [{ name: 'Everyone', targets, conditions: {} }, 'body.conditions'],
      [{ name: 'Ghost', targets, conditions: { customerIds: ['0e000000-0000-4000-8000-00000000ffff'] } }, 'body.conditions.customerIds.0'],
      [{ name: 'Nothing', targets: {}, conditions: { channels: ['sms'] } }, 'body.targets'],
      [{ name: 'Zero', targets: { low: { resolution: { minutes: 0 } } }, conditions: { channels: ['sms'] } }, 'body.targets.low.resolution.minutes'],
      [{ name: 'Cal', targets, conditions: { channels: ['sms'] }, calendarId: '0e000000-0000-4000-8000-00000000ffff' }, 'body.calendarId'],
      [{ name: 'Tier', targets, conditions: { customerTiers: ['gold'] } }, 'body.conditions.customerTiers.0'],
    ] as const) {
      const res = await org.json('POST', '/api/sla-policies', { as: 'manager', body });
      expect(res.status, path).toBe(422);
      expect(issue(res.body).path).toBe(path);
    }
    expect((await org.json('POST', '/api/sla-policies', { as: 'agent', body: { name: 'x', targets, conditions: { channels: ['sms'] } } })).status).toBe(403);
  });

  it('keep the default: it takes no conditions, stays on and cannot be deleted; a calendar in use stays too', async () => {
    const def = (await org.json('GET', '/api/sla-policies')).body.data.find((p: any) => p.isDefault);
    expect((await org.json('DELETE', `/api/sla-policies/${def.id}`, { as: 'manager' })).status).toBe(409);
    const disabled = await org.json('PATCH', `/api/sla-policies/${def.id}`, { as: 'manager', body: { enabled: false } });
    expect(issue(disabled.body).path).toBe('body.enabled');
    const conditioned = await org.json('PATCH', `/api/sla-policies/${def.id}`, { as: 'manager', body: { conditions: { customerIds: [customerId] } } });
    expect(issue(conditioned.body).path).toBe('body.conditions');
    expect((await org.json('PATCH', `/api/sla-policies/${def.id}`, { as: 'manager', body: { targets } })).body.targets.urgent.firstResponse.minutes).toBe(15);

    const cal = await org.json('POST', '/api/business-calendars', {
      as: 'manager',
      body: { name: 'Night desk', timezone: 'Asia/Kolkata', hours: [{ day: 1, start: '20:00', end: '24:00' }] },
    });
    const p = await org.json('POST', '/api/sla-policies', {
      as: 'manager',
      body: { name: 'Tata', targets, conditions: { customerIds: [customerId] }, calendarId: cal.body.id },
    });
    expect(p.status).toBe(201);
    const refused = await org.json('DELETE', `/api/business-calendars/${cal.body.id}`, { as: 'manager' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('Tata');
  });
});
