// npm run bench:cold [-- --runs 5]
//
// Each api/**/*.ts bundled the way a Vercel function ships (esbuild: platform node, format esm,
// bundle, target node20, packages bundled, no minification, only Node built-ins external), then per
// bundle: its size, the median time to import it in a fresh Node process with a production-like
// environment, whether importing opened any connection, and whether embedded-only code (PGlite, the
// local job dispatcher, croner) made it in. Prints figures, never asserts.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Metafile, type Plugin } from 'esbuild';
import { fmt, loadAverage, mark, median, repoRoot, round, table, timestamp, writeResult } from './shared.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
    'require-shim': { type: 'boolean', default: false },
    'no-what-if': { type: 'boolean', default: false },
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

function apiFiles(dir = join(repoRoot, 'api')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return apiFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.startsWith('_') ? [full] : [];
  });
}

/** Groups a bundle's input bytes by package (node_modules/<pkg>) or by our top-level folder. */
function contributors(meta: Metafile, output: string): { name: string; bytes: number }[] {
  const inputs = meta.outputs[output]?.inputs ?? {};
  const by = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const key = m ? m[1]! : path.split('/').slice(0, 2).join('/');
    by.set(key, (by.get(key) ?? 0) + bytesInOutput);
  }
  return [...by].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
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
        const cause = err.split('\n').find((l) => /Error/.test(l))?.trim() ?? err.trim().split('\n')[0] ?? '';
        return reject(new Error(`import failed (exit ${code}): ${cause.slice(0, 300)}`));
      }
      resolve(JSON.parse(line) as Run);
    });
  });
}

/**
 * What-if builds: the same entry points with a source rewrite applied at bundle time (lib/ is not
 * edited), to size a recommended change before anyone makes it.
 */
const WHAT_IF: { name: string; rewrite: (source: string) => string }[] = [
  {
    name: "zod as a namespace import (import * as z from 'zod')",
    rewrite: (src) => src.replace(/import \{ z \} from 'zod';/g, "import * as z from 'zod';"),
  },
  {
    name: "... and libphonenumber-js/min instead of /max",
    rewrite: (src) => src.replace(/import \{ z \} from 'zod';/g, "import * as z from 'zod';").replace(/'libphonenumber-js\/max'/g, "'libphonenumber-js/min'"),
  },
];

function rewritePlugin(rewrite: (source: string) => string): Plugin {
  return {
    name: 'what-if',
    setup(b) {
      b.onLoad({ filter: /\/(lib|api)\/.*\.ts$/ }, (a) => {
        if (a.path.includes('node_modules')) return undefined;
        return { contents: rewrite(readFileSync(a.path, 'utf8')), loader: 'ts' };
      });
    },
  };
}

interface Bundle {
  file: string;
  scenario: string;
  outfile: string;
  bytes: number;
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
  const bundleOne = async (rel: string, scenario: number): Promise<Bundle> => {
    const plain = await bundleWith(rel, scenario, Boolean(args['require-shim']));
    if (plain.error || plain.shim || !/__require\(["'][^"']+["']\)/.test(plain.text)) return plain;
    const shimmed = await bundleWith(rel, scenario, true);
    shimmed.dynamicRequires = [...new Set(plain.text.match(/__require\(["'][^"']+["']\)/g) ?? [])];
    return shimmed;
  };
  const bundleWith = async (rel: string, scenario: number, shim: boolean): Promise<Bundle> => {
    const outfile = join(outDir, `${scenario}__${rel.replace(/\//g, '__').replace(/\.ts$/, '.mjs')}`);
    const t = performance.now();
    let result: Awaited<ReturnType<typeof build>>;
    try {
      result = await build({
      entryPoints: [join(repoRoot, rel)],
      outfile,
      platform: 'node',
      format: 'esm',
      bundle: true,
      target: 'node20',
      packages: 'bundle',
      minify: false,
      external,
      metafile: true,
      logLevel: 'silent',
      plugins: scenario > 0 ? [rewritePlugin(WHAT_IF[scenario - 1]!.rewrite)] : [],
      // CommonJS dependencies bundled into ESM that require() built-ins need a require shim, else they
      // throw "Dynamic require of ... is not supported"; the report counts such calls (--require-shim adds it).
      banner: shim ? { js: REQUIRE_SHIM } : undefined,
      });
    } catch (e) {
      // Others may be mid-edit: report the function as unbuildable and go on.
      const message = (e as Error).message.split('\n').slice(0, 2).join(' ');
      return {
        file: rel, scenario: scenario === 0 ? 'as is' : WHAT_IF[scenario - 1]!.name, outfile, bytes: Number.NaN, buildMs: 0, text: '',
        meta: { inputs: {}, outputs: { [outfile]: { bytes: 0, inputs: {}, imports: [], exports: [], entryPoint: undefined } } } as unknown as Metafile,
        warnings: [], runs: [], connections: 0, error: `build failed: ${message}`, shim, dynamicRequires: [],
      };
    }
    return {
      file: rel, scenario: scenario === 0 ? 'as is' : WHAT_IF[scenario - 1]!.name, outfile, bytes: statSync(outfile).size,
      buildMs: round(performance.now() - t, 0), text: readFileSync(outfile, 'utf8'), meta: result.metafile!,
      warnings: result.warnings.map((w) => w.text), runs: [], connections: 0, shim, dynamicRequires: [],
    };
  };

  const files = apiFiles().sort().map((f) => relative(repoRoot, f).split(sep).join('/'));
  log(`Cold start: ${files.length} functions bundled by esbuild (platform node, esm, bundle, node20, packages bundled, not minified,` +
    ` only Node built-ins external); import timed in fresh Node ${process.version} processes, median of ${RUNS}; ${cpus().length} CPUs,` +
    ` load average ${fmt(loadAverage(), 2)}\n`);
  const base: Bundle[] = [];
  for (const f of files) base.push(await bundleOne(f, 0));
  const variants: Bundle[] = [];
  if (!args['no-what-if']) {
    for (let s = 1; s <= WHAT_IF.length; s++) for (const f of files.filter((x) => CRUD.test(x))) variants.push(await bundleOne(f, s));
  }
  const all = [...base, ...variants];

  // Rounds over every bundle, so that a burst of load elsewhere on the machine hits all of them alike.
  for (let round_ = 0; round_ < RUNS; round_++) {
    for (const b of all) {
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
    return { importMs: wall.length ? round(median(wall), 1) : Number.NaN, importCpuMs: cpu.length ? round(median(cpu), 1) : Number.NaN, min: Math.min(...wall), max: Math.max(...wall) };
  };
  const rows = base.map((b) => {
    const output = Object.keys(b.meta.outputs)[0]!;
    const inputs = Object.keys(b.meta.outputs[output]!.inputs);
    const embedded = EMBEDDED.map((e) => ({
      name: e.name,
      inputs: inputs.filter((i) => e.input.test(i)),
      textMatches: (b.text.match(new RegExp(e.text.source, `g${e.text.flags}`)) ?? []).length,
    })).filter((e) => e.inputs.length > 0 || e.textMatches > 0);
    const st = stats(b);
    const crud = CRUD.test(b.file);
    return {
      file: b.file, crud, bytes: b.bytes, buildMs: b.buildMs, ...st,
      importRuns: b.runs.map((r) => round(r.ms, 1)), importCpuRuns: b.runs.map((r) => round(r.cpuMs, 1)), exports: b.runs[0]?.exports ?? [],
      connectionsDuringImport: b.connections, embedded, warnings: b.warnings,
      requireShim: b.shim, dynamicRequires: b.dynamicRequires, error: b.error,
      top: contributors(b.meta, output).slice(0, 8),
      meetsTargets: crud ? { size: b.bytes <= TARGETS.bytes, import: st.importMs <= TARGETS.importMs } : undefined,
    };
  });

  const header = ['function', 'KB', 'import ms', 'import CPU ms', 'min-max ms', 'connects', 'embedded-only code', 'largest parts (KB)', '<=1 MB', '<=150 ms'];
  const body = rows.map((r) => {
    const emb = r.embedded.map((e) => `${e.name}${e.inputs.length ? '' : ` (text only x${e.textMatches})`}`).join(', ');
    const top = r.top.slice(0, 3).map((t) => `${t.name} ${fmt(t.bytes / 1000, 0)}`).join(', ');
    return [
      `${r.file}${r.crud ? ' *' : ''}${r.requireShim ? ' †' : ''}`, kb(r.bytes), r.error ? 'error' : fmt(r.importMs), fmt(r.importCpuMs),
      r.importRuns.length ? `${fmt(r.min)}-${fmt(r.max)}` : '-', String(r.connectionsDuringImport), emb || 'none', top,
      r.meetsTargets ? mark(r.meetsTargets.size) : '', r.meetsTargets ? mark(r.meetsTargets.import) : '',
    ];
  });
  log(`\nTargets for the CRUD routes (*: customers, contacts, threads): bundle <= 1 MB (1,000,000 bytes), import <= ${TARGETS.importMs} ms (wall, median)`);
  log('KB = 1,000 bytes. "import CPU ms" = CPU of the whole process (all threads) during the import, steadier than wall time on a busy machine.');
  log('†: CommonJS dependencies require() Node built-ins, so the bundle got a createRequire banner (else it throws when that code runs).\n');
  log(table([header, ...body]));
  const crudRows = rows.filter((r) => r.crud);
  const allOk = crudRows.every((r) => r.meetsTargets!.size && r.meetsTargets!.import);
  const anyEmbedded = rows.filter((r) => r.embedded.some((e) => e.inputs.length > 0));
  const anyConnect = rows.filter((r) => r.connectionsDuringImport > 0);
  const req = rows.filter((r) => r.dynamicRequires.length);
  const errors = rows.filter((r) => r.error);
  log(`\nCRUD routes meeting both targets: ${crudRows.filter((r) => r.meetsTargets!.size && r.meetsTargets!.import).length}/${crudRows.length}${allOk ? '' : ' (see the what-if table for what closes the gap)'}`);
  log(`Embedded-only modules bundled (PGlite, pglite-socket, embedded.ts, local-dispatcher, croner, dev cron; by esbuild metafile inputs): ${anyEmbedded.length ? anyEmbedded.map((r) => `${r.file} (${r.embedded.filter((e) => e.inputs.length).map((e) => e.name).join(', ')})`).join('; ') : 'none'}`);
  log('  ("text only": the word occurs only as a string, e.g. config.ts\'s database kind \'pglite\' and PGLITE_DATA_DIR, not as bundled code.)');
  log(`Bundles with CommonJS require() of built-ins (rebuilt with a createRequire banner, else they throw when that code runs): ${req.length ? req.map((r) => `${r.file} (${r.dynamicRequires.length} modules)`).join(', ') : 'none'}`);
  log(`Connections opened while importing (lingering 300 ms): ${anyConnect.length ? anyConnect.map((r) => `${r.file} (${r.connectionsDuringImport})`).join(', ') : 'none'}`);
  if (errors.length) log(`Errors:\n${errors.map((r) => `  ${r.file}: ${r.error}`).join('\n')}`);
  const warned = rows.filter((r) => r.warnings.length);
  if (warned.length) log(`esbuild warnings: ${warned.map((r) => `${r.file}: ${r.warnings.join(' | ')}`).join('; ')}`);

  const whatIf = variants.map((v) => {
    const b = base.find((x) => x.file === v.file)!;
    const st = stats(v);
    const bs = stats(b);
    return { file: v.file, scenario: v.scenario, bytes: v.bytes, ...st, baseBytes: b.bytes, baseImportMs: bs.importMs, baseImportCpuMs: bs.importCpuMs, error: v.error };
  });
  if (whatIf.length) {
    log(`\nWhat-if: the CRUD routes rebuilt with a bundle-time rewrite of lib/ and api/ sources (nothing is edited), measured in the same rounds`);
    const wrows: (string | number)[][] = [['function', 'scenario', 'KB', 'vs now', 'import ms', 'vs now', 'import CPU ms', 'vs now', '<=1 MB', '<=150 ms']];
    for (const w of whatIf) {
      wrows.push([
        w.file, w.scenario, kb(w.bytes), `${fmt(((w.bytes - w.baseBytes) / w.baseBytes) * 100, 0)} %`,
        fmt(w.importMs), fmt(w.importMs - w.baseImportMs), fmt(w.importCpuMs), fmt(w.importCpuMs - w.baseImportCpuMs),
        mark(w.bytes <= TARGETS.bytes), mark(w.importMs <= TARGETS.importMs),
      ]);
    }
    log(table(wrows));
  }

  const json = writeResult(`cold-${timestamp()}.json`, {
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadAverage: loadAverage(),
    runs: RUNS,
    targets: TARGETS,
    esbuild: { platform: 'node', format: 'esm', bundle: true, target: 'node20', packages: 'bundle', minify: false, external: 'node built-ins', requireShim: args['require-shim'] ? 'always' : 'when needed' },
    functions: rows,
    whatIf,
  });
  log(`\nJSON: ${json}`);
  if (args.keep) log(`bundles kept in ${outDir}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
