// A phone number typed without its country code is read in the organization's country (a setting,
// else its time zone's country), and the answer says which region was assumed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization } from '../helpers/org.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const paths = (body: any) => body.error.details.issues.map((i: any) => i.path);

describe('phone numbers without a country code', () => {
  it("are read in the time zone's country, and the answer says so", async () => {
    const mumbai = await newOrganization(db.sql);
    expect((await mumbai.json('GET', '/api/org')).body).toMatchObject({ country: 'IN', countrySource: 'timezone' });
    const c = await mumbai.json('POST', '/api/contacts', { body: { name: 'Ramesh', phone: '98200 98200', whatsapp: '+44 20 7946 0958' } });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({
      phone: '+919820098200',
      whatsapp: '+442079460958',
      phoneRegionAssumed: { region: 'IN', source: 'timezone', fields: ['phone'] },
    });
    const found = await mumbai.json('GET', '/api/contacts?phone=098200%2098200');
    expect(found.body.data.map((x: any) => x.id)).toEqual([c.body.id]);

    const berlin = await newOrganization(db.sql, { timezone: 'Europe/Berlin' });
    const d = await berlin.json('POST', '/api/contacts', { body: { name: 'Jonas', phone: '030 1234567' } });
    expect(d.body).toMatchObject({ phone: '+49301234567', phoneRegionAssumed: { region: 'DE', source: 'timezone', fields: ['phone'] } });
    const international = await berlin.json('POST', '/api/contacts', { body: { name: 'Priya', phone: '+91 98200 98201' } });
    expect(international.body.phone).toBe('+919820098201');
    expect(international.body).not.toHaveProperty('phoneRegionAssumed');
  });

  it('are read in the country the organization set, and refused when not valid there', async () => {
    const org = await newOrganization(db.sql);
    const set = await org.json('PATCH', '/api/org', { as: 'admin', body: { country: 'gb' } });
    expect(set.body).toMatchObject({ country: 'GB', countrySource: 'setting' });
    const c = await org.json('POST', '/api/contacts', { body: { name: 'Oliver', phone: '020 7946 0958' } });
    expect(c.body).toMatchObject({ phone: '+442079460958', phoneRegionAssumed: { region: 'GB', source: 'setting' } });
    const bad = await org.json('POST', '/api/contacts', { body: { name: 'Nobody', phone: '12345' } });
    expect(bad.status).toBe(422);
    expect(paths(bad.body)).toEqual(['body.phone']);
    expect(bad.body.error.message).toMatch(/not a valid phone number in GB/);
    expect(paths((await org.json('PATCH', '/api/org', { as: 'admin', body: { country: 'XX' } })).body)).toEqual(['body.country']);
    const member = await org.json('PATCH', `/api/members/${await org.memberId('agent')}`, { as: 'admin', body: { phone: '020 7946 0959' } });
    expect(member.body).toMatchObject({ phone: '+442079460959', phoneRegionAssumed: { region: 'GB' } });
  });

  it('need their country code in an organization whose time zone has no country and that set none', async () => {
    const org = await newOrganization(db.sql, { timezone: 'UTC' });
    expect((await org.json('GET', '/api/org')).body).toMatchObject({ country: null, countrySource: 'none' });
    const res = await org.json('POST', '/api/contacts', { body: { name: 'Someone', phone: '98200 98200' } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/needs its country code/);
    expect((await org.json('POST', '/api/contacts', { body: { name: 'Someone', phone: '+91 98200 98200' } })).status).toBe(201);
  });
});
