import { route } from '../lib/http/route.js';
import { userRoute } from '../lib/http/user-route.js';
import { me } from '../lib/org/me.js';
import { profileUpdate, updateMyProfile } from '../lib/org/profile.js';
import { meWire, myProfileWire } from '../lib/org/wire.js';

export { OPTIONS } from '../lib/http/cors.js';

// GET /api/me – the signed-in user, the organizations they belong to (with their role in each), their open
// invitations, and their profile in the acting organization (X-Org-Id, or their only one; else null)
export const GET = userRoute({ responses: { 200: meWire } }, ({ sql, principal, request }) => me(sql, principal, request.headers.get('x-org-id')));

// PATCH /api/me – the caller's own profile in the acting organization: name, phone, job title, signature, time zone, availability
export const PATCH = route({ action: 'profile.update', body: profileUpdate, responses: { 200: myProfileWire } }, ({ ctx, body }) => updateMyProfile(ctx, body));
