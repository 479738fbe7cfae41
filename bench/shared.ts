// Small helpers shared by the benchmarks: percentiles, medians, tables, result files.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));
export const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));

/** Exact percentile (nearest rank) of a list of numbers. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export interface LatencySummary {
  count: number;
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

export function summarize(latencies: number[], seconds: number): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const arr = Array.from(sorted);
  const sum = arr.reduce((a, b) => a + b, 0);
  return {
    count: arr.length,
    seconds: round(seconds, 2),
    rps: round(arr.length / seconds, 1),
    p50: round(percentile(arr, 50), 2),
    p95: round(percentile(arr, 95), 2),
    p99: round(percentile(arr, 99), 2),
    mean: round(arr.length ? sum / arr.length : Number.NaN, 2),
    max: round(arr.length ? arr[arr.length - 1]! : Number.NaN, 2),
  };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export const fmt = (n: number | undefined, digits = 1) =>
  n === undefined || Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** A plain text table: the first row is the header; numbers are right-aligned. */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[], isHeader: boolean) =>
    r
      .map((c, i) => {
        const numeric = !isHeader && i > 0 && /^[-+]?[\d,.]+( ?[%a-zA-Z]*)?( [✓✗])?$|^-$/.test(c);
        return numeric ? c.padStart(widths[i]!) : c.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  const out = [line(cells[0]!, true), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of cells.slice(1)) out.push(line(r, false));
  return out.join('\n');
}

export const mark = (ok: boolean) => (ok ? '✓' : '✗');

export function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** Writes JSON under bench/results/ and returns the path. */
export function writeResult(name: string, data: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = `${resultsDir}${name}`;
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux): with 2 cores shared by the database, the API and the load
// generator, CPU milliseconds per request say more than wall-clock figures alone.
// ------------------------------------------------------------------------------------------------
const TICK_MS = 10; // USER_HZ is 100 on Linux

/** user + system CPU of one process in ms, or undefined without /proc. */
export function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/**
 * user + system CPU per PostgreSQL process: the given backend pids (the connections of the run,
 * from pg_stat_activity), or every process named `postgres` when none are given.
 */
export function postgresCpu(pids?: number[]): Map<number, number> | undefined {
  const out = new Map<number, number>();
  let candidates: number[];
  if (pids) candidates = pids;
  else {
    try {
      candidates = readdirSync('/proc')
        .filter((e) => /^\d+$/.test(e))
        .map(Number);
    } catch {
      return undefined;
    }
  }
  for (const pid of candidates) {
    try {
      if (!pids && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      const ms = procCpuMs(pid);
      if (ms !== undefined) out.set(pid, ms);
    } catch {
      // exited meanwhile
    }
  }
  return out.size > 0 ? out : undefined;
}

export interface CpuSample {
  at: number;
  self: number;
  api?: number;
  db?: Map<number, number>;
}

/** A CPU snapshot: this process, the API process (pid) and the database backends (pids, or all postgres processes). */
export function cpuSample(apiPid?: number, db: boolean | number[] = true): CpuSample {
  const u = process.cpuUsage();
  return {
    at: performance.now(),
    self: (u.user + u.system) / 1000,
    api: apiPid ? procCpuMs(apiPid) : undefined,
    db: db === false ? undefined : postgresCpu(db === true ? undefined : db),
  };
}

/** CPU used between two snapshots by processes present in the second (new ones count from zero). */
function dbDelta(a?: Map<number, number>, b?: Map<number, number>): number | undefined {
  if (!a || !b) return undefined;
  let total = 0;
  for (const [pid, ms] of b) total += ms - (a.get(pid) ?? 0);
  return total;
}

export interface CpuUse {
  /** CPU ms per request in the API process, the database server and the load generator. */
  apiMsPerReq?: number;
  dbMsPerReq?: number;
  clientMsPerReq: number;
  /** Average cores busy during the run. */
  apiCores?: number;
  dbCores?: number;
  clientCores: number;
}

export function cpuUse(a: CpuSample, b: CpuSample, requests: number): CpuUse {
  const wall = b.at - a.at;
  const per = (ms?: number) => (ms === undefined || requests === 0 ? undefined : round(ms / requests, 3));
  const cores = (ms?: number) => (ms === undefined ? undefined : round(ms / wall, 2));
  const api = a.api === undefined || b.api === undefined ? undefined : b.api - a.api;
  const db = dbDelta(a.db, b.db);
  const self = b.self - a.self;
  return {
    apiMsPerReq: per(api),
    dbMsPerReq: per(db),
    clientMsPerReq: per(self)!,
    apiCores: cores(api),
    dbCores: cores(db),
    clientCores: cores(self)!,
  };
}

/** The 1-minute load average, or undefined. */
export function loadAverage(): number | undefined {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** The PostgreSQL server the benches create their databases on (BENCH_DATABASE_URL). */
export const BENCH_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A bench's database name: from `envVar`, else `fallback`; a plain identifier, since it goes into DDL. */
export function benchDatabaseName(envVar: string, fallback: string): string {
  const name = process.env[envVar] ?? fallback;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`${envVar} must be a plain lower-case identifier`);
  return name;
}

/** Drops and creates the database `name` on the bench server; its URL. */
export async function freshDatabase(name: string): Promise<URL> {
  const { default: postgres } = await import('postgres');
  const admin = postgres(BENCH_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(BENCH_ADMIN_URL);
  url.pathname = `/${name}`;
  return url;
}

/** The gated targets of a bench: `gate` records a miss and answers the table's mark. */
export function gates() {
  const failures: string[] = [];
  const gate = (ok: boolean, what: string) => {
    if (!ok) failures.push(what);
    return mark(ok);
  };
  return { failures, gate };
}
