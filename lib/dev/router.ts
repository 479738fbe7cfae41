// Serves the files under api/ by Vercel's rules, for the dev server and for in-process tests:
// api/a/b.ts is /api/a/b, api/a/index.ts is /api/a, a [param] segment matches one path part and
// arrives as ?param=, an unexported method answers 405 with Allow (HEAD from GET, without a body),
// and an unknown path 404s in the JSON error shape. The table is derived from the files.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errorBody } from '../http/errors.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;
type Handler = (request: Request) => Response | Promise<Response>;

export interface RouteEntry {
  file: string;
  /** The URL pattern, e.g. /api/threads/[id]/assign */
  pattern: string;
  regex: RegExp;
  params: string[];
  dynamicSegments: number;
}

export const defaultApiDir = fileURLToPath(new URL('../../api/', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return name.startsWith('_') || name.startsWith('.') ? [] : walk(full);
    // Vercel ignores files whose name starts with _ or . and type declarations.
    if (name.startsWith('_') || name.startsWith('.') || name.endsWith('.d.ts')) return [];
    return /\.(ts|js|mjs)$/.test(name) ? [full] : [];
  });
}

/** The route table for a directory of functions, most specific first. */
export function routeTable(apiDir = defaultApiDir): RouteEntry[] {
  const entries = walk(apiDir).map((file) => {
    const rel = relative(apiDir, file)
      .split(sep)
      .join('/')
      .replace(/\.(ts|js|mjs)$/, '');
    const parts = rel.split('/');
    if (parts[parts.length - 1] === 'index') parts.pop();
    const params: string[] = [];
    const regexParts = parts.map((part) => {
      const m = /^\[([A-Za-z0-9_]+)\]$/.exec(part);
      if (m) {
        params.push(m[1]!);
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    });
    const pattern = `/api${parts.length ? `/${parts.join('/')}` : ''}`;
    const regex = new RegExp(`^/api${regexParts.length ? `/${regexParts.join('/')}` : ''}/?$`);
    return { file, pattern, regex, params, dynamicSegments: params.length };
  });
  // Static segments win over dynamic ones at the same depth, as on Vercel.
  return entries.sort((a, b) => {
    const as = a.pattern.split('/');
    const bs = b.pattern.split('/');
    for (let i = 0; i < Math.min(as.length, bs.length); i++) {
      const ad = as[i]!.startsWith('[');
      const bd = bs[i]!.startsWith('[');
      if (ad !== bd) return ad ? 1 : -1;
    }
    return bs.length - as.length;
  });
}

/** A path segment as Vercel hands it on: percent-decoded, or as it is when the encoding is malformed (`%ZZ`). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Makes a request arriving at the dev server look as it does behind Vercel's edge: the client's
 * address in X-Real-IP, taken from the socket, and no X-Forwarded-For or X-Real-IP of the client's own
 * making (the per-IP rate limit reads X-Real-IP). Works on the raw headers the Web request is built from.
 */
export function asBehindPlatform(incoming: IncomingMessage): void {
  const raw = incoming.rawHeaders;
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name !== 'x-forwarded-for' && name !== 'x-real-ip') kept.push(raw[i]!, raw[i + 1]!);
  }
  const address = (incoming.socket.remoteAddress ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  if (address) kept.push('X-Real-IP', address);
  raw.splice(0, raw.length, ...kept);
  delete incoming.headers['x-forwarded-for'];
  if (address) incoming.headers['x-real-ip'] = address;
  else delete incoming.headers['x-real-ip'];
}

function notFoundResponse(request: Request): Response {
  const requestId = randomUUID();
  const url = new URL(request.url);
  return Response.json(errorBody('not_found', `No route for ${request.method} ${url.pathname}`, requestId), {
    status: 404,
    headers: { 'x-request-id': requestId },
  });
}

/** The route a request's path resolves to, and the function that answers its method (HEAD falls back to GET). */
export interface RouteMatch {
  route: RouteEntry;
  /** The path parameters, percent-decoded. */
  params: Record<string, string>;
  handler: Handler | undefined;
  /** The methods the file exports (for 405's Allow). */
  exported: string[];
  headFromGet: boolean;
}

export interface Router {
  routes: RouteEntry[];
  fetch(request: Request): Promise<Response>;
  /** The route and handler that answer a method on a path (undefined: no route, a 404), e.g. to read its declared response schemas. */
  match(method: string, pathname: string): Promise<RouteMatch | undefined>;
}

export function createRouter(apiDir = defaultApiDir): Router {
  const routes = routeTable(apiDir);
  const modules = new Map<string, Promise<Record<string, unknown>>>();
  const load = (file: string) => {
    let m = modules.get(file);
    if (!m) {
      m = import(pathToFileURL(file).href) as Promise<Record<string, unknown>>;
      modules.set(file, m);
    }
    return m;
  };

  const match = async (method: string, pathname: string): Promise<RouteMatch | undefined> => {
    for (const r of routes) {
      const found = r.regex.exec(pathname);
      if (!found) continue;
      const mod = await load(r.file);
      const exported = METHODS.filter((m) => typeof mod[m] === 'function');
      const upper = method.toUpperCase();
      const own = mod[upper] as Handler | undefined;
      const headFromGet = upper === 'HEAD' && !own && typeof mod.GET === 'function';
      const params = Object.fromEntries(r.params.map((name, i) => [name, decodeSegment(found[i + 1]!)]));
      return { route: r, params, handler: headFromGet ? (mod.GET as Handler) : own, exported, headFromGet };
    }
    return undefined;
  };

  return {
    routes,
    match,
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const method = request.method.toUpperCase();
      const matched = await match(method, url.pathname);
      if (!matched) return notFoundResponse(request);
      const { route: r, handler, headFromGet } = matched;
      if (!handler) {
        const allow = new Set<string>(matched.exported);
        if (allow.has('GET')) allow.add('HEAD');
        const requestId = randomUUID();
        return Response.json(errorBody('method_not_allowed', `${method} is not allowed on ${r.pattern}`, requestId), {
          status: 405,
          headers: { allow: [...allow].join(', '), 'x-request-id': requestId },
        });
      }
      // Vercel passes dynamic segments as query parameters on the request URL.
      const target = new URL(url);
      for (const [name, value] of Object.entries(matched.params)) target.searchParams.set(name, value);
      const forwarded =
        r.params.length === 0
          ? request
          : new Request(target, {
              method: request.method,
              headers: request.headers,
              body: method === 'GET' || method === 'HEAD' ? undefined : request.body,
              duplex: 'half',
              signal: request.signal,
            } as RequestInit);
      const headRequest = headFromGet ? new Request(forwarded.url, { method: 'GET', headers: forwarded.headers }) : forwarded;
      const response = await handler(headRequest);
      if (method === 'HEAD') return new Response(null, { status: response.status, headers: response.headers });
      return response;
    },
  };
}
