import { channelUpdate, disableChannel, getChannel, updateChannel } from '../../lib/channels/mailboxes.js';
import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { channelWire } from '../../lib/channels/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/channels/{id} – one channel with its folders' sync state
export const GET = route({ action: 'channels.read', params: idParams, responses: { 200: channelWire } }, ({ ctx, params }) => getChannel(ctx, params.id));

// PATCH /api/channels/{id} – change any setting; a secret given replaces the stored one
export const PATCH = route({ action: 'channels.manage', params: idParams, body: channelUpdate, responses: { 200: channelWire } }, ({ ctx, params, body }) =>
  updateChannel(ctx, params.id, body),
);

// DELETE /api/channels/{id} – disable the channel (polling stops; nothing is deleted)
export const DELETE = route({ action: 'channels.manage', params: idParams, responses: { 200: channelWire } }, ({ ctx, params }) =>
  disableChannel(ctx, params.id),
);
