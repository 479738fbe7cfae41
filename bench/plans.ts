// The plan check of `npm run bench`: each inbox view (a filter combination of GET /api/threads) and
// the thread detail go through the real route handlers in this process (the dev server's router), on
// a connection where PostgreSQL's auto_explain (loaded for that session only: nothing changes on the
// server) sends the executed plan of every statement, with its shared buffers, back to the client as
// a notice. So the figures are those of the statements the route really issues, planned the way the
// route really plans them (with or without prepared statements), not of SQL rebuilt by hand.
import postgres from 'postgres';
import type { Sql } from '../lib/db/client.js';
import { useDb } from '../lib/db/client.js';
import { createRouter } from '../lib/dev/router.js';

/** How the API talks to PostgreSQL. */
export interface Mode {
  key: 'production' | 'prepared';
  label: string;
  prepare: boolean;
}

export const MODES: Record<Mode['key'], Mode> = {
  // Supabase's transaction pooler (Supavisor, port 6543), what a deployment uses: no prepared statements.
  production: { key: 'production', label: 'production: prepare false (Supavisor transaction pooler)', prepare: false },
  // A direct or session-mode connection (DATABASE_PREPARE=true, the default off the pooler).
  prepared: { key: 'prepared', label: 'prepared: prepare true (direct connection)', prepare: true },
};

/** One executed statement as auto_explain reported it. */
interface Explained {
  text: string;
  ms: number;
  buffers: number;
  plan: PlanNode;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Function Name'?: string;
  'Actual Total Time'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

export interface PlanFigures {
  /** Shared buffers (hit + read) of all the request's statements. */
  buffers: number;
  /** The main statement (the list, or the detail read): buffers, execution ms, plan outline. */
  mainBuffers: number;
  mainMs: number;
  outline: string;
  statements: number;
}

const AUTO_EXPLAIN = {
  session_preload_libraries: 'auto_explain',
  'auto_explain.log_min_duration': '0',
  'auto_explain.log_analyze': 'on',
  'auto_explain.log_buffers': 'on',
  'auto_explain.log_timing': 'on',
  'auto_explain.log_format': 'json',
  // To the client, not the server log.
  'auto_explain.log_level': 'notice',
};

function parseNotice(message: string): Explained | undefined {
  const at = message.indexOf('{');
  if (!message.startsWith('duration:') || at < 0) return undefined;
  const explained = JSON.parse(message.slice(at)) as { 'Query Text': string; Plan: PlanNode };
  const top = explained.Plan;
  return {
    text: explained['Query Text'],
    ms: top['Actual Total Time'] ?? Number.NaN,
    buffers: (top['Shared Hit Blocks'] ?? 0) + (top['Shared Read Blocks'] ?? 0),
    plan: top,
  };
}

/**
 * The part of a plan that decides its cost: how the endpoint's main table (app.threads for the inbox)
 * is read (which index, bitmap or not) and any sort above it; the per-row joins to customers and
 * thread_reads are left out.
 */
export function outline(node: PlanNode, table = 'threads'): string {
  const own = (n: PlanNode) => {
    const name = n['Index Name'] ?? n['Relation Name'] ?? n['Function Name'];
    return name ? `${n['Node Type']} ${name}` : n['Node Type'];
  };
  const touchesThreads = (n: PlanNode): boolean =>
    n['Relation Name'] === table || n['Function Name'] === table || (n['Index Name'] ?? '').startsWith(`${table}_`) || (n.Plans ?? []).some(touchesThreads);
  const walk = (n: PlanNode): string[] => {
    const children = (n.Plans ?? []).filter(touchesThreads);
    const keep = /Sort|Scan|BitmapAnd|BitmapOr|Aggregate|Hash Join|Merge Join/.test(n['Node Type']) && touchesThreads(n);
    const below = children.length === 1 ? walk(children[0]!) : children.length > 1 ? [`(${children.map((c) => walk(c).join(' < ')).join(', ')})`] : [];
    return keep ? [own(n), ...below] : below;
  };
  return walk(node).join(' < ') || own(node);
}

export interface Check {
  key: string;
  /** Path and query of the request. */
  path: string;
  /** The table whose reading the outline shows (`threads` unless said): its list statement reads `from app.<table> <alias>`. */
  table?: string;
  /** The bearer token when not the run's. */
  token?: string;
}

/**
 * Runs each check `repeat` times through the router on one connection in the given mode and
 * returns the figures of the last run (after PostgreSQL's five custom plans of a prepared statement,
 * its plan cache has made its generic-or-custom choice).
 */
export async function explainChecks(url: string, mode: Mode, token: string, checks: Check[], repeat = 7): Promise<Record<string, PlanFigures>> {
  const target = new URL(url);
  for (const [k, v] of Object.entries(AUTO_EXPLAIN)) target.searchParams.set(k, v);
  let notices: Explained[] = [];
  // As createPool (lib/db/client.ts) makes the API's pool, plus the notices: the route code reads
  // camelCase rows, so the transform must match.
  const sql = postgres(target.toString(), {
    max: 1,
    prepare: mode.prepare,
    onnotice: (n) => {
      const e = parseNotice(String(n.message));
      if (e) notices.push(e);
    },
    transform: { ...postgres.camel, undefined: null },
  }) as unknown as Sql;
  useDb(sql);
  const router = createRouter();
  const out: Record<string, PlanFigures> = {};
  try {
    for (const c of checks) {
      for (let i = 0; i < repeat; i++) {
        notices = [];
        const res = await router.fetch(new Request(`http://bench${c.path}`, { headers: { authorization: `Bearer ${c.token ?? token}` } }));
        const body = await res.text();
        if (res.status !== 200) throw new Error(`${c.path} answered ${res.status}: ${body.slice(0, 300)}`);
      }
      if (notices.length === 0) throw new Error(`${c.path}: auto_explain reported no statement (is it installed?)`);
      // The statement reading the main table; none when the tag or subject filter matched nothing.
      const table = c.table ?? 'threads';
      // A list read from another table first names its main table in a join (shipments by deadline).
      const pattern = table === 'threads' ? /\bfrom app\.threads t\b/ : new RegExp(`\\b(from|cross join) app\\.${table}\\b`);
      const main = notices.find((n) => pattern.test(n.text));
      out[c.key] = {
        buffers: notices.reduce((s, n) => s + n.buffers, 0),
        mainBuffers: main?.buffers ?? 0,
        mainMs: main?.ms ?? 0,
        outline: main ? outline(main.plan, table) : '(no match: no list statement)',
        statements: notices.length,
      };
    }
  } finally {
    await sql.end();
  }
  return out;
}
