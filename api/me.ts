import { me } from '../lib/org/me.js';

export { OPTIONS } from '../lib/http/cors.js';

// GET /api/me – the signed-in user and the organizations they belong to (with their role in each)
export const GET = (request: Request) => me(request);
