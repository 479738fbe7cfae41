// npm run bench:cold [-- --runs 5]
//
// Each api/**/*.ts bundled the way a Vercel function ships (esbuild: platform node, format esm,
// bundle, target node20, packages bundled, no minification, only Node built-ins external), then per
// bundle: its size, the median time to import it in a fresh Node process with a production-like
// environment, whether importing opened any connection, and whether embedded-only code (PGlite, the
// local job dispatcher, croner) made it in. Beside each, when `npm run build:vercel` has built
// .vercel/output, the size of the function as Vercel built it (its traced files: what is uploaded
// and unpacked on a cold start) and whether an embedded-only package was traced into it. Exits
// non-zero when a CRUD route misses a target, or embedded-only code or an import-time connection
// reaches any function.
//
// Vercel ships a function's files as traced (Node File Trace), not as one file, so a dynamic
// import() loads its module only when that code runs. The bundles are therefore split at dynamic
// imports: "KB at import" counts the entry and the chunks it imports statically (what a cold start
// loads), "KB in all" adds the chunks loaded later by dynamic import (e.g. the HTML sanitiser for a
// reply written in HTML, or @upstash/redis when Upstash is configured, on the first rate-limited call).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { fmt, loadAverage, mark, median, repoRoot, round, table, timestamp, writeResult } from './shared.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
    'require-shim': { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const TARGETS = { bytes: 1_000_000, importMs: 150 };
const CRUD = /^api\/(customers|contacts|threads)\//;
const log = (line: string) => process.stdout.write(`${line}\n`);

// Embedded-only code that must never ship in a function.
const EMBEDDED = [
  { name: 'PGlite', input: /node_modules\/@electric-sql\/pglite/, text: /@electric-sql\/pglite/ },
  { name: 'local-dispatcher', input: /lib\/jobs\/local-dispatcher\.ts$/, text: /local-dispatcher/ },
  { name: 'croner', input: /node_modules\/croner\//, text: /croner/i },
  { name: 'embedded.ts', input: /lib\/db\/embedded\.ts$/, text: /PGLiteSocketServer/ },
  { name: 'dev cron', input: /lib\/dev\/cron\.ts$/, text: /startLocalCron/ },
];

// What `vercel build` wrote (npm run build:vercel); sizes of the built functions come from here.
const OUTPUT_FUNCTIONS = join(repoRoot, '.vercel/output/functions');
const BUILT_EMBEDDED = ['node_modules/@electric-sql', 'lib/db/embedded.js', 'lib/jobs/local-dispatcher.js', 'lib/dev'];

/** Bytes of every file under a directory (symlinks followed, as the deployment holds the files). */
function treeBytes(dir: string): number {
  return readdirSync(dir).reduce((n, name) => {
    const full = join(dir, name);
    const st = lstatSync(full).isSymbolicLink() ? statSync(full) : lstatSync(full);
    return n + (st.isDirectory() ? treeBytes(full) : st.size);
  }, 0);
}

/** The built function of api/x.ts: its size and the embedded-only files traced into it (undefined without a build). */
function builtFunction(rel: string): { bytes: number; embedded: string[] } | undefined {
  const dir = join(OUTPUT_FUNCTIONS, `${rel.replace(/\.ts$/, '')}.func`);
  if (!existsSync(dir)) return undefined;
  return { bytes: treeBytes(dir), embedded: BUILT_EMBEDDED.filter((p) => existsSync(join(dir, p))) };
}

function apiFiles(dir = join(repoRoot, 'api')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return apiFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.startsWith('_') ? [full] : [];
  });
}

/** Groups the input bytes of some outputs by package (node_modules/<pkg>) or by our top-level folder. */
function contributors(meta: Metafile, outputs: string[]): { name: string; bytes: number }[] {
  const by = new Map<string, number>();
  for (const output of outputs) {
    for (const [path, { bytesInOutput }] of Object.entries(meta.outputs[output]?.inputs ?? {})) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const key = m ? m[1]! : path.split('/').slice(0, 2).join('/');
      by.set(key, (by.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...by].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** The entry output and the chunks it imports statically (loaded by importing it), and the rest. */
function splitOutputs(meta: Metafile): { entry: string; atImport: string[]; later: string[] } {
  const all = Object.keys(meta.outputs).filter((o) => o.endsWith('.mjs'));
  const entry = all.find((o) => meta.outputs[o]!.entryPoint)!;
  const atImport = new Set<string>();
  const visit = (o: string) => {
    if (atImport.has(o)) return;
    atImport.add(o);
    for (const i of meta.outputs[o]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(entry);
  return { entry, atImport: [...atImport], later: all.filter((o) => !atImport.has(o)) };
}

/** A TCP listener that accepts and counts connections and never answers: DATABASE_URL points here. */
async function connectionSink(): Promise<{ port: number; count(): number; close(): Promise<void> }> {
  let n = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((s) => {
    n++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    count: () => n,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Run {
  /** Wall-clock time of the import. */
  ms: number;
  /** CPU time of the whole process (all threads) during the import: steadier on a busy machine. */
  cpuMs: number;
  exports: string[];
}

/** Imports the bundle in a fresh Node process; `linger` keeps it alive a while to catch late connects. */
function importOnce(file: string, env: Record<string, string>, linger = 0): Promise<Run> {
  const code = `
    const c = process.cpuUsage();
    const t = performance.now();
    const m = await import(${JSON.stringify(pathToFileURL(file).href)});
    const ms = performance.now() - t;
    const u = process.cpuUsage(c);
    process.stdout.write(JSON.stringify({ ms, cpuMs: (u.user + u.system) / 1000, exports: Object.keys(m) }) + '\\n');
    ${linger > 0 ? `setTimeout(() => process.exit(0), ${linger});` : 'process.exit(0);'}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) {
        const cause =
          err
            .split('\n')
            .find((l) => /Error/.test(l))
            ?.trim() ??
          err.trim().split('\n')[0] ??
          '';
        return reject(new Error(`import failed (exit ${code}): ${cause.slice(0, 300)}`));
      }
      resolve(JSON.parse(line) as Run);
    });
  });
}

interface Bundle {
  file: string;
  /** The entry chunk: what Vercel's handler imports. */
  outfile: string;
  /** Loaded by importing the function (entry and static chunks). */
  bytes: number;
  /** Also the chunks loaded later by dynamic import(). */
  totalBytes: number;
  atImport: string[];
  later: string[];
  buildMs: number;
  text: string;
  meta: Metafile;
  warnings: string[];
  runs: Run[];
  connections: number;
  error?: string;
  /** Built with the createRequire banner. */
  shim: boolean;
  /** require() calls of built-ins the plain bundle contained. */
  dynamicRequires: string[];
}

const kb = (bytes: number) => fmt(bytes / 1000);

async function main() {
  const outDir = mkdtempSync(join(tmpdir(), 'banxway-cold-'));
  // The bundles are removed whatever happens (unless --keep).
  process.on('exit', () => {
    if (!args.keep) rmSync(outDir, { recursive: true, force: true });
  });
  const sink = await connectionSink();
  // Production-like: deployed, every required secret set to a non-default value, a valid database URL
  // whose "server" only counts connection attempts (it accepts and never answers).
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'production',
    APP_ENV: 'production',
    DATABASE_URL: `postgres://banxway:${randomBytes(12).toString('hex')}@127.0.0.1:${sink.port}/banxway`,
    PUBLIC_BASE_URL: 'https://api.banxway.example',
    AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
    AUTH_JWT_ISSUER: 'https://ref.supabase.co/auth/v1',
    JOBS_ADAPTER: 'inline',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    CRON_SECRET: randomBytes(24).toString('hex'),
    STORAGE_SIGNING_SECRET: randomBytes(24).toString('hex'),
    LOG_LEVEL: 'warn',
  };
  const external = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
  const REQUIRE_SHIM = "import { createRequire as __bxCreateRequire } from 'node:module'; const require = __bxCreateRequire(import.meta.url);";
  // Plain esbuild output first; a bundle that still calls require() for built-ins (CommonJS
  // dependencies inside an ESM bundle) throws "Dynamic require of ... is not supported" when that
  // code runs, so it is rebuilt with the usual createRequire banner, and the report says so.
  const bundleOne = async (rel: string): Promise<Bundle> => {
    const plain = await bundleWith(rel, Boolean(args['require-shim']));
    if (plain.error || plain.shim || !/__require\(["'][^"']+["']\)/.test(plain.text)) return plain;
    const shimmed = await bundleWith(rel, true);
    shimmed.dynamicRequires = [...new Set(plain.text.match(/__require\(["'][^"']+["']\)/g) ?? [])];
    return shimmed;
  };
  const bundleWith = async (rel: string, shim: boolean): Promise<Bundle> => {
    const dir = join(outDir, `${shim ? 'shim' : 'plain'}__${rel.replace(/\//g, '__').replace(/\.ts$/, '')}`);
    const t = performance.now();
    let result: Awaited<ReturnType<typeof build>>;
    try {
      result = await build({
        entryPoints: { index: join(repoRoot, rel) },
        outdir: dir,
        outExtension: { '.js': '.mjs' },
        splitting: true,
        absWorkingDir: repoRoot,
        chunkNames: 'chunk-[hash]',
        platform: 'node',
        format: 'esm',
        bundle: true,
        target: 'node20',
        packages: 'bundle',
        minify: false,
        external,
        metafile: true,
        logLevel: 'silent',
        // CommonJS dependencies bundled into ESM that require() built-ins need a require shim, else they
        // throw "Dynamic require of ... is not supported"; the report counts such calls (--require-shim adds it).
        banner: shim ? { js: REQUIRE_SHIM } : undefined,
      });
    } catch (e) {
      // Others may be mid-edit: report the function as unbuildable and go on.
      const message = (e as Error).message.split('\n').slice(0, 2).join(' ');
      return {
        file: rel,
        outfile: '',
        bytes: Number.NaN,
        totalBytes: Number.NaN,
        atImport: [],
        later: [],
        buildMs: 0,
        text: '',
        meta: { inputs: {}, outputs: {} },
        warnings: [],
        runs: [],
        connections: 0,
        error: `build failed: ${message}`,
        shim,
        dynamicRequires: [],
      };
    }
    const meta = result.metafile!;
    const { entry, atImport, later } = splitOutputs(meta);
    const size = (outputs: string[]) => outputs.reduce((n, o) => n + statSync(join(repoRoot, o)).size, 0);
    return {
      file: rel,
      outfile: join(repoRoot, entry),
      bytes: size(atImport),
      totalBytes: size([...atImport, ...later]),
      atImport,
      later,
      buildMs: round(performance.now() - t, 0),
      text: [...atImport, ...later].map((o) => readFileSync(join(repoRoot, o), 'utf8')).join('\n'),
      meta,
      warnings: result.warnings.map((w) => w.text),
      runs: [],
      connections: 0,
      shim,
      dynamicRequires: [],
    };
  };

  const files = apiFiles()
    .sort()
    .map((f) => relative(repoRoot, f).split(sep).join('/'));
  log(
    `Cold start: ${files.length} functions bundled by esbuild (platform node, esm, bundle, node20, packages bundled, not minified,` +
      ` only Node built-ins external, split at dynamic import()); import timed in fresh Node ${process.version} processes, median of ${RUNS}; ${cpus().length} CPUs,` +
      ` load average ${fmt(loadAverage(), 2)}\n`,
  );
  const base: Bundle[] = [];
  for (const f of files) base.push(await bundleOne(f));

  // Rounds over every bundle, so that a burst of load elsewhere on the machine hits all of them alike.
  for (let round_ = 0; round_ < RUNS; round_++) {
    for (const b of base) {
      if (b.error) continue;
      try {
        b.runs.push(await importOnce(b.outfile, env));
      } catch (e) {
        b.error = (e as Error).message;
      }
    }
    process.stdout.write(`  round ${round_ + 1}/${RUNS} done\n`);
  }
  // One more import per base bundle that lingers 300 ms: a connection opened at import time reaches the sink.
  for (const b of base) {
    if (b.error) continue;
    const before = sink.count();
    await importOnce(b.outfile, env, 300).catch(() => undefined);
    b.connections = sink.count() - before;
  }
  await sink.close();

  const stats = (b: Bundle) => {
    const wall = b.runs.map((r) => r.ms);
    const cpu = b.runs.map((r) => r.cpuMs);
    return {
      importMs: wall.length ? round(median(wall), 1) : Number.NaN,
      importCpuMs: cpu.length ? round(median(cpu), 1) : Number.NaN,
      min: Math.min(...wall),
      max: Math.max(...wall),
    };
  };
  const rows = base.map((b) => {
    const inputs = [...b.atImport, ...b.later].flatMap((o) => Object.keys(b.meta.outputs[o]!.inputs));
    const embedded = EMBEDDED.map((e) => ({
      name: e.name,
      inputs: inputs.filter((i) => e.input.test(i)),
      textMatches: (b.text.match(new RegExp(e.text.source, `g${e.text.flags}`)) ?? []).length,
    })).filter((e) => e.inputs.length > 0 || e.textMatches > 0);
    const st = stats(b);
    const crud = CRUD.test(b.file);
    return {
      file: b.file,
      crud,
      bytes: b.bytes,
      totalBytes: b.totalBytes,
      built: builtFunction(b.file),
      chunks: b.atImport.length + b.later.length,
      buildMs: b.buildMs,
      ...st,
      importRuns: b.runs.map((r) => round(r.ms, 1)),
      importCpuRuns: b.runs.map((r) => round(r.cpuMs, 1)),
      exports: b.runs[0]?.exports ?? [],
      connectionsDuringImport: b.connections,
      embedded,
      warnings: b.warnings,
      requireShim: b.shim,
      dynamicRequires: b.dynamicRequires,
      error: b.error,
      top: contributors(b.meta, b.atImport).slice(0, 8),
      loadedLater: contributors(b.meta, b.later).slice(0, 8),
      meetsTargets: crud ? { size: b.bytes <= TARGETS.bytes, import: st.importMs <= TARGETS.importMs } : undefined,
    };
  });

  const header = [
    'function',
    'KB at import',
    'KB in all',
    'built MB',
    'import ms',
    'import CPU ms',
    'min-max ms',
    'connects',
    'embedded-only code',
    'largest parts at import (KB)',
    'loaded later by import() (KB)',
    '<=1 MB',
    '<=150 ms',
  ];
  const body = rows.map((r) => {
    const emb = r.embedded.map((e) => `${e.name}${e.inputs.length ? '' : ` (text only x${e.textMatches})`}`).join(', ');
    const parts = (list: { name: string; bytes: number }[]) =>
      list
        .slice(0, 3)
        .map((t) => `${t.name} ${fmt(t.bytes / 1000, 0)}`)
        .join(', ');
    return [
      `${r.file}${r.crud ? ' *' : ''}${r.requireShim ? ' †' : ''}`,
      kb(r.bytes),
      kb(r.totalBytes),
      r.built ? `${fmt(r.built.bytes / 1e6, 1)}${r.built.embedded.length ? ` (${r.built.embedded.join(', ')})` : ''}` : '-',
      r.error ? 'error' : fmt(r.importMs),
      fmt(r.importCpuMs),
      r.importRuns.length ? `${fmt(r.min)}-${fmt(r.max)}` : '-',
      String(r.connectionsDuringImport),
      emb || 'none',
      parts(r.top),
      parts(r.loadedLater) || '-',
      r.meetsTargets ? mark(r.meetsTargets.size) : '',
      r.meetsTargets ? mark(r.meetsTargets.import) : '',
    ];
  });
  log(
    `\nTargets for the CRUD routes (*: customers, contacts, threads): loaded at import <= 1 MB (1,000,000 bytes), import <= ${TARGETS.importMs} ms (wall, median)`,
  );
  log('Bundles are split at dynamic import(): "KB at import" is what a cold start loads, "KB in all" adds what later import() calls load.');
  log(
    existsSync(OUTPUT_FUNCTIONS)
      ? '"built MB": the function as `vercel build` traced it into .vercel/output (every file it ships, node_modules included).'
      : '"built MB": no .vercel/output; run `npm run build:vercel` first to see the size of each function as Vercel builds it.',
  );
  log('KB = 1,000 bytes. "import CPU ms" = CPU of the whole process (all threads) during the import, steadier than wall time on a busy machine.');
  log('†: CommonJS dependencies require() Node built-ins, so the bundle got a createRequire banner (else it throws when that code runs).\n');
  log(table([header, ...body]));
  const crudRows = rows.filter((r) => r.crud);
  const allOk = crudRows.every((r) => r.meetsTargets!.size && r.meetsTargets!.import);
  const anyEmbedded = rows.filter((r) => r.embedded.some((e) => e.inputs.length > 0));
  const anyConnect = rows.filter((r) => r.connectionsDuringImport > 0);
  const builtEmbedded = rows.filter((r) => r.built?.embedded.length);
  const req = rows.filter((r) => r.dynamicRequires.length);
  const errors = rows.filter((r) => r.error);
  log(
    `\nCRUD routes meeting both targets: ${crudRows.filter((r) => r.meetsTargets!.size && r.meetsTargets!.import).length}/${crudRows.length}${
      allOk
        ? ''
        : ` (not: ${crudRows
            .filter((r) => !(r.meetsTargets!.size && r.meetsTargets!.import))
            .map((r) => r.file)
            .join(', ')})`
    }`,
  );
  log(
    `Embedded-only modules bundled (PGlite, pglite-socket, embedded.ts, local-dispatcher, croner, dev cron; by esbuild metafile inputs): ${
      anyEmbedded.length
        ? anyEmbedded
            .map(
              (r) =>
                `${r.file} (${r.embedded
                  .filter((e) => e.inputs.length)
                  .map((e) => e.name)
                  .join(', ')})`,
            )
            .join('; ')
        : 'none'
    }`,
  );
  log("  (\"text only\": the word occurs only as a string, e.g. config.ts's database kind 'pglite' and PGLITE_DATA_DIR, not as bundled code.)");
  log(
    `Bundles with CommonJS require() of built-ins (rebuilt with a createRequire banner, else they throw when that code runs): ${req.length ? req.map((r) => `${r.file} (${r.dynamicRequires.length} modules)`).join(', ') : 'none'}`,
  );
  log(
    `Connections opened while importing (lingering 300 ms): ${anyConnect.length ? anyConnect.map((r) => `${r.file} (${r.connectionsDuringImport})`).join(', ') : 'none'}`,
  );
  const built = rows.filter((r) => r.built);
  if (built.length) {
    const sizes = built.map((r) => r.built!.bytes);
    log(
      `Built functions (.vercel/output): ${built.length}, ${fmt(Math.min(...sizes) / 1e6, 1)}-${fmt(Math.max(...sizes) / 1e6, 1)} MB each; ` +
        `embedded-only files traced in: ${builtEmbedded.length ? builtEmbedded.map((r) => `${r.file} (${r.built!.embedded.join(', ')})`).join('; ') : 'none'}`,
    );
  }
  if (errors.length) log(`Errors:\n${errors.map((r) => `  ${r.file}: ${r.error}`).join('\n')}`);
  const warned = rows.filter((r) => r.warnings.length);
  if (warned.length) log(`esbuild warnings: ${warned.map((r) => `${r.file}: ${r.warnings.join(' | ')}`).join('; ')}`);

  const json = writeResult(`cold-${timestamp()}.json`, {
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadAverage: loadAverage(),
    runs: RUNS,
    targets: TARGETS,
    esbuild: {
      platform: 'node',
      format: 'esm',
      bundle: true,
      splitting: true,
      target: 'node20',
      packages: 'bundle',
      minify: false,
      external: 'node built-ins',
      requireShim: args['require-shim'] ? 'always' : 'when needed',
    },
    functions: rows,
  });
  log(`\nJSON: ${json}`);
  if (args.keep) log(`bundles kept in ${outDir}`);
  const failed = [
    !allOk && 'a CRUD route misses a target',
    anyEmbedded.length > 0 && 'embedded-only code is bundled',
    builtEmbedded.length > 0 && 'embedded-only files are traced into a built function',
    anyConnect.length > 0 && 'a function connects while importing',
    errors.length > 0 && 'a function failed to build or import',
  ].filter(Boolean);
  if (failed.length) {
    log(`\nFAILED: ${failed.join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
