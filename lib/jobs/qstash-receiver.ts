// Verifies a QStash delivery: the Upstash-Signature JWT over the raw body and this route's public URL,
// with the current signing key, then the next one. Rejects when no keys are configured.
import { config } from '../config.js';
import { AppError } from '../errors.js';

let receiver: Promise<import('@upstash/qstash').Receiver> | undefined;

export async function verifyQStash(request: Request, rawBody: string, url: string): Promise<void> {
  const keys = config().qstashSigningKeys;
  if (!keys) throw new AppError('unauthorized', 'Job deliveries are not accepted: no QStash signing keys are configured');
  const signature = request.headers.get('upstash-signature');
  if (!signature) throw new AppError('unauthorized', 'Upstash-Signature header is required');
  receiver ??= import('@upstash/qstash').then(({ Receiver }) => new Receiver({ currentSigningKey: keys.current, nextSigningKey: keys.next }));
  try {
    await (await receiver).verify({ signature, body: rawBody, url, clockTolerance: 5 });
  } catch {
    throw new AppError('unauthorized', 'The QStash signature is not valid for this body and URL');
  }
}

export function resetQStashReceiver(): void {
  receiver = undefined;
}
