// npm run build:openapi: writes the API contract as static output (Vercel's build command): public/openapi.json,
// the reference page public/docs/index.html and Redoc's standalone bundle beside it. Refuses to write a
// document with problems (a route that declares no responses). `-- --out DIR` writes elsewhere.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCS_HTML, openApiDocument, redocBundlePath, STATIC_FILES } from '../lib/openapi/index.js';

async function main() {
  const at = process.argv.indexOf('--out');
  const out = at > 0 ? process.argv[at + 1]! : fileURLToPath(new URL('../public/', import.meta.url));
  const { document, problems } = await openApiDocument();
  if (problems.length > 0) {
    process.stderr.write(`The OpenAPI document is incomplete:\n  ${problems.join('\n  ')}\n`);
    process.exit(1);
  }
  const write = (file: string, body: string) => {
    mkdirSync(dirname(join(out, file)), { recursive: true });
    writeFileSync(join(out, file), body);
  };
  write(STATIC_FILES['/openapi.json'].file, `${JSON.stringify(document)}\n`);
  write(STATIC_FILES['/docs/index.html'].file, DOCS_HTML);
  copyFileSync(redocBundlePath(), join(out, STATIC_FILES['/docs/redoc.standalone.js'].file));
  const paths = Object.keys(document.paths as object).length;
  process.stdout.write(`wrote ${out}openapi.json (${paths} paths) and the reference page under ${out}docs/\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
