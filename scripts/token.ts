// npm run --silent token -- --role agent  → prints a signed access token for a seeded user.
// Seeded users have fixed ids, so this needs no database. Options: --role owner|admin|manager|agent|
// viewer|multi|other, --user <uuid> (any user), --email <address> (any local user: a seeded one by its
// email, else an account whose id is derived from the address, made when it first accepts an
// invitation), --expires 12h.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { signAccessToken } from '../lib/http/auth.js';
import { SEED_USERS, type SeedUserKey } from '../lib/dev/seed.js';

const { values } = parseArgs({
  options: { role: { type: 'string', default: 'agent' }, user: { type: 'string' }, email: { type: 'string' }, expires: { type: 'string', default: '12h' } },
});

/** The same id for the same address every time (a version 8 UUID from its SHA-256). */
function localUserId(email: string): string {
  const h = createHash('sha256').update(`banxway-local-user:${email}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

let user: { id: string; email?: string };
if (values.email) {
  const email = values.email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    process.stderr.write(`--email ${values.email} is not an email address\n`);
    process.exit(2);
  }
  user = Object.values(SEED_USERS).find((u) => u.email === email) ?? { id: localUserId(email), email };
} else if (values.user) {
  user = { id: values.user };
} else {
  const seeded = SEED_USERS[values.role as SeedUserKey];
  if (!seeded) {
    process.stderr.write(`Unknown --role ${values.role}; one of: ${Object.keys(SEED_USERS).join(', ')}\n`);
    process.exit(2);
  }
  user = seeded;
}
process.stdout.write(`${await signAccessToken(user, { expiresIn: values.expires })}\n`);
