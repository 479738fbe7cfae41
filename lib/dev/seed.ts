// Demo data for a newcomer's first curl: a Mumbai forwarder with a user of each role, customers of
// every kind, contacts, shipments, threads and messages; a second organization for tenancy checks.
// Seeded users have fixed ids so `npm run token` needs no database.
import type { Sql } from '../db/client.js';
import { applyServiceLevels } from '../sla/clock.js';

export const SEED_ORG_ID = '0a000000-0000-4000-8000-000000000001';
export const SECOND_ORG_ID = '0a000000-0000-4000-8000-000000000002';

export const SEED_USERS = {
  owner: { id: '0b000000-0000-4000-8000-000000000001', email: 'priya@seahawk-logistics.in', name: 'Priya Nair' },
  admin: { id: '0b000000-0000-4000-8000-000000000002', email: 'rahul@seahawk-logistics.in', name: 'Rahul Mehta' },
  manager: { id: '0b000000-0000-4000-8000-000000000003', email: 'anita@seahawk-logistics.in', name: 'Anita Desai' },
  agent: { id: '0b000000-0000-4000-8000-000000000004', email: 'vikram@seahawk-logistics.in', name: 'Vikram Singh' },
  viewer: { id: '0b000000-0000-4000-8000-000000000005', email: 'neha@seahawk-logistics.in', name: 'Neha Kapoor' },
  /** A member of both organizations (agent in each): requests must name one with X-Org-Id. */
  multi: { id: '0b000000-0000-4000-8000-000000000006', email: 'arjun@consultant.example', name: 'Arjun Rao' },
  /** Owner of the second organization only. */
  other: { id: '0b000000-0000-4000-8000-000000000007', email: 'lena@northstar-freight.de', name: 'Lena Vogel' },
} as const;

export type SeedUserKey = keyof typeof SEED_USERS;

const id = (prefix: string, n: number) => `${prefix}000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
/** The demo forwarder's operations mailbox (sends through the local .eml sink in development). */
export const SEED_MAILBOX_ID = '09000000-0000-4000-8000-000000000001';
/** Thread ids differ in their first 12 hex digits too: the subject tag [#BX-...] is made of them. */
export const seedThreadId = (n: number) => `10${n.toString(16).padStart(6, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;

const customers = [
  { n: 1, name: 'Tata Textiles Exports Pvt Ltd', kind: 'shipper', tier: 'strategic', domains: ['tatatextiles.example'], city: 'Tiruppur', country: 'IN' },
  { n: 2, name: 'Hamburg Home GmbH', kind: 'consignee', tier: 'key', domains: ['hamburghome.example'], city: 'Hamburg', country: 'DE' },
  { n: 3, name: 'Rotterdam Forwarding BV', kind: 'overseas_agent', tier: 'key', domains: ['rtmforwarding.example'], city: 'Rotterdam', country: 'NL' },
  { n: 4, name: 'Maersk Line India', kind: 'carrier', tier: 'standard', domains: ['maersk.example'], city: 'Mumbai', country: 'IN' },
  { n: 5, name: 'Jai Hind Customs Brokers', kind: 'customs_broker', tier: 'standard', domains: ['jaihindcha.example'], city: 'Navi Mumbai', country: 'IN' },
  { n: 6, name: 'Sharma Roadlines', kind: 'transporter', tier: 'occasional', domains: [], city: 'Bhiwandi', country: 'IN' },
  { n: 7, name: 'Sunrise Pharma Ltd', kind: 'shipper', tier: 'key', domains: ['sunrisepharma.example'], city: 'Ahmedabad', country: 'IN' },
] as const;

const contacts = [
  {
    n: 1,
    customer: 1,
    name: 'Karthik Subramanian',
    email: 'karthik@tatatextiles.example',
    phone: '+919840012345',
    whatsapp: '+919840012345',
    designation: 'Logistics Manager',
  },
  { n: 2, customer: 1, name: 'Meena Iyer', email: 'meena@tatatextiles.example', phone: '+919840054321', whatsapp: null, designation: 'Export Executive' },
  { n: 3, customer: 2, name: 'Jonas Becker', email: 'j.becker@hamburghome.example', phone: '+4940123456', whatsapp: null, designation: 'Import Coordinator' },
  { n: 4, customer: 3, name: 'Sanne de Vries', email: 'ops@rtmforwarding.example', phone: '+31101234567', whatsapp: '+31612345678', designation: 'Operations' },
  {
    n: 5,
    customer: 4,
    name: 'Maersk Mumbai Export Desk',
    email: 'in.export@maersk.example',
    phone: '+912261234567',
    whatsapp: null,
    designation: 'Customer Service',
  },
  {
    n: 6,
    customer: 5,
    name: 'Ramesh Patil',
    email: 'ramesh@jaihindcha.example',
    phone: '+919820098200',
    whatsapp: '+919820098200',
    designation: 'CHA Partner',
  },
  { n: 7, customer: 6, name: 'Sunil Sharma', email: null, phone: '+919930011223', whatsapp: '+919930011223', designation: 'Fleet Owner' },
  { n: 8, customer: 7, name: 'Dr. Kavita Shah', email: 'kavita.shah@sunrisepharma.example', phone: '+917926543210', whatsapp: null, designation: 'SCM Head' },
] as const;

const shipments = [
  {
    n: 1,
    reference: 'SHL/EXP/2026/0412',
    customer: 1,
    mode: 'sea_fcl',
    direction: 'export',
    status: 'in_transit',
    incoterm: 'FOB',
    origin: 'INNSA',
    destination: 'DEHAM',
    carrier: 'Maersk',
    vessel: 'MAERSK KENSINGTON',
    voyage: '447W',
    containers: ['MSKU1234565', 'TGHU8765436'],
    awbs: [],
    bls: ['MAEU123456789'],
    bookings: ['BKG 2611458'],
    etdDays: -6,
    etaDays: 18,
  },
  {
    n: 2,
    reference: 'SHL/EXP/2026/0419',
    customer: 7,
    mode: 'air',
    direction: 'export',
    status: 'booked',
    incoterm: 'CIP',
    origin: 'INAMD',
    destination: 'NLAMS',
    carrier: 'Emirates SkyCargo',
    vessel: null,
    voyage: null,
    containers: [],
    awbs: ['176-12345675'],
    bls: [],
    bookings: [],
    etdDays: 2,
    etaDays: 3,
  },
  {
    n: 3,
    reference: 'SHL/IMP/2026/0077',
    customer: 2,
    mode: 'sea_fcl',
    direction: 'import',
    status: 'customs',
    incoterm: 'CIF',
    origin: 'NLRTM',
    destination: 'INNSA',
    carrier: 'Hapag-Lloyd',
    vessel: 'BERLIN EXPRESS',
    voyage: '032E',
    containers: ['HLXU3002457'],
    awbs: [],
    bls: ['HLCURTM2604511'],
    bookings: [],
    etdDays: -25,
    etaDays: -1,
  },
] as const;

type SeedMessage = { dir: 'inbound' | 'outbound'; from: string; minutesAgo: number; body: string };
type SeedThread = {
  n: number;
  subject: string;
  channel: 'email' | 'whatsapp' | 'sms' | 'voice';
  customer: number;
  contact: number;
  status: 'open' | 'pending' | 'snoozed' | 'resolved' | 'closed';
  priority: 'low' | 'normal' | 'high' | 'urgent';
  assignee: SeedUserKey | null;
  tags: string[];
  shipment?: number;
  messages: SeedMessage[];
};

const threads: SeedThread[] = [
  {
    n: 1,
    subject: 'Booking confirmation for 2x40HC Nhava Sheva to Hamburg',
    channel: 'email',
    customer: 1,
    contact: 1,
    status: 'open',
    priority: 'high',
    assignee: 'agent',
    tags: ['booking'],
    shipment: 1,
    messages: [
      {
        dir: 'inbound',
        from: 'karthik@tatatextiles.example',
        minutesAgo: 300,
        body: 'Dear Team,\n\nPlease confirm the booking for 2x40HC ex Nhava Sheva to Hamburg, cargo ready 14th. Kindly share the SI cut-off.\n\nRegards,\nKarthik',
      },
      {
        dir: 'outbound',
        from: 'ops@seahawk-logistics.in',
        minutesAgo: 240,
        body: 'Dear Karthik,\n\nBooking BKG 2611458 is confirmed on MAERSK KENSINGTON 447W. SI cut-off is Thursday 18:00.\n\nBest regards,\nVikram',
      },
      {
        dir: 'inbound',
        from: 'karthik@tatatextiles.example',
        minutesAgo: 35,
        body: 'Thanks Vikram. Containers MSKU1234565 and TGHU8765436 are stuffed. Please share the draft B/L at the earliest.',
      },
    ],
  },
  {
    n: 2,
    subject: 'Air freight quote: 850 kg pharma AMD to AMS',
    channel: 'email',
    customer: 7,
    contact: 8,
    status: 'pending',
    priority: 'normal',
    assignee: 'manager',
    tags: ['quote', 'pharma'],
    shipment: 2,
    messages: [
      {
        dir: 'inbound',
        from: 'kavita.shah@sunrisepharma.example',
        minutesAgo: 1440,
        body: 'Hello,\n\nRequest your best rates for 850 kg (6 pallets, 2-8°C) Ahmedabad to Amsterdam, CIP. Need temperature-controlled handling.\n\nDr. Kavita Shah',
      },
      {
        dir: 'outbound',
        from: 'ops@seahawk-logistics.in',
        minutesAgo: 1300,
        body: 'Dear Dr. Shah,\n\nPlease find our quote attached: USD 3.85/kg all-in via DXB, AWB 176-12345675 reserved. Validity 7 days.\n\nRegards,\nAnita',
      },
    ],
  },
  {
    n: 3,
    subject: 'Bill of entry query - HLXU3002457',
    channel: 'email',
    customer: 5,
    contact: 6,
    status: 'open',
    priority: 'urgent',
    assignee: 'agent',
    tags: ['customs'],
    shipment: 3,
    messages: [
      {
        dir: 'inbound',
        from: 'ramesh@jaihindcha.example',
        minutesAgo: 90,
        body: 'Sir, customs has raised a query on the BE for container HLXU3002457: HS code 9403 vs 9401 for the furniture. Need the technical write-up from consignee today, else demurrage starts tomorrow.',
      },
    ],
  },
  {
    n: 4,
    subject: 'Truck placement at Bhiwandi tomorrow 7 AM',
    channel: 'whatsapp',
    customer: 6,
    contact: 7,
    status: 'open',
    priority: 'normal',
    assignee: null,
    tags: ['transport'],
    messages: [
      {
        dir: 'outbound',
        from: '+912240001111',
        minutesAgo: 600,
        body: 'Sunil ji, need one 32 ft MXL at Tata Textiles Bhiwandi warehouse tomorrow 7 AM for export stuffing.',
      },
      { dir: 'inbound', from: '+919930011223', minutesAgo: 580, body: 'Ok sir, vehicle MH04 KL 5521 will report 7 AM. Driver Ramu 9930011224.' },
    ],
  },
  {
    n: 5,
    subject: 'Pre-alert: BERLIN EXPRESS 032E arriving JNPT',
    channel: 'email',
    customer: 3,
    contact: 4,
    status: 'resolved',
    priority: 'low',
    assignee: 'agent',
    tags: ['pre-alert'],
    shipment: 3,
    messages: [
      {
        dir: 'inbound',
        from: 'ops@rtmforwarding.example',
        minutesAgo: 4000,
        body: 'Dear partner,\n\nPre-alert for HBL RTM/26/0921, MBL HLCURTM2604511, 1x20GP HLXU3002457. ETA Nhava Sheva Friday.\n\nKind regards,\nSanne',
      },
      { dir: 'outbound', from: 'ops@seahawk-logistics.in', minutesAgo: 3900, body: 'Thank you Sanne, noted. We will arrange clearance and delivery.' },
    ],
  },
  {
    n: 6,
    subject: 'Complaint: delayed delivery and damaged cartons',
    channel: 'email',
    customer: 2,
    contact: 3,
    status: 'open',
    priority: 'high',
    assignee: 'manager',
    tags: ['complaint'],
    messages: [
      {
        dir: 'inbound',
        from: 'j.becker@hamburghome.example',
        minutesAgo: 180,
        body: 'Hello,\n\nThis is the second delay this quarter and 14 cartons arrived damaged. We are very disappointed. Please explain and advise on the claim process.\n\nJonas Becker',
      },
    ],
  },
  {
    n: 7,
    subject: 'Vessel schedule change: MAERSK KENSINGTON delayed 48h',
    channel: 'email',
    customer: 4,
    contact: 5,
    status: 'open',
    priority: 'normal',
    assignee: null,
    tags: ['schedule'],
    shipment: 1,
    messages: [
      {
        dir: 'inbound',
        from: 'in.export@maersk.example',
        minutesAgo: 60,
        body: 'Dear Customer,\n\nPlease note MAERSK KENSINGTON 447W ETD Nhava Sheva is revised by 48 hours due to berth congestion. New ETD Saturday.\n\nMaersk Customer Service',
      },
    ],
  },
  {
    n: 8,
    subject: 'Invoice SHL/INV/2026/1187 payment reminder',
    channel: 'email',
    customer: 1,
    contact: 2,
    status: 'snoozed',
    priority: 'low',
    assignee: 'admin',
    tags: ['billing'],
    messages: [
      {
        dir: 'outbound',
        from: 'accounts@seahawk-logistics.in',
        minutesAgo: 2000,
        body: 'Dear Meena,\n\nGentle reminder: invoice SHL/INV/2026/1187 for INR 2,45,000 is overdue by 12 days. Kindly arrange payment.\n\nAccounts, Seahawk',
      },
      { dir: 'inbound', from: 'meena@tatatextiles.example', minutesAgo: 1900, body: 'Noted, payment will be released on Monday.' },
    ],
  },
  {
    n: 9,
    subject: 'Missed call from +91 98200 98200',
    channel: 'voice',
    customer: 5,
    contact: 6,
    status: 'open',
    priority: 'normal',
    assignee: null,
    tags: [],
    messages: [],
  },
  {
    n: 10,
    subject: 'Documents for shipment SHL/EXP/2026/0412',
    channel: 'email',
    customer: 1,
    contact: 1,
    status: 'closed',
    priority: 'normal',
    assignee: 'agent',
    tags: ['documents'],
    shipment: 1,
    messages: [
      {
        dir: 'inbound',
        from: 'karthik@tatatextiles.example',
        minutesAgo: 9000,
        body: 'Attached commercial invoice and packing list for the Hamburg shipment.',
      },
      { dir: 'outbound', from: 'ops@seahawk-logistics.in', minutesAgo: 8900, body: 'Received with thanks.' },
    ],
  },
];

/** Inserts the demo data unless it is already there; returns whether anything was written. */
export async function seed(sql: Sql): Promise<boolean> {
  const [existing] = await sql`select 1 from app.organizations where id = ${SEED_ORG_ID}`;
  if (existing) return false;
  await sql.begin(async (tx) => {
    for (const u of Object.values(SEED_USERS)) {
      await tx`
        insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, email_confirmed_at, created_at, updated_at)
        values ('00000000-0000-0000-0000-000000000000', ${u.id}, 'authenticated', 'authenticated', ${u.email},
                '{"provider":"email","providers":["email"]}', ${tx.json({ name: u.name })}, now(), now(), now())
        on conflict (id) do nothing`;
    }
    await tx`
      insert into app.organizations (id, name, slug, timezone, signature) values
        (${SEED_ORG_ID}, 'Seahawk Logistics Pvt Ltd', 'seahawk-logistics', 'Asia/Kolkata',
         ${'Regards,\nSeahawk Logistics Pvt Ltd\nUnit 402, Nerul Node, Navi Mumbai 400706\n+91 22 4000 1111'}),
        (${SECOND_ORG_ID}, 'Northstar Freight GmbH', 'northstar-freight', 'Europe/Berlin', null)`;
    await tx`
      insert into app.organization_domains (org_id, domain, verified) values
        (${SEED_ORG_ID}, 'seahawk-logistics.in', true), (${SECOND_ORG_ID}, 'northstar-freight.de', true)`;
    const roles = ['owner', 'admin', 'manager', 'agent', 'viewer'] as const;
    for (const role of roles) {
      const u = SEED_USERS[role];
      await tx`insert into app.members (org_id, user_id, role, display_name, email) values (${SEED_ORG_ID}, ${u.id}, ${role}, ${u.name}, ${u.email})`;
    }
    await tx`
      insert into app.members (org_id, user_id, role, display_name, email) values
        (${SEED_ORG_ID}, ${SEED_USERS.multi.id}, 'agent', ${SEED_USERS.multi.name}, ${SEED_USERS.multi.email}),
        (${SECOND_ORG_ID}, ${SEED_USERS.multi.id}, 'agent', ${SEED_USERS.multi.name}, ${SEED_USERS.multi.email}),
        (${SECOND_ORG_ID}, ${SEED_USERS.other.id}, 'owner', ${SEED_USERS.other.name}, ${SEED_USERS.other.email})`;
    const exportsTeam = id('0c', 1);
    await tx`insert into app.teams (id, org_id, name, description) values
      (${exportsTeam}, ${SEED_ORG_ID}, 'Sea Exports', 'FCL/LCL export desk'), (${id('0c', 2)}, ${SEED_ORG_ID}, 'Air & Customs', 'Air freight and CHA coordination')`;
    await tx`insert into app.team_members (org_id, team_id, user_id) values
      (${SEED_ORG_ID}, ${exportsTeam}, ${SEED_USERS.agent.id}), (${SEED_ORG_ID}, ${exportsTeam}, ${SEED_USERS.manager.id})`;

    for (const c of customers) {
      await tx`insert into app.customers (id, org_id, name, kind, tier, domains, city, country)
        values (${id('0d', c.n)}, ${SEED_ORG_ID}, ${c.name}, ${c.kind}, ${c.tier}, ${[...c.domains]}::text[], ${c.city}, ${c.country})`;
    }
    await tx`insert into app.customers (id, org_id, name, kind, tier, domains, city, country)
      values (${id('0d', 99)}, ${SECOND_ORG_ID}, 'Bavaria Machines AG', 'shipper', 'key', ${['bavariamachines.example']}::text[], 'Munich', 'DE')`;
    for (const k of contacts) {
      await tx`insert into app.contacts (id, org_id, customer_id, name, email, phone, whatsapp, designation, is_primary)
        values (${id('0e', k.n)}, ${SEED_ORG_ID}, ${id('0d', k.customer)}, ${k.name}, ${k.email}, ${k.phone}, ${k.whatsapp}, ${k.designation}, ${k.n % 2 === 1})`;
    }
    const day = 86_400_000;
    for (const s of shipments) {
      await tx`insert into app.shipments (id, org_id, reference, customer_id, mode, direction, status, incoterm, origin_port, destination_port,
          carrier, vessel, voyage, container_numbers, awb_numbers, bl_numbers, booking_numbers, etd, eta)
        values (${id('0f', s.n)}, ${SEED_ORG_ID}, ${s.reference}, ${id('0d', s.customer)}, ${s.mode}, ${s.direction}, ${s.status}, ${s.incoterm},
          ${s.origin}, ${s.destination}, ${s.carrier}, ${s.vessel}, ${s.voyage}, ${[...s.containers]}::text[], ${[...s.awbs]}::text[],
          ${[...s.bls]}::text[], ${[...s.bookings]}::text[], ${new Date(Date.now() + s.etdDays * day)}, ${new Date(Date.now() + s.etaDays * day)})`;
    }
    await tx`insert into app.shipment_milestones (org_id, shipment_id, code, location, planned_at, actual_at) values
      (${SEED_ORG_ID}, ${id('0f', 1)}, 'booking_confirmed', 'Mumbai', null, ${new Date(Date.now() - 10 * day)}),
      (${SEED_ORG_ID}, ${id('0f', 1)}, 'gate_in', 'INNSA', null, ${new Date(Date.now() - 7 * day)}),
      (${SEED_ORG_ID}, ${id('0f', 1)}, 'departed', 'INNSA', ${new Date(Date.now() - 6 * day)}, ${new Date(Date.now() - 6 * day)}),
      (${SEED_ORG_ID}, ${id('0f', 1)}, 'arrived', 'DEHAM', ${new Date(Date.now() + 18 * day)}, null),
      (${SEED_ORG_ID}, ${id('0f', 3)}, 'arrived', 'INNSA', null, ${new Date(Date.now() - day)})`;

    // The operations mailbox replies go out from. Its IMAP login is not set up (no password, no
    // folders), so nothing polls it; with no RESEND_API_KEY its mail lands as .eml files under
    // MAIL_OUT_DIR (.data/mail-out).
    const imap = { host: 'imap.seahawk-logistics.in', port: 993, tls: true, username: 'ops@seahawk-logistics.in', auth: { method: 'password' } };
    await tx`insert into app.channels (id, org_id, kind, name, address, settings, sending_domain_status)
      values (${SEED_MAILBOX_ID}, ${SEED_ORG_ID}, 'email', 'Seahawk Operations', 'ops@seahawk-logistics.in',
              ${tx.json({ imap, threadToken: 'reply_to' })}, 'verified')`;

    const minute = 60_000;
    for (const t of threads) {
      const threadId = seedThreadId(t.n);
      const msgs = t.messages;
      const at = (m: SeedMessage) => new Date(Date.now() - m.minutesAgo * minute);
      const inbound = msgs.filter((m) => m.dir === 'inbound');
      const outbound = msgs.filter((m) => m.dir === 'outbound');
      const last = msgs[msgs.length - 1];
      const contact = contacts.find((c) => c.n === t.contact)!;
      const counterpart = t.channel === 'email' ? contact.email : (contact.whatsapp ?? contact.phone);
      const lastActivity = last ? at(last) : new Date(Date.now() - 20 * minute);
      await tx`insert into app.threads (id, org_id, subject, normalized_subject, status, priority, channel, customer_id, contact_id, counterpart,
          assignee_id, team_id, tags, snoozed_until, snippet, message_count, first_inbound_at, last_inbound_at, first_outbound_at,
          last_outbound_at, last_message_at, last_activity_at, resolved_at, closed_at)
        values (${threadId}, ${SEED_ORG_ID}, ${t.subject}, ${t.subject.toLowerCase()}, ${t.status}, ${t.priority}, ${t.channel},
          ${id('0d', t.customer)}, ${id('0e', t.contact)}, ${counterpart}, ${t.assignee ? SEED_USERS[t.assignee].id : null},
          ${t.n <= 2 ? exportsTeam : null}, ${t.tags}::text[], ${t.status === 'snoozed' ? new Date(Date.now() + 2 * day) : null},
          ${(last?.body ?? '').replace(/\s+/g, ' ').slice(0, 200)}, ${msgs.length},
          ${inbound[0] ? at(inbound[0]) : null}, ${inbound.at(-1) ? at(inbound.at(-1)!) : null},
          ${outbound[0] ? at(outbound[0]) : null}, ${outbound.at(-1) ? at(outbound.at(-1)!) : null},
          ${last ? at(last) : null}, ${lastActivity},
          ${t.status === 'resolved' ? lastActivity : null}, ${t.status === 'closed' ? lastActivity : null})`;
      for (const [i, m] of msgs.entries()) {
        const messageId = `<seed-${t.n}-${i}@${m.from.includes('@') ? m.from.split('@')[1] : 'whatsapp.seahawk-logistics.in'}>`;
        // Replies were written by a member (the thread's assignee, else the agent): they answer the customer.
        const author = m.dir === 'outbound' ? SEED_USERS[t.assignee ?? 'agent'].id : null;
        await tx`insert into app.messages (org_id, thread_id, channel, direction, status, author_id, from_address, to_recipients, subject,
            body_text, body_new_text, snippet, rfc_message_id, external_ids, dedupe_key, occurred_at, sent_at, delivered_at)
          values (${SEED_ORG_ID}, ${threadId}, ${t.channel}, ${m.dir}, ${m.dir === 'inbound' ? 'received' : 'delivered'}, ${author}, ${m.from},
            ${tx.json([{ address: m.dir === 'inbound' ? 'ops@seahawk-logistics.in' : counterpart }] as never)},
            ${t.channel === 'email' ? (i === 0 ? t.subject : `Re: ${t.subject}`) : null}, ${m.body}, ${m.body},
            ${m.body.replace(/\s+/g, ' ').slice(0, 200)}, ${t.channel === 'email' ? messageId : null},
            ${t.channel === 'email' ? [messageId] : []}::text[], ${messageId}, ${at(m)},
            ${m.dir === 'outbound' ? at(m) : null}, ${m.dir === 'outbound' ? at(m) : null})`;
      }
      if (t.shipment) {
        await tx`insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source, matched_identifier)
          values (${SEED_ORG_ID}, ${threadId}, ${id('0f', t.shipment)}, 'automatic', ${shipments.find((s) => s.n === t.shipment)!.reference})`;
      }
    }
    await tx`insert into app.actions (org_id, thread_id, shipment_id, title, type, priority, assignee_id, due_at, created_by) values
      (${SEED_ORG_ID}, ${seedThreadId(1)}, ${id('0f', 1)}, 'Send draft B/L to Tata Textiles', 'send_document', 'high', ${SEED_USERS.agent.id}, ${new Date(Date.now() + 4 * 3_600_000)}, ${SEED_USERS.agent.id}),
      (${SEED_ORG_ID}, ${seedThreadId(3)}, ${id('0f', 3)}, 'Get technical write-up from Hamburg Home for BE query', 'request_document', 'urgent', ${SEED_USERS.agent.id}, ${new Date(Date.now() - 3_600_000)}, ${SEED_USERS.manager.id}),
      (${SEED_ORG_ID}, ${seedThreadId(9)}, null, 'Call back Ramesh Patil (missed call)', 'call_back', 'normal', null, ${new Date(Date.now() + 3_600_000)}, null)`;
    await tx`insert into app.notes (org_id, thread_id, author_id, body, mentions) values
      (${SEED_ORG_ID}, ${seedThreadId(6)}, ${SEED_USERS.manager.id}, ${'@Vikram please pull the survey report from the Hamburg CFS before we reply.'}, ${[SEED_USERS.agent.id]}::uuid[])`;
    await tx`insert into app.thread_reads (org_id, thread_id, user_id, last_read_at) values
      (${SEED_ORG_ID}, ${seedThreadId(5)}, ${SEED_USERS.agent.id}, now()), (${SEED_ORG_ID}, ${seedThreadId(10)}, ${SEED_USERS.agent.id}, now())`;

    // Every thread knows when it is due, as if its messages had arrived through the API: the clocks
    // come from the one rule every channel calls (the seed writes rows directly, so it calls it too).
    await applyServiceLevels(
      { requestId: 'seed', userId: null, orgId: SEED_ORG_ID, role: 'system', sql: tx, jobs: [] },
      threads.map((t) => seedThreadId(t.n)),
    );

    // The second organization's own conversation: never visible to the first one's members.
    await tx`insert into app.threads (id, org_id, subject, normalized_subject, status, channel, customer_id, counterpart, last_activity_at)
      values (${seedThreadId(99)}, ${SECOND_ORG_ID}, 'Machine parts to Chennai - quote', 'machine parts to chennai - quote', 'open', 'email',
              ${id('0d', 99)}, 'export@bavariamachines.example', now())`;
  });
  return true;
}
