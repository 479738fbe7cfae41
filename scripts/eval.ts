// npm run eval: scores the offline analyser (and the LLM analyser when OPENAI_API_KEY is set) on the
// labelled emails in tests/fixtures/analysis, tuning and holdout parts separately: accuracy of intent and
// sentiment, identifier exact matches, false positives and misses, and confusion matrices.
//
//   npm run eval                       both parts, offline (+ LLM when configured)
//   npm run eval -- --offline          offline only, even with OPENAI_API_KEY set
//   npm run eval -- --errors           also list the misclassified TUNING items (never holdout items:
//                                      holdout figures are for reporting, not for tuning rules)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analyzeMessage, analyzeOffline } from '../lib/ai/analysis/index.js';
import { evaluate, formatConfusion, labelledSet, mainConfusions, type Evaluation, type LabelledItem } from '../lib/ai/analysis/evaluate.js';
import type { AnalysisResult } from '../lib/ai/analysis/schema.js';
import { configuredModel } from '../lib/ai/provider.js';

const args = new Set(process.argv.slice(2));
const PARTS = ['tuning', 'holdout'] as const;
// Labelled items carry no date; relative dates resolve against a fixed day so runs are comparable.
const REFERENCE_DATE = new Date('2026-05-18T09:00:00Z');

function load(part: (typeof PARTS)[number]): LabelledItem[] {
  const file = fileURLToPath(new URL(`../tests/fixtures/analysis/${part}.json`, import.meta.url));
  return labelledSet.parse(JSON.parse(readFileSync(file, 'utf8')));
}

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

function report(name: string, part: string, e: Evaluation): void {
  console.log(`\n=== ${name} analyser, ${part} (${e.total} items) ===`);
  console.log(`intent accuracy         ${pct(e.intentAccuracy)}`);
  console.log(`sentiment accuracy      ${pct(e.sentimentAccuracy)}`);
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
  console.log('\nsentiment confusion');
  console.log(formatConfusion(e.sentimentConfusion, (l) => ABBREVIATIONS[l] ?? l));
  console.log(`main sentiment confusions: ${mainConfusions(e.sentimentConfusion).join(', ') || 'none'}`);
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
  for (const [name, analyse, concurrency] of analysers) {
    for (const part of PARTS) {
      fallbacks = 0;
      report(name, part, await evaluate(load(part), analyse, { concurrency }));
      if (name !== 'offline' && fallbacks) console.log(`(${fallbacks} items fell back to the offline result)`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
