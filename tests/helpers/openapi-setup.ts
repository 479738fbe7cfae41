// Vitest global setup: generates the OpenAPI document once per run (it imports every route) and hands
// its path to the test files (inject('openapiFile')), whose API helper validates every answer with it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    openapiFile: string;
  }
}

export default async function setup(project: TestProject) {
  process.env.LOG_LEVEL ??= 'silent';
  const { openApiDocument } = await import('../../lib/openapi/index.js');
  const { document } = await openApiDocument();
  const file = join(mkdtempSync(join(tmpdir(), 'banxway-openapi-')), 'openapi.json');
  writeFileSync(file, JSON.stringify(document));
  project.provide('openapiFile', file);
}
