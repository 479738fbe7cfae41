// POST /api/mcp: the MCP server over Streamable HTTP, stateless (a new server and transport for each
// request, no session id, JSON responses rather than SSE), authenticated by an API key or a member's
// access token (Authorization: Bearer ...), with the same per-address and per-caller rate limits as
// the REST API. There are no server-initiated streams and no sessions to end, so GET and DELETE are 405.
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { config } from '../config.js';
import { AppError } from '../errors.js';
import { corsHeaders } from '../http/cors.js';
import { rateLimitedCaller } from '../http/rate-limit.js';
import { logRequest, requestIdOf, toErrorResponse } from '../http/route.js';
import { createMcpServer } from './server.js';

function withHeaders(response: Response, headers: Headers): Response {
  const merged = new Headers(response.headers);
  for (const [k, v] of headers) merged.set(k, v);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: merged });
}

export async function handleMcp(request: Request): Promise<Response> {
  const started = performance.now();
  const requestId = requestIdOf(request);
  const url = new URL(request.url);
  const headers = new Headers({ ...corsHeaders(request), 'x-request-id': requestId });
  let userId: string | undefined;
  let apiKeyId: string | undefined;
  let response: Response;
  try {
    if (request.method !== 'POST') {
      throw new AppError('method_not_allowed', 'The MCP server is stateless: send JSON-RPC with POST (no SSE stream, no session to end)', undefined, {
        allow: 'POST, OPTIONS',
      });
    }
    const caller = await rateLimitedCaller(request);
    if (caller.kind === 'user') userId = caller.principal.userId;
    else apiKeyId = caller.key.keyId;
    const server = createMcpServer({ caller, requestId, orgHeader: request.headers.get('x-org-id') });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: config().maxBodyBytes,
    });
    try {
      await server.connect(transport);
      const answer = await transport.handleRequest(request);
      // The JSON answer is complete once handleRequest resolves: read it before closing the transport.
      const body = answer.body ? await answer.arrayBuffer() : null;
      response = withHeaders(new Response(body, { status: answer.status, headers: answer.headers }), headers);
    } finally {
      await server.close().catch(() => {});
    }
  } catch (error) {
    response = toErrorResponse(error, requestId, request, headers);
  }
  logRequest(request, url, { requestId, started, status: response.status, userId, apiKeyId });
  return response;
}
