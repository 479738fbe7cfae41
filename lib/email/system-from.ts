// The sender of the app's own mail (invitations, notification mail): MAIL_SYSTEM_FROM, read once per
// configuration. Not a mailbox anyone reads: replies to it are never the team's work.
import { parseAddressHeader } from 'mailparser';
import { config } from '../config.js';
import { PermanentJobError } from '../jobs/registry.js';

/** MAIL_SYSTEM_FROM as an address; a job that sends with a malformed one can never succeed. */
export function systemFrom(): { address: string; name: string | null } {
  const [from] = parseAddressHeader(config().email.systemFrom, { flatten: true }).value;
  if (!from?.address) throw new PermanentJobError(`MAIL_SYSTEM_FROM is not an address: ${config().email.systemFrom}`);
  return { address: from.address, name: from.name || null };
}
