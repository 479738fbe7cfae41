import { createDocument, documentCreate, documentListQuery, listDocuments } from '../../lib/documents/service.js';
import { documentPageWire, documentWire } from '../../lib/documents/wire.js';
import { route } from '../../lib/http/route.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/documents – documents, newest first (filters shipmentId, threadId, type, status, readStatus)
export const GET = route({ action: 'shipments.read', query: documentListQuery, responses: { 200: documentPageWire } }, ({ ctx, query }) =>
  listDocuments(ctx, query),
);

// POST /api/documents – a document from a confirmed upload; read, classified and filed by the document.read job
export const POST = route({ action: 'shipments.write', body: documentCreate, status: 201, responses: { 201: documentWire } }, ({ ctx, body }) =>
  createDocument(ctx, body),
);
