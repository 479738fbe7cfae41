// Which policy a thread gets: the most specific enabled match (customer > tier and channel > tier >
// channel > default), ties broken by position, then name.
import { describe, expect, it } from 'vitest';
import { choosePolicy, type Conditions } from '../../lib/sla/policies.js';

const p = (name: string, conditions: Conditions, extra: { position?: number; enabled?: boolean; isDefault?: boolean } = {}) => ({
  name,
  conditions,
  position: extra.position ?? 0,
  enabled: extra.enabled ?? true,
  isDefault: extra.isDefault ?? false,
});
const TATA = '0e000000-0000-4000-8000-000000000001';
const policies = [
  p('Default', {}, { isDefault: true, position: 1_000_000 }),
  p('WhatsApp', { channels: ['whatsapp'] }),
  p('Strategic', { customerTiers: ['strategic'] }),
  p('Strategic WhatsApp', { customerTiers: ['strategic'], channels: ['whatsapp'] }),
  p('Tata', { customerIds: [TATA] }),
];
const pick = (customerId: string | null, customerTier: string | null, channel: string, list = policies) =>
  choosePolicy(list, { customerId, customerTier, channel })?.name;

describe('choosing a policy', () => {
  it('takes the most specific match', () => {
    expect(pick(TATA, 'strategic', 'whatsapp')).toBe('Tata');
    expect(pick(null, 'strategic', 'whatsapp')).toBe('Strategic WhatsApp');
    expect(pick(null, 'strategic', 'email')).toBe('Strategic');
    expect(pick(null, 'standard', 'whatsapp')).toBe('WhatsApp');
    expect(pick(null, null, 'email')).toBe('Default');
  });

  it('skips disabled policies, never the default, and breaks ties by position then name', () => {
    const list = [...policies.filter((x) => x.name !== 'Tata'), p('Tata', { customerIds: [TATA] }, { enabled: false })];
    expect(pick(TATA, 'strategic', 'email', list)).toBe('Strategic');
    expect(pick(null, null, 'sms', [p('Default', {}, { isDefault: true, enabled: false })])).toBe('Default');
    const tied = [
      p('B sms', { channels: ['sms'] }, { position: 2 }),
      p('A sms', { channels: ['sms'] }, { position: 2 }),
      p('C sms', { channels: ['sms'] }, { position: 1 }),
    ];
    expect(pick(null, null, 'sms', tied)).toBe('C sms');
    expect(pick(null, null, 'sms', tied.slice(0, 2))).toBe('A sms');
    // All conditions of a policy must hold.
    expect(pick(null, 'key', 'whatsapp', [p('Strategic WhatsApp', { customerTiers: ['strategic'], channels: ['whatsapp'] })])).toBeUndefined();
  });
});
