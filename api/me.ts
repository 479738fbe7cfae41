import { userRoute } from '../lib/http/user-route.js';
import { me } from '../lib/org/me.js';

export { OPTIONS } from '../lib/http/cors.js';

// GET /api/me – the signed-in user, the organizations they belong to (with their role in each) and their open invitations
export const GET = userRoute({}, ({ sql, principal }) => me(sql, principal));
