import { jsonRpc } from '../lib/http/provider-wire.js';
import { describe, rawBody } from '../lib/http/responses.js';
import { handleMcp } from '../lib/mcp/handler.js';

export { OPTIONS } from '../lib/http/cors.js';

// POST /api/mcp – the MCP server (Streamable HTTP, stateless, JSON responses): inbox tools and thread/shipment resources for an API key or a member's token
export const POST = describe((request: Request) => handleMcp(request), {
  auth: 'member',
  idempotent: false,
  body: rawBody('application/json', 'a JSON-RPC 2.0 request or notification (MCP)'),
  // JSON-RPC errors (a malformed message, a missing Accept) come in JSON-RPC's own shape.
  responses: { 200: jsonRpc, 202: null, 400: jsonRpc, 406: jsonRpc },
});
// GET /api/mcp – 405: no server-initiated SSE stream in stateless mode
export const GET = describe((request: Request) => handleMcp(request), { auth: 'member', responses: {} });
// DELETE /api/mcp – 405: there are no sessions to end
export const DELETE = describe((request: Request) => handleMcp(request), { auth: 'member', responses: {} });
