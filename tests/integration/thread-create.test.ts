// Opening a thread: about something (a subject) or someone (a contact), whose customer and address
// the thread takes; only members who work threads can be assigned one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';

let db: TestDatabase;
let org: TestOrg;
beforeAll(async () => {
  db = await testDatabase();
  org = await newOrganization(db.sql);
});
afterAll(() => db.close());

const paths = (body: any) => body.error.details.issues.map((i: any) => i.path);

describe('opening a thread', () => {
  it('refuses an empty thread: a subject or a contact is required', async () => {
    const empty = await org.json('POST', '/api/threads', { body: {} });
    expect(empty.status).toBe(422);
    expect(paths(empty.body)).toEqual(['body.subject']);
    expect((await org.json('POST', '/api/threads', { body: { subject: '   ' } })).status).toBe(422);
  });

  it("takes the contact's customer and the address the channel reaches them at", async () => {
    const customer = (await org.json('POST', '/api/customers', { body: { name: 'Sunrise Pharma' } })).body;
    const contact = (
      await org.json('POST', '/api/contacts', { body: { name: 'Meera', email: 'meera@sunrise.example', whatsapp: '+91 98200 11223', customerId: customer.id } })
    ).body;
    const email = await org.json('POST', '/api/threads', { body: { contactId: contact.id } });
    expect(email.status).toBe(201);
    expect(email.body).toMatchObject({ customerId: customer.id, contactId: contact.id, counterpart: 'meera@sunrise.example', channel: 'email' });
    const whatsapp = await org.json('POST', '/api/threads', { body: { contactId: contact.id, channel: 'whatsapp', subject: 'Cold chain' } });
    expect(whatsapp.body).toMatchObject({ customerId: customer.id, counterpart: '+919820011223' });
    const other = (await org.json('POST', '/api/customers', { body: { name: 'Other Co' } })).body;
    const mismatch = await org.json('POST', '/api/threads', { body: { contactId: contact.id, customerId: other.id } });
    expect(mismatch.status).toBe(422);
    expect(paths(mismatch.body)).toEqual(['body.contactId']);
    const stranger = await newOrganization(db.sql);
    const theirs = (await stranger.json('POST', '/api/contacts', { body: { name: 'Kurt', email: 'kurt@elsewhere.example' } })).body;
    const foreign = await org.json('POST', '/api/threads', { body: { contactId: theirs.id } });
    expect(paths(foreign.body)).toEqual(['body.contactId']);
  });

  it('assigns only members who work threads: a viewer is refused (422), on create and on assign', async () => {
    const viewer = org.users.viewer.id;
    const created = await org.json('POST', '/api/threads', { body: { subject: 'Booking amendment', assigneeId: viewer } });
    expect(created.status).toBe(422);
    expect(paths(created.body)).toEqual(['body.assigneeId']);
    const thread = (await org.json('POST', '/api/threads', { body: { subject: 'Booking amendment' } })).body;
    const assigned = await org.json('POST', `/api/threads/${thread.id}/assign`, { body: { assigneeId: viewer } });
    expect(assigned.status).toBe(422);
    expect(paths(assigned.body)).toEqual(['body.assigneeId']);
    expect((await org.json('POST', `/api/threads/${thread.id}/assign`, { body: { assigneeId: org.users.manager.id } })).status).toBe(200);
  });
});
