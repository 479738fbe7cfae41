import { handleMcp } from '../lib/mcp/handler.js';

export { OPTIONS } from '../lib/http/cors.js';

// POST /api/mcp – the MCP server (Streamable HTTP, stateless, JSON responses): inbox tools and thread/shipment resources for an API key or a member's token
export const POST = handleMcp;
// GET /api/mcp – 405: no server-initiated SSE stream in stateless mode
export const GET = handleMcp;
// DELETE /api/mcp – 405: there are no sessions to end
export const DELETE = handleMcp;
