// Scores an analyser against a labelled set (tests/fixtures/analysis): accuracy, balanced accuracy and
// per-class recall and precision for intent and sentiment, identifier exact matches, false positives
// and misses, and confusion matrices; and the sentiment recall gate `npm run eval` enforces on the
// holdout. Used by `npm run eval` and the accuracy-floor test.
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

/** An item labelled for sentiment only (holdout-sentiment.json). */
export const sentimentItem = z.strictObject({
  id: z.string(),
  subject: z.string(),
  body: z.string(),
  from: z.string(),
  sentiment: z.enum(SENTIMENTS),
});
export const sentimentSet = z.array(sentimentItem);
export type SentimentItem = z.infer<typeof sentimentItem>;

const KINDS = ['containers', 'awbs', 'bls', 'bookings'] as const;

export interface Confusion<L extends string> {
  labels: readonly L[];
  /** counts[expected][predicted] */
  counts: Record<L, Record<L, number>>;
}

/** One class's figures; recall is null when the labels hold no item of the class, precision when nothing was predicted as it. */
export interface ClassFigures {
  /** Items labelled with the class. */
  support: number;
  /** Items predicted as the class. */
  predicted: number;
  recall: number | null;
  precision: number | null;
}

export interface ClassMetrics<L extends string> {
  total: number;
  accuracy: number;
  /** The mean of the per-class recalls, over the classes the labels hold. */
  balancedAccuracy: number;
  perClass: Record<L, ClassFigures>;
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
  intentMetrics: ClassMetrics<Intent>;
  sentimentMetrics: ClassMetrics<Sentiment>;
  items: ItemOutcome[];
}

export interface SentimentEvaluation {
  total: number;
  sentimentConfusion: Confusion<Sentiment>;
  sentimentMetrics: ClassMetrics<Sentiment>;
  items: Array<{ id: string; expected: Sentiment; predicted: Sentiment }>;
}

function emptyConfusion<L extends string>(labels: readonly L[]): Confusion<L> {
  const counts = {} as Record<L, Record<L, number>>;
  for (const e of labels) {
    counts[e] = {} as Record<L, number>;
    for (const p of labels) counts[e][p] = 0;
  }
  return { labels, counts };
}

/** Accuracy, balanced accuracy and per-class recall and precision, read off a confusion matrix. */
export function classMetrics<L extends string>(c: Confusion<L>): ClassMetrics<L> {
  const perClass = {} as Record<L, ClassFigures>;
  let total = 0;
  let hits = 0;
  for (const label of c.labels) {
    const support = c.labels.reduce((sum, p) => sum + c.counts[label][p], 0);
    const predicted = c.labels.reduce((sum, e) => sum + c.counts[e][label], 0);
    const right = c.counts[label][label];
    perClass[label] = { support, predicted, recall: support ? right / support : null, precision: predicted ? right / predicted : null };
    total += support;
    hits += right;
  }
  const recalls = c.labels.map((l) => perClass[l].recall).filter((r): r is number => r !== null);
  return {
    total,
    accuracy: total ? hits / total : 0,
    balancedAccuracy: recalls.length ? recalls.reduce((a, b) => a + b, 0) / recalls.length : 0,
    perClass,
  };
}

/** The cell-by-cell sum of confusion matrices over the same labels (parts pooled into one). */
export function addConfusions<L extends string>(labels: readonly L[], parts: Confusion<L>[]): Confusion<L> {
  const sum = emptyConfusion(labels);
  for (const part of parts) for (const e of labels) for (const p of labels) sum.counts[e][p] += part.counts[e]?.[p] ?? 0;
  return sum;
}

/** The lowest recall of positive and of negative sentiment `npm run eval` accepts from the offline analyser on the holdout. */
export const SENTIMENT_RECALL_FLOOR = 0.75;

/** The sentiment gate: one line per class whose recall is under the floor (or unmeasurable), empty when it passes. */
export function sentimentGateFailures(m: ClassMetrics<Sentiment>, floor = SENTIMENT_RECALL_FLOOR): string[] {
  const failures: string[] = [];
  for (const label of ['positive', 'negative'] as const) {
    const { recall, support } = m.perClass[label];
    if (recall === null) failures.push(`${label} sentiment recall cannot be measured: no ${label} item in the set`);
    else if (recall < floor) failures.push(`${label} sentiment recall ${recall.toFixed(3)} < ${floor} (${Math.round(recall * support)}/${support})`);
  }
  return failures;
}

/** Runs `analyse` over the items, `concurrency` at a time, keeping their order. */
async function runAll<I, R>(items: I[], analyse: (item: I) => Promise<R> | R, concurrency = 1): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await analyse(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return results;
}

/** Scores sentiment alone, on items labelled for sentiment only. */
export async function evaluateSentiment(
  items: SentimentItem[],
  analyse: (item: SentimentItem) => Promise<AnalysisResult> | AnalysisResult,
  options: { concurrency?: number } = {},
): Promise<SentimentEvaluation> {
  const results = await runAll(items, analyse, options.concurrency);
  const sentimentConfusion = emptyConfusion(SENTIMENTS);
  const outcomes = items.map((item, i) => {
    const predicted = results[i]!.sentiment;
    sentimentConfusion.counts[item.sentiment][predicted]++;
    return { id: item.id, expected: item.sentiment, predicted };
  });
  return { total: items.length, sentimentConfusion, sentimentMetrics: classMetrics(sentimentConfusion), items: outcomes };
}

export async function evaluate(
  items: LabelledItem[],
  analyse: (item: LabelledItem) => Promise<AnalysisResult> | AnalysisResult,
  options: { concurrency?: number } = {},
): Promise<Evaluation> {
  const results = await runAll(items, analyse, options.concurrency);

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
    intentMetrics: classMetrics(intentConfusion),
    sentimentMetrics: classMetrics(sentimentConfusion),
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
