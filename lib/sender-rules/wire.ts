// Sender rules as the API answers them (wire form: instants as ISO strings).
import * as z from 'zod';
import { threadWire } from '../threads/wire.js';
import { pageOf, wireId, wireInstant } from '../wire.js';
import { SENDER_RULE_KINDS, SENDER_RULE_MATCHES } from './verdict.js';

export const senderRuleWire = z
  .strictObject({
    id: wireId,
    /** `block`: the sender's mail is stored as spam; `bulk`: as bulk; `allow`: always in the inbox. */
    kind: z.enum(SENDER_RULE_KINDS),
    /** What `value` is: an email address, an email domain (its subdomains too) or an E.164 number. */
    match: z.enum(SENDER_RULE_MATCHES),
    value: z.string(),
    note: z.string().nullable(),
    /** `manual` from this list, `thread` from marking a thread spam or not spam (threadId names it). */
    source: z.enum(['manual', 'thread']),
    threadId: wireId.nullable(),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'SenderRule' });

export const senderRulePageWire = pageOf(senderRuleWire);

/** POST /api/threads/{id}/spam and /not-spam: the thread, and its sender's rule (null when it has no sender to block). */
export const threadMarkWire = z.strictObject({ thread: threadWire, rule: senderRuleWire.nullable() }).meta({ id: 'ThreadMark' });
