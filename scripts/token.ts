// npm run --silent token -- --role agent  → prints a signed access token for a seeded user.
// Seeded users have fixed ids, so this needs no database. Options: --role owner|admin|manager|agent|
// viewer|multi|other, --user <uuid> (any user), --expires 12h.
import { parseArgs } from 'node:util';
import { signAccessToken } from '../lib/http/auth.js';
import { SEED_USERS, type SeedUserKey } from '../lib/dev/seed.js';

const { values } = parseArgs({
  options: { role: { type: 'string', default: 'agent' }, user: { type: 'string' }, expires: { type: 'string', default: '12h' } },
});
const role = values.role as SeedUserKey;
const seeded = SEED_USERS[role];
if (!seeded && !values.user) {
  process.stderr.write(`Unknown --role ${values.role}; one of: ${Object.keys(SEED_USERS).join(', ')}\n`);
  process.exit(2);
}
const user = values.user ? { id: values.user } : seeded;
process.stdout.write(`${await signAccessToken(user, { expiresIn: values.expires })}\n`);
