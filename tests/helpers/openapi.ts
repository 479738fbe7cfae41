// Validates an answer against the generated OpenAPI document with Ajv (JSON Schema 2020-12): the
// operation's response for the status (or `default` for an error), its media type, and for JSON the
// body. Each schema is compiled the first time an answer needs it, then reused.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiPath } from '../../lib/openapi/document.js';

type Json = Record<string, any>;

let loaded: { doc: Json; ajv: Ajv2020 } | undefined;
const compiled = new Map<string, ValidateFunction | undefined>();

/**
 * The document the global setup wrote, or undefined outside a vitest worker: a process a test forks
 * (tests/helpers/db-load-child.ts) calls the API without the runner's state, and checks no document.
 */
let vitest: typeof import('vitest') | undefined;
try {
  vitest = await import('vitest');
} catch {
  vitest = undefined;
}
function documentFile(): string | undefined {
  try {
    return vitest?.inject('openapiFile');
  } catch {
    return undefined;
  }
}

function load() {
  if (!loaded) {
    const doc = JSON.parse(readFileSync(documentFile()!, 'utf8')) as Json;
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    ajv.addSchema(doc, 'openapi.json');
    loaded = { doc, ajv };
  }
  return loaded;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
const mediaOf = (contentType: string | null) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

/** What is wrong with an answer according to the document ([] when it conforms). */
export function documentProblems(method: string, pattern: string, status: number, contentType: string | null, text: string): string[] {
  if (!loaded && !documentFile()) return [];
  const { doc, ajv } = load();
  const path = openApiPath(pattern);
  const operation = doc.paths?.[path]?.[method.toLowerCase()] as Json | undefined;
  if (!operation) return [`${method} ${path} is not in the OpenAPI document`];
  const key = String(status) in operation.responses ? String(status) : status >= 400 ? 'default' : undefined;
  if (!key) return [`status ${status} is not among the document's responses (${Object.keys(operation.responses).join(', ')})`];
  let response = operation.responses[key] as Json;
  if (response.$ref) response = doc.components.responses[String(response.$ref).split('/').pop()!];
  const content = response.content as Json | undefined;
  if (!content) return text.length === 0 ? [] : [`status ${status} has no body in the document, but the answer has one`];
  const media = mediaOf(contentType);
  const declared = content[media] ? media : content['*/*'] ? '*/*' : undefined;
  if (!declared) {
    if (text.length === 0 && status >= 400) return [];
    return [`${media || 'an untyped body'} is not among the document's media types for ${status} (${Object.keys(content).join(', ')})`];
  }
  if (declared !== 'application/json') return [];
  const ref = `openapi.json#/${pointer('paths', path, method.toLowerCase(), 'responses', key)}`;
  const target = response === operation.responses[key] ? `${ref}/content/application~1json/schema` : 'openapi.json#/components/schemas/Error';
  if (!compiled.has(target)) compiled.set(target, ajv.getSchema(target));
  const validate = compiled.get(target);
  if (!validate) return [`no schema at ${target}`];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [`the ${status} answer is not valid JSON`];
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `openapi: ${e.instancePath || '(body)'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}
