// Scores an analyser against a labelled set (tests/fixtures/analysis): accuracy per field, identifier
// exact matches, false positives and misses, and confusion matrices. Used by `npm run eval` and the
// accuracy-floor test.
import * as z from 'zod';
import { INTENTS, SENTIMENTS, type AnalysisResult, type Intent, type Sentiment } from './schema.js';

const identifierLists = z.object({
  containers: z.array(z.string()),
  awbs: z.array(z.string()),
  bls: z.array(z.string()),
  bookings: z.array(z.string()),
});

export const labelledItem = z.object({
  id: z.string(),
  subject: z.string(),
  body: z.string(),
  from: z.string(),
  intent: z.enum(INTENTS),
  sentiment: z.enum(SENTIMENTS),
  identifiers: identifierLists,
});
export const labelledSet = z.array(labelledItem);
export type LabelledItem = z.infer<typeof labelledItem>;

const KINDS = ['containers', 'awbs', 'bls', 'bookings'] as const;

export interface Confusion<L extends string> {
  labels: readonly L[];
  /** counts[expected][predicted] */
  counts: Record<L, Record<L, number>>;
}

export interface IdentifierError {
  id: string;
  kind: (typeof KINDS)[number];
  value: string;
}

export interface ItemOutcome {
  id: string;
  expected: { intent: Intent; sentiment: Sentiment };
  predicted: { intent: Intent; sentiment: Sentiment };
}

export interface Evaluation {
  total: number;
  intentAccuracy: number;
  sentimentAccuracy: number;
  /** Share of items whose four identifier lists equal the labels exactly (as sets). */
  identifierExactRate: number;
  falsePositives: IdentifierError[];
  misses: IdentifierError[];
  intentConfusion: Confusion<Intent>;
  sentimentConfusion: Confusion<Sentiment>;
  items: ItemOutcome[];
}

function emptyConfusion<L extends string>(labels: readonly L[]): Confusion<L> {
  const counts = {} as Record<L, Record<L, number>>;
  for (const e of labels) {
    counts[e] = {} as Record<L, number>;
    for (const p of labels) counts[e][p] = 0;
  }
  return { labels, counts };
}

export async function evaluate(
  items: LabelledItem[],
  analyse: (item: LabelledItem) => Promise<AnalysisResult> | AnalysisResult,
  options: { concurrency?: number } = {},
): Promise<Evaluation> {
  const results: AnalysisResult[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await analyse(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));

  const intentConfusion = emptyConfusion(INTENTS);
  const sentimentConfusion = emptyConfusion(SENTIMENTS);
  const falsePositives: IdentifierError[] = [];
  const misses: IdentifierError[] = [];
  const outcomes: ItemOutcome[] = [];
  let intentHits = 0;
  let sentimentHits = 0;
  let exact = 0;
  items.forEach((item, i) => {
    const r = results[i]!;
    intentConfusion.counts[item.intent][r.intent]++;
    sentimentConfusion.counts[item.sentiment][r.sentiment]++;
    if (r.intent === item.intent) intentHits++;
    if (r.sentiment === item.sentiment) sentimentHits++;
    let same = true;
    for (const kind of KINDS) {
      const want = new Set(item.identifiers[kind]);
      const got = new Set(r.entities[kind]);
      for (const v of got) {
        if (want.has(v)) continue;
        same = false;
        falsePositives.push({ id: item.id, kind, value: v });
      }
      for (const v of want) {
        if (got.has(v)) continue;
        same = false;
        misses.push({ id: item.id, kind, value: v });
      }
    }
    if (same) exact++;
    outcomes.push({ id: item.id, expected: { intent: item.intent, sentiment: item.sentiment }, predicted: { intent: r.intent, sentiment: r.sentiment } });
  });
  const n = items.length || 1;
  return {
    total: items.length,
    intentAccuracy: intentHits / n,
    sentimentAccuracy: sentimentHits / n,
    identifierExactRate: exact / n,
    falsePositives,
    misses,
    intentConfusion,
    sentimentConfusion,
    items: outcomes,
  };
}

/** A confusion matrix as fixed-width text: rows are the labels, columns the predictions. */
export function formatConfusion<L extends string>(c: Confusion<L>, abbreviate: (label: L) => string = (l) => l): string {
  const used = c.labels.filter((l) => c.labels.some((o) => c.counts[l][o] > 0 || c.counts[o][l] > 0));
  const width = Math.max(...used.map((l) => l.length), 'expected \\ predicted'.length);
  const heads = used.map(abbreviate);
  const col = Math.max(4, ...heads.map((h) => h.length));
  const lines = [`${'expected \\ predicted'.padEnd(width)} ${heads.map((h) => h.padStart(col)).join(' ')}`];
  for (const e of used) {
    lines.push(`${e.padEnd(width)} ${used.map((p) => String(c.counts[e][p] || '.').padStart(col)).join(' ')}`);
  }
  return lines.join('\n');
}

/** The off-diagonal cells, largest first: "expected -> predicted (n)". */
export function mainConfusions<L extends string>(c: Confusion<L>, limit = 5): string[] {
  const cells: Array<[L, L, number]> = [];
  for (const e of c.labels) for (const p of c.labels) if (e !== p && c.counts[e][p] > 0) cells.push([e, p, c.counts[e][p]]);
  return cells
    .sort((a, b) => b[2] - a[2])
    .slice(0, limit)
    .map(([e, p, n]) => `${e} -> ${p} (${n})`);
}
