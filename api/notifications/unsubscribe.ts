import { htmlPage } from '../../lib/http/provider-wire.js';
import { describe } from '../../lib/http/responses.js';
import { unsubscribe, unsubscribePage } from '../../lib/notifications/unsubscribe.js';

const auth = { auth: 'signature', authNote: 'the signed token in ?token= from the notification mail' } as const;

// GET /api/notifications/unsubscribe?token= – a page whose button unsubscribes (a GET changes nothing)
export const GET = describe((request: Request) => unsubscribePage(request), { ...auth, responses: { 200: htmlPage } });

// POST /api/notifications/unsubscribe?token= – RFC 8058 one-click: List-Unsubscribe=One-Click stops that mail
export const POST = describe((request: Request) => unsubscribe(request), { ...auth, responses: { 200: htmlPage } });
