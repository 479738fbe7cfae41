// The outbound mail adapter replaced by one that keeps what the app sends (every sending domain
// verified), for tests that read the mail a job composed.
import type { ComposedEmail } from '../../lib/email/compose.js';
import { useOutboundAdapter } from '../../lib/email/outbound.js';

export interface CapturedMail {
  email: ComposedEmail;
  key: string;
}

/** Captures outbound mail into `sent` until release() puts the configured adapter back. */
export function captureOutbound(): { sent: CapturedMail[]; release: () => void } {
  const sent: CapturedMail[] = [];
  useOutboundAdapter({
    kind: 'local',
    async send(email, { idempotencyKey }) {
      sent.push({ email, key: idempotencyKey });
      return { providerMessageId: `captured-${idempotencyKey}` };
    },
    async sendingDomainStatus() {
      return 'verified';
    },
  });
  return { sent, release: () => useOutboundAdapter(undefined) };
}
