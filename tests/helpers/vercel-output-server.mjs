// Serves a `vercel build` output (.vercel/output) the way Vercel runs it, for the built-function smoke
// test. Plain JavaScript so it runs on the Node.js the functions are built for (tools/vercel pins it),
// not on the test runner's. Per request: the routes of config.json (filesystem first, then the
// rewrites that carry dynamic segments as query parameters), then the function's .vc-config.json:
// the function is staged in a directory of its own as the deployed function sees its files (the
// .func directory, plus every filePathMap entry copied from the source tree) and its handler module
// is imported from there; the Web handler for the method answers (an unexported method is 405, as in
// Vercel's launcher), and waitUntil() promises run after the response, as on Vercel.
//
//   node vercel-output-server.mjs <output dir> <source root> <staging dir>
// prints `listening <port> on <node version>` once ready.
import { AsyncLocalStorage } from 'node:async_hooks';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const [outputDir, sourceRoot, stagingDir] = process.argv.slice(2);
if (!outputDir || !sourceRoot || !stagingDir) throw new Error('usage: vercel-output-server.mjs <output dir> <source root> <staging dir>');
const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH'];
const routes = JSON.parse(readFileSync(join(outputDir, 'config.json'), 'utf8')).routes ?? [];

// @vercel/functions finds waitUntil through this symbol, which the Vercel runtime sets per request.
const requestContext = new AsyncLocalStorage();
globalThis[Symbol.for('@vercel/request-context')] = { get: () => requestContext.getStore() };

/** The function directory serving a path, if any (`/api/threads` is also `api/threads/index`). */
function functionFor(pathname) {
  for (const candidate of [pathname, `${pathname.replace(/\/$/, '')}/index`]) {
    const dir = join(outputDir, 'functions', `${candidate}.func`);
    if (existsSync(join(dir, '.vc-config.json'))) return { name: candidate, dir };
  }
  return undefined;
}

/** Vercel's routing: the filesystem, then each rewrite in order (re-checking the filesystem). */
function resolve(url) {
  let current = new URL(url);
  const direct = functionFor(current.pathname);
  if (direct) return { fn: direct, url: current };
  let afterFilesystem = false;
  for (const r of routes) {
    if (r.handle) {
      if (r.handle === 'filesystem') afterFilesystem = true;
      else break;
      continue;
    }
    if (!afterFilesystem) continue;
    const match = new RegExp(r.src).exec(current.pathname);
    if (!match) continue;
    const dest = r.dest.replace(/\$(\d+)/g, (_, i) => encodeURIComponent(match[Number(i)] ?? ''));
    const next = new URL(dest, current);
    for (const [k, v] of current.searchParams) if (!next.searchParams.has(k)) next.searchParams.append(k, v);
    current = next;
    const fn = functionFor(decodeURIComponent(current.pathname));
    if (fn && r.check) return { fn, url: current };
  }
  return undefined;
}

const loaded = new Map();
/** Stages a function as deployed (its own directory, filePathMap applied) and imports its handler. */
function load(fn) {
  let mod = loaded.get(fn.name);
  if (!mod) {
    const vc = JSON.parse(readFileSync(join(fn.dir, '.vc-config.json'), 'utf8'));
    const root = join(stagingDir, fn.name);
    mkdirSync(root, { recursive: true });
    cpSync(fn.dir, root, { recursive: true, dereference: true });
    for (const [deployed, source] of Object.entries(vc.filePathMap ?? {})) {
      mkdirSync(dirname(join(root, deployed)), { recursive: true });
      cpSync(join(sourceRoot, source), join(root, deployed), { dereference: true });
    }
    mod = import(pathToFileURL(join(root, vc.handler)).href).then((m) => {
      let listener = m;
      while (listener.default) listener = listener.default;
      return listener;
    });
    loaded.set(fn.name, mod);
  }
  return mod;
}

const server = createServer(async (req, res) => {
  const url = `http://${req.headers.host}${req.url}`;
  const target = resolve(url);
  if (!target) {
    res.writeHead(404, { 'content-type': 'text/plain', 'x-vercel-error': 'NOT_FOUND' }).end('NOT_FOUND');
    return;
  }
  const pending = [];
  try {
    const listener = await load(target.fn);
    const method = req.method ?? 'GET';
    const handler = METHODS.includes(method) ? (listener[method] ?? listener.fetch) : undefined;
    if (typeof handler !== 'function') {
      res.writeHead(405).end();
      return;
    }
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const request = new Request(target.url, {
      method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : v === undefined ? [] : [[k, v]])),
      body: hasBody ? Readable.toWeb(req) : undefined,
      duplex: 'half',
    });
    const context = { waitUntil: (promise) => pending.push(Promise.resolve(promise)), headers: Object.fromEntries(request.headers) };
    const response = await requestContext.run(context, () => handler(request));
    res.writeHead(response.status, [...response.headers].flat());
    if (response.body) for await (const chunk of response.body) res.write(chunk);
    res.end();
  } catch (error) {
    process.stderr.write(`function ${target.fn.name} failed: ${error?.stack ?? error}\n`);
    if (!res.headersSent) res.writeHead(500, { 'x-vercel-error': 'FUNCTION_INVOCATION_FAILED' });
    res.end();
  } finally {
    // Vercel keeps the instance alive until waitUntil work settles (within maxDuration).
    const results = await Promise.allSettled(pending);
    for (const r of results) if (r.status === 'rejected') process.stderr.write(`waitUntil rejected: ${r.reason?.stack ?? r.reason}\n`);
  }
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port} on ${process.version}\n`));
