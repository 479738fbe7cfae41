import { describe, expect, it } from 'vitest';
import { normalizeSubject, parseThreadToken, subjectTag, threadTokenFor, tokenAddress, tokenRange } from '../../lib/email/threading.js';

describe('subject normalisation', () => {
  it.each([
    ['Booking confirmation 2x40HC', 'booking confirmation 2x40hc'],
    ['RE: Booking confirmation 2x40HC', 'booking confirmation 2x40hc'],
    ['Re: RE: Fwd: FW: Booking confirmation 2x40HC', 'booking confirmation 2x40hc'],
    ['AW: WG: Anfrage Seefracht', 'anfrage seefracht'],
    ['TR: RV: SV: Cotización', 'cotización'],
    ['[EXTERNAL] RE: [SPAM] Re: BL draft', 'bl draft'],
    ['Re[2]: DO release', 'do release'],
    ['RE(3): DO release', 'do release'],
    ['Re: Booking [#BX-1A2B3C4D5E6F]', 'booking'],
    ['回复: 报价', '报价'],
    ['  Re:   spaced    out  ', 'spaced out'],
    ['Revised ETD', 'revised etd'],
    ['Fwdg schedule', 'fwdg schedule'],
    ['Re:', ''],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeSubject(input)).toBe(expected);
  });
});

describe('thread tokens', () => {
  const id = '1a2b3c4d-5e6f-4a00-8b00-0123456789ab';
  it('round-trips through a plus address and a subject tag', () => {
    expect(threadTokenFor(id)).toBe('t-1a2b3c4d5e6f4a008b000123456789ab');
    expect(tokenAddress('ops@seahawk-logistics.in', id)).toBe('ops+t-1a2b3c4d5e6f4a008b000123456789ab@seahawk-logistics.in');
    expect(tokenAddress('ops+old@seahawk-logistics.in', id)).toBe('ops+t-1a2b3c4d5e6f4a008b000123456789ab@seahawk-logistics.in');
    expect(parseThreadToken('Ops <OPS+T-1A2B3C4D5E6F4A008B000123456789AB@seahawk-logistics.in>')).toBe('1a2b3c4d5e6f4a008b000123456789ab');
    expect(tokenRange('1a2b3c4d5e6f4a008b000123456789ab')).toEqual([id, id]);
    expect(parseThreadToken(`Re: Booking ${subjectTag(id)}`)).toBe('1a2b3c4d5e6f');
    expect(parseThreadToken('ops@seahawk-logistics.in')).toBeNull();
    const [lo, hi] = tokenRange('1a2b3c4d5e6f');
    expect(lo <= id && id <= hi).toBe(true);
  });
});

describe('the demo data', () => {
  it('gives every seeded thread its own subject tag', async () => {
    const { seedThreadId } = await import('../../lib/dev/seed.js');
    const tags = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 99].map((n) => subjectTag(seedThreadId(n)));
    expect(new Set(tags).size).toBe(tags.length);
  });
});
