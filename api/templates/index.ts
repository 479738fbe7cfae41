import { route } from '../../lib/http/route.js';
import { createTemplate, listTemplates, templateCreate, templateListQuery } from '../../lib/templates/service.js';
import { replyTemplatePageWire, replyTemplateWire } from '../../lib/templates/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/templates – the reply templates the caller may use (shared and their own), most used first; filters q, folder, tag, channel, visibility
export const GET = route({ action: 'threads.read', query: templateListQuery, responses: { 200: replyTemplatePageWire } }, ({ ctx, query }) =>
  listTemplates(ctx, query),
);

// POST /api/templates – a reply template, personal or (templates.manage) shared with the organization
export const POST = route({ action: 'threads.write', body: templateCreate, status: 201, responses: { 201: replyTemplateWire } }, ({ ctx, body }) =>
  createTemplate(ctx, body),
);
