// The operations behind the OpenAPI document, found the way the dev server finds its routes: every file
// under api/ by Vercel's rules (lib/dev/router.ts), each exported method, its handler's meta and the
// comment above the export. Runs where the sources are (the dev server, the build, the tests).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { defaultApiDir, routeTable } from '../dev/router.js';
import { handlerMeta } from '../http/responses.js';
import { HTTP_METHODS, type OperationSource } from './document.js';

/** The `//` lines right above `export const METHOD =` (or `export async function METHOD`). */
export function commentAbove(source: string, method: string): string[] {
  const lines = source.split('\n');
  const at = lines.findIndex((line) => new RegExp(`^export\\s+(const|async function|function)\\s+${method}\\b`).test(line));
  if (at < 0) return [];
  const out: string[] = [];
  for (let i = at - 1; i >= 0 && /^\s*\/\//.test(lines[i]!); i--) out.unshift(lines[i]!.replace(/^\s*\/\/\s?/, '').trim());
  return out;
}

export async function collectOperations(apiDir = defaultApiDir): Promise<OperationSource[]> {
  const out: OperationSource[] = [];
  for (const entry of routeTable(apiDir)) {
    const mod = (await import(pathToFileURL(entry.file).href)) as Record<string, unknown>;
    const text = readFileSync(entry.file, 'utf8');
    for (const method of HTTP_METHODS) {
      const handler = mod[method];
      if (typeof handler !== 'function') continue;
      out.push({ method, pattern: entry.pattern, pathParams: entry.params, meta: handlerMeta(handler), comment: commentAbove(text, method) });
    }
  }
  return out;
}
