import { describe, expect, it } from 'vitest';
import {
  composeEmail,
  formatAddress,
  MAX_REFERENCES,
  messageIdFor,
  parseThreadToken,
  referencesFor,
  replySubject,
  threadingHeaders,
  threadTokenFor,
  threadTokenMode,
  toRfc822,
  withSubjectTag,
  type ComposeInput,
} from '../../lib/email/compose.js';
import { parseEmail } from '../../lib/email/parse.js';

const THREAD = '3f9a0c12-b4de-4a11-8c22-0123456789ab';
const ORG = '0a000000-0000-4000-8000-000000000001';
const ROW = '7d0c5e5e-1111-4222-8333-444455556666';

const base: ComposeInput = {
  messageRowId: ROW,
  orgId: ORG,
  threadId: THREAD,
  mailbox: 'ops@seahawk-logistics.in',
  fromName: 'Vikram Singh',
  to: [{ address: 'karthik@tatatextiles.example', name: 'Karthik Subramanian' }],
  subject: 'Booking confirmation for 2x40HC',
  text: 'Draft B/L attached.',
  html: '<p>Draft B/L attached.</p>',
  parent: { id: '<seed-1-2@TataTextiles.example>', references: [], inReplyTo: null },
  rootId: 'seed-1-0@tatatextiles.example',
};

describe('thread tokens', () => {
  it('derive a short stable token from the thread id and round-trip through a Reply-To and a subject', () => {
    const token = threadTokenFor(THREAD);
    expect(token).toBe(threadTokenFor(THREAD));
    expect(token).toMatch(/^t-[0-9a-f]{32}$/);
    const reply = composeEmail({ ...base, tokenMode: 'reply_to' });
    expect(reply.replyTo).toBe(`ops+${token}@seahawk-logistics.in`);
    expect(parseThreadToken(reply.replyTo!)).toBe(token.slice(2));
    const short = token.slice(2, 14);
    const tagged = composeEmail({ ...base, tokenMode: 'subject' });
    expect(tagged.subject).toBe(`Re: Booking confirmation for 2x40HC [#BX-${short.toUpperCase()}]`);
    expect(parseThreadToken(tagged.subject)).toBe(short);
    expect(parseThreadToken(`RE: ${tagged.subject}`)).toBe(short);
    expect(parseThreadToken('ops@seahawk-logistics.in')).toBeNull();
    expect(parseThreadToken('Booking [#BX-nothex]')).toBeNull();
  });

  it('puts the token where the mailbox setting says, once', () => {
    expect(threadTokenMode({})).toBe('reply_to');
    expect(threadTokenMode({ threadToken: 'bogus' })).toBe('reply_to');
    const both = composeEmail({ ...base, tokenMode: 'both' });
    expect(parseThreadToken(both.replyTo!)).not.toBeNull();
    expect(parseThreadToken(both.subject)).not.toBeNull();
    const none = composeEmail({ ...base, tokenMode: 'none' });
    expect(none.replyTo).toBeNull();
    expect(none.subject).toBe('Re: Booking confirmation for 2x40HC');
    // A subject that already carries the tag (a reply to our own tagged mail) does not get it twice.
    const again = withSubjectTag(both.subject, THREAD);
    expect(again).toBe(both.subject);
    // An explicit Reply-To at another domain is left alone; one on our mailbox gets the token.
    expect(composeEmail({ ...base, replyTo: 'accounts@tatatextiles.example' }).replyTo).toBe('accounts@tatatextiles.example');
    expect(composeEmail({ ...base, replyTo: 'exports@seahawk-logistics.in' }).replyTo).toBe(`exports+${threadTokenFor(THREAD)}@seahawk-logistics.in`);
  });
});

describe('reply subjects', () => {
  it('adds Re: once and keeps other languages and counters', () => {
    expect(replySubject('Booking')).toBe('Re: Booking');
    expect(replySubject('Re: Booking')).toBe('Re: Booking');
    expect(replySubject('RE: Booking')).toBe('RE: Booking');
    expect(replySubject('AW: Buchung')).toBe('AW: Buchung');
    expect(replySubject('Re[2]: Booking')).toBe('Re[2]: Booking');
    expect(replySubject('Regarding: invoice')).toBe('Re: Regarding: invoice');
    expect(replySubject('   ')).toBe('Re: (no subject)');
  });

  it('does not prefix a new conversation', () => {
    const fresh = composeEmail({ ...base, parent: null, rootId: null, tokenMode: 'none' });
    expect(fresh.subject).toBe('Booking confirmation for 2x40HC');
    expect(fresh.inReplyTo).toBeNull();
    expect(fresh.references).toEqual([]);
    expect(threadingHeaders(fresh)).toEqual({ 'Message-ID': `<${fresh.messageId}>` });
  });
});

describe('Message-ID and threading headers', () => {
  it('derives our Message-ID from the row id at the sending domain, the same on every attempt', () => {
    const id = messageIdFor(ROW, 'ops@Seahawk-Logistics.in');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}@seahawk-logistics\.in$/);
    expect(messageIdFor(ROW, 'ops@seahawk-logistics.in')).toBe(id);
    expect(messageIdFor('7d0c5e5e-1111-4222-8333-444455556667', 'ops@seahawk-logistics.in')).not.toBe(id);
    // A stored id wins (normalised).
    expect(composeEmail({ ...base, messageId: '<Stored@Seahawk-Logistics.in>' }).messageId).toBe('Stored@seahawk-logistics.in');
  });

  it('answers the parent and chains References from the root, normalised', () => {
    const email = composeEmail(base);
    expect(email.inReplyTo).toBe('seed-1-2@tatatextiles.example');
    expect(email.references).toEqual(['seed-1-0@tatatextiles.example', 'seed-1-2@tatatextiles.example']);
    expect(threadingHeaders(email)).toEqual({
      'Message-ID': `<${email.messageId}>`,
      'In-Reply-To': '<seed-1-2@tatatextiles.example>',
      References: '<seed-1-0@tatatextiles.example> <seed-1-2@tatatextiles.example>',
    });
  });

  it("uses the parent's own chain (or its In-Reply-To) and caps it, keeping the root", () => {
    expect(referencesFor({ id: 'c@x', references: [], inReplyTo: '<b@x>' }, 'a@x')).toEqual(['a@x', 'b@x', 'c@x']);
    expect(referencesFor({ id: 'c@x', references: ['a@x', 'b@x'] }, 'a@x')).toEqual(['a@x', 'b@x', 'c@x']);
    const long = Array.from({ length: 60 }, (_, i) => `m${i}@x`);
    const capped = referencesFor({ id: 'last@x', references: long }, 'm0@x');
    expect(capped).toHaveLength(MAX_REFERENCES);
    expect(capped[0]).toBe('m0@x');
    expect(capped.at(-1)).toBe('last@x');
    expect(referencesFor({ id: 'p@x' }, null, 'p@x')).toEqual([]);
  });
});

describe('addresses and the RFC 5322 rendering', () => {
  it('quotes display names', () => {
    expect(formatAddress({ address: 'a@b.example' })).toBe('a@b.example');
    expect(formatAddress({ address: 'a@b.example', name: 'Shah, "Dr." Kavita' })).toBe('"Shah, \\"Dr.\\" Kavita" <a@b.example>');
  });

  it('renders a message our own parser reads back with the same ids, subject, recipients and attachment', async () => {
    const pdf = Buffer.from('%PDF-1.4 draft B/L MAEU123456789\n');
    const email = composeEmail({
      ...base,
      cc: [{ address: 'meena@tatatextiles.example' }],
      bcc: [{ address: 'audit@seahawk-logistics.in' }],
      tokenMode: 'both',
      attachments: [{ filename: 'Draft BL MAEU123456789.pdf', contentType: 'application/pdf', content: pdf }],
    });
    const raw = await toRfc822(email);
    expect(raw.toString('latin1')).toContain('\r\n');
    const parsed = await parseEmail(raw);
    expect(parsed.messageId).toBe(email.messageId);
    expect(parsed.inReplyTo).toEqual(['seed-1-2@tatatextiles.example']);
    expect(parsed.references).toEqual(email.references);
    expect(parsed.subject).toBe(email.subject);
    expect(parsed.from).toEqual({ address: 'ops@seahawk-logistics.in', name: 'Vikram Singh' });
    expect(parsed.to).toEqual([{ address: 'karthik@tatatextiles.example', name: 'Karthik Subramanian' }]);
    expect(parsed.cc.map((a) => a.address)).toEqual(['meena@tatatextiles.example']);
    expect(parsed.bcc.map((a) => a.address)).toEqual(['audit@seahawk-logistics.in']);
    expect(parsed.replyTo.map((a) => a.address)).toEqual([email.replyTo]);
    expect(parsed.text).toBe('Draft B/L attached.');
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]).toMatchObject({ filename: 'Draft BL MAEU123456789.pdf', contentType: 'application/pdf' });
    expect(parsed.attachments[0]!.content.equals(pdf)).toBe(true);
  });
});
