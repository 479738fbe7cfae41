import { unsubscribe, unsubscribePage } from '../../lib/notifications/unsubscribe.js';

// GET /api/notifications/unsubscribe?token= – a page whose button unsubscribes (a GET changes nothing)
export const GET = (request: Request) => unsubscribePage(request);

// POST /api/notifications/unsubscribe?token= – RFC 8058 one-click: List-Unsubscribe=One-Click stops that mail
export const POST = (request: Request) => unsubscribe(request);
