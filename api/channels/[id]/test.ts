import { testChannel } from '../../../lib/channels/mailboxes.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { channelTestWire } from '../../../lib/channels/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/channels/{id}/test – connect, log in and list the mailbox's folders
export const POST = route({ action: 'channels.manage', params: idParams, responses: { 200: channelTestWire } }, ({ ctx, params }) =>
  testChannel(ctx, params.id),
);
