import { channelCreate, channelListQuery, createChannel, listChannels } from '../../lib/channels/mailboxes.js';
import { route } from '../../lib/http/route.js';
import { channelPageWire, channelWire } from '../../lib/channels/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/channels – list the organization's channels (never their secrets)
export const GET = route({ action: 'channels.read', query: channelListQuery, responses: { 200: channelPageWire } }, ({ ctx, query }) =>
  listChannels(ctx, query),
);

// POST /api/channels – add a mailbox (IMAP server, password or OAuth 2.0 login, folders)
// (No Idempotency-Key replay: the response shows a webhook secret once, and a stored copy would keep it.)
export const POST = route(
  { action: 'channels.manage', body: channelCreate, status: 201, idempotent: false, responses: { 201: channelWire } },
  ({ ctx, body }) => createChannel(ctx, body),
);
