// npm run eval: scores the offline analyser (and the LLM analyser when OPENAI_API_KEY is set) on the
// labelled emails in tests/fixtures/analysis, tuning and holdout parts separately: accuracy, balanced
// accuracy (mean per-class recall) and per-class recall and precision of intent and sentiment,
// identifier exact matches, false positives and misses, and confusion matrices. The holdout part is
// holdout.json plus the sentiment-only holdout-sentiment.json (reported apart and pooled).
//
// Exits 1 when, on the pooled holdout, the offline analyser's positive or negative sentiment recall is
// under SENTIMENT_RECALL_FLOOR (the figures and the failed gate are printed).
//
//   npm run eval                       both parts, offline (+ LLM when configured)
//   npm run eval -- --offline          offline only, even with OPENAI_API_KEY set
//   npm run eval -- --errors           also list the misclassified TUNING items (never holdout items:
//                                      holdout figures are for reporting, not for tuning rules)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analyzeMessage, analyzeOffline } from '../lib/ai/analysis/index.js';
import {
  addConfusions,
  classMetrics,
  evaluate,
  evaluateSentiment,
  formatConfusion,
  labelledSet,
  mainConfusions,
  SENTIMENT_RECALL_FLOOR,
  sentimentGateFailures,
  sentimentSet,
  type ClassMetrics,
  type Confusion,
  type Evaluation,
  type LabelledItem,
  type SentimentEvaluation,
} from '../lib/ai/analysis/evaluate.js';
import { INTENTS, SENTIMENTS, type AnalysisResult, type Sentiment } from '../lib/ai/analysis/schema.js';
import { configuredModel } from '../lib/ai/provider.js';

const args = new Set(process.argv.slice(2));
const PARTS = ['tuning', 'holdout'] as const;
// Labelled items carry no date; relative dates resolve against a fixed day so runs are comparable.
const REFERENCE_DATE = new Date('2026-05-18T09:00:00Z');

const fixture = (name: string): unknown => JSON.parse(readFileSync(fileURLToPath(new URL(`../tests/fixtures/analysis/${name}.json`, import.meta.url)), 'utf8'));
const load = (part: (typeof PARTS)[number]): LabelledItem[] => labelledSet.parse(fixture(part));

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const ABBREVIATIONS: Record<string, string> = {
  quote_request: 'quote',
  booking_request: 'book',
  shipment_status: 'status',
  document_submission: 'docsub',
  document_request: 'docreq',
  invoice_payment: 'invoice',
  complaint: 'compl',
  customs: 'customs',
  schedule_change: 'sched',
  general: 'general',
  positive: 'pos',
  neutral: 'neu',
  negative: 'neg',
};

const ratio = (x: number | null) => (x === null ? '    -  ' : pct(x).padStart(7));

/** Per-class recall and precision with the counts behind them. */
function perClassTable<L extends string>(m: ClassMetrics<L>, labels: readonly L[]): string {
  const width = Math.max(...labels.map((l) => l.length));
  const lines = [`  ${'class'.padEnd(width)}  recall  precision  labelled  predicted`];
  for (const l of labels) {
    const f = m.perClass[l];
    if (!f.support && !f.predicted) continue;
    lines.push(`  ${l.padEnd(width)} ${ratio(f.recall)}  ${ratio(f.precision)}    ${String(f.support).padStart(6)}  ${String(f.predicted).padStart(9)}`);
  }
  return lines.join('\n');
}

function reportSentiment(m: ClassMetrics<Sentiment>, confusion: Confusion<Sentiment>): void {
  console.log(`sentiment accuracy      ${pct(m.accuracy)}`);
  console.log(`sentiment balanced acc. ${pct(m.balancedAccuracy)}`);
  console.log(perClassTable(m, SENTIMENTS));
  console.log('sentiment confusion');
  console.log(formatConfusion(confusion, (l) => ABBREVIATIONS[l] ?? l));
  console.log(`main sentiment confusions: ${mainConfusions(confusion).join(', ') || 'none'}`);
}

function report(name: string, part: string, e: Evaluation): void {
  console.log(`\n=== ${name} analyser, ${part} (${e.total} items) ===`);
  console.log(`intent accuracy         ${pct(e.intentAccuracy)}`);
  console.log(`intent balanced acc.    ${pct(e.intentMetrics.balancedAccuracy)}`);
  console.log(`identifiers exact match ${pct(e.identifierExactRate)}`);
  console.log(`identifier false pos.   ${e.falsePositives.length}`);
  console.log(`identifier misses       ${e.misses.length}`);
  if (part === 'tuning') {
    for (const fp of e.falsePositives) console.log(`  false positive ${fp.id} ${fp.kind} ${fp.value}`);
    for (const m of e.misses) console.log(`  miss ${m.id} ${m.kind} ${m.value}`);
  }
  console.log('\nintent confusion (rows: label, columns: prediction)');
  console.log(formatConfusion(e.intentConfusion, (l) => ABBREVIATIONS[l] ?? l));
  console.log(`main intent confusions: ${mainConfusions(e.intentConfusion).join(', ') || 'none'}`);
  console.log('intent per class');
  console.log(perClassTable(e.intentMetrics, INTENTS));
  console.log('');
  reportSentiment(e.sentimentMetrics, e.sentimentConfusion);
  if (args.has('--errors') && part === 'tuning') {
    console.log('\nmisclassified tuning items');
    for (const item of e.items) {
      const wrong = [];
      if (item.expected.intent !== item.predicted.intent) wrong.push(`intent ${item.expected.intent} -> ${item.predicted.intent}`);
      if (item.expected.sentiment !== item.predicted.sentiment) wrong.push(`sentiment ${item.expected.sentiment} -> ${item.predicted.sentiment}`);
      if (wrong.length) console.log(`  ${item.id}: ${wrong.join('; ')}`);
    }
  }
}

async function main(): Promise<void> {
  const offline = (item: LabelledItem): AnalysisResult => analyzeOffline({ subject: item.subject, body: item.body, from: item.from, date: REFERENCE_DATE });
  const analysers: Array<[string, (item: LabelledItem) => Promise<AnalysisResult> | AnalysisResult, number]> = [['offline', offline, 1]];
  const llm = args.has('--offline') ? null : configuredModel();
  let fallbacks = 0;
  if (llm) {
    analysers.push([
      `LLM (${llm.modelId})`,
      async (item) => {
        const outcome = await analyzeMessage({ subject: item.subject, body: item.body, from: item.from, date: REFERENCE_DATE }, { model: llm });
        if (outcome.source !== 'llm') fallbacks++;
        return outcome.result;
      },
      4,
    ]);
  } else if (!args.has('--offline')) {
    console.log('OPENAI_API_KEY is not set: offline analyser only.');
  }
  const sentimentHoldout = sentimentSet.parse(fixture('holdout-sentiment'));
  const gateFailures: string[] = [];
  for (const [name, analyse, concurrency] of analysers) {
    let holdout: Evaluation | undefined;
    for (const part of PARTS) {
      fallbacks = 0;
      const e = await evaluate(load(part), analyse, { concurrency });
      report(name, part, e);
      if (name !== 'offline' && fallbacks) console.log(`(${fallbacks} items fell back to the offline result)`);
      if (part === 'holdout') holdout = e;
    }
    fallbacks = 0;
    const extra: SentimentEvaluation = await evaluateSentiment(sentimentHoldout, (item) => analyse({ ...item, intent: 'general', identifiers: NO_IDS }), {
      concurrency,
    });
    console.log(`\n=== ${name} analyser, holdout-sentiment (${extra.total} items, sentiment only) ===`);
    reportSentiment(extra.sentimentMetrics, extra.sentimentConfusion);
    if (name !== 'offline' && fallbacks) console.log(`(${fallbacks} items fell back to the offline result)`);

    const pooled = addConfusions(SENTIMENTS, [holdout!.sentimentConfusion, extra.sentimentConfusion]);
    const pooledMetrics = classMetrics(pooled);
    console.log(`\n=== ${name} analyser, holdout pooled: holdout + holdout-sentiment (${pooledMetrics.total} items), sentiment ===`);
    reportSentiment(pooledMetrics, pooled);
    if (name === 'offline') {
      const failures = sentimentGateFailures(pooledMetrics);
      console.log(
        `\ngate (offline, pooled holdout): positive and negative sentiment recall >= ${SENTIMENT_RECALL_FLOOR}: ${failures.length ? 'FAILED' : 'passed'}`,
      );
      for (const f of failures) console.log(`  failed: ${f}`);
      gateFailures.push(...failures);
    }
  }
  if (gateFailures.length) process.exitCode = 1;
}

const NO_IDS = { containers: [], awbs: [], bls: [], bookings: [] };

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
