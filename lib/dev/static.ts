// The static output the dev server serves beside api/ (what Vercel serves from public/): the API
// contract (/openapi.json, generated live from the routes) and its reference page (/docs/), reached
// through vercel.json's rewrites as on Vercel (/api/openapi.json, /api/docs).
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DOCS_HTML, openApiDocument, redocBundlePath, STATIC_FILES } from '../openapi/index.js';

interface Rewrite {
  source: string;
  destination: string;
}

const rewrites: Rewrite[] =
  (JSON.parse(readFileSync(fileURLToPath(new URL('../../vercel.json', import.meta.url)), 'utf8')) as { rewrites?: Rewrite[] }).rewrites ?? [];

let document: Promise<string> | undefined;

/** The answer for a static path (after vercel.json's rewrites), or undefined when it is not one. */
export async function serveStatic(request: Request): Promise<Response | undefined> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  let path = new URL(request.url).pathname;
  path = rewrites.find((r) => r.source === path)?.destination ?? path;
  if (path === '/docs' || path === '/docs/') path = '/docs/index.html';
  const entry = STATIC_FILES[path as keyof typeof STATIC_FILES];
  if (!entry) return undefined;
  const headers = { 'content-type': entry.type, 'cache-control': 'no-cache' };
  const body = (text: string | ReadableStream) => new Response(request.method === 'HEAD' ? null : text, { headers });
  if (path === '/openapi.json') {
    document ??= openApiDocument().then(({ document }) => JSON.stringify(document));
    return body(await document);
  }
  if (path === '/docs/index.html') return body(DOCS_HTML);
  return body(Readable.toWeb(createReadStream(redocBundlePath())) as ReadableStream);
}
