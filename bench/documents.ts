// npm run bench:documents [-- --runs 5]
//
// How fast the document.read job reads (what runs in api/jobs/documents/[name].ts, off the request
// path): a 5-page text PDF extracted and classified (gate: at most 1 s, the median of --runs), and one
// A4 page scanned at 300 dpi, rasterised at 300 dpi and OCR'd, tesseract's start included (gate: at
// most 20 s, the median of 3 runs at most). Prints the process's peak memory (the function's, which
// runs the same code) and the load average. Exits 1 on a miss. Nothing is fetched: the OCR engine and
// its English model load from node_modules.
import { parseArgs } from 'node:util';
import { readDocumentBytes } from '../lib/documents/jobs.js';
import { column, containerNumber, scannedCopy, textPdf, type Text } from '../tests/helpers/documents.js';
import { fmt, gates, loadAverage, median, table, timestamp, writeResult } from './shared.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Math.max(1, Number(args.runs));
const TEXT_BUDGET_MS = 1_000;
const OCR_BUDGET_MS = 20_000;

function page(n: number): Text[] {
  const lines = [
    n === 1 ? 'BILL OF LADING' : `Continuation sheet ${n}`,
    `B/L No: MAEU26311452${n}`,
    `Booking No: 91827364${n}`,
    'Shipper',
    'Tata Textiles Ltd, Tiruppur',
    'Consignee',
    'Hamburg Home GmbH',
    'Vessel / Voyage: MSC ANNA / 412W',
    'Port of Loading: Nhava Sheva, India',
    'Port of Discharge: Hamburg, Germany',
    ...Array.from({ length: 8 }, () => `Container No: ${containerNumber()}   Seal No: ML12345${n}   20 CARTONS   2,050.00 KGS`),
    'No. of Packages: 160 CARTONS',
    'Gross Weight: 16,400.00 KGS',
    'Terms of delivery: FOB Nhava Sheva',
    'HS Code: 6109.10',
    'ETA: 15 Jan 2027',
    ...Array.from({ length: 12 }, (_, i) => `Marks and numbers: TTL/HAM/${n}/${i + 1}   Cotton knitted garments, 100% cotton, as per invoice INV-2026-00${i}`),
  ];
  return column(40, 50, lines, 22, 10);
}

const reference = new Date('2026-12-01T00:00:00Z');
const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

const textPdfBytes = await textPdf([1, 2, 3, 4, 5].map(page));
await readDocumentBytes(textPdfBytes, 'application/pdf', reference); // warm-up: module and font loading
const textTimes: number[] = [];
let textType = '';
for (let i = 0; i < RUNS; i++) {
  const t = performance.now();
  const { extraction, reading } = await readDocumentBytes(textPdfBytes, 'application/pdf', reference);
  textTimes.push(performance.now() - t);
  textType = `${reading.type}, ${extraction.pages.length} pages by ${extraction.method}, ${Object.keys(reading.fields).length} fields`;
}
const textPeak = peakMiB();

// A scan: the first page rendered at 300 dpi and put back as an image-only A4 PDF.
const scan = await scannedCopy(await textPdf([page(1)]), 300);
const ocrTimes: number[] = [];
let ocrType = '';
for (let i = 0; i < Math.min(RUNS, 3); i++) {
  const t = performance.now();
  const { extraction, reading } = await readDocumentBytes(scan, 'application/pdf', reference);
  ocrTimes.push(performance.now() - t);
  ocrType = `${reading.type} by ${extraction.method}, confidence ${extraction.pages[0]?.confidence}, ${Object.keys(reading.fields).length} fields`;
}
const ocrPeak = peakMiB();

const { failures, gate } = gates();
const textMs = median(textTimes);
const ocrMs = median(ocrTimes);
console.log(`bench:documents ${timestamp()}  load average ${loadAverage() ?? '?'}  node ${process.version}  runs ${RUNS}`);
console.log(
  table([
    ['case', 'median ms', 'budget ms', 'ok', 'peak RSS MiB', 'read as'],
    ['5-page text PDF, extract + classify', fmt(textMs), TEXT_BUDGET_MS, gate(textMs <= TEXT_BUDGET_MS, '5-page text PDF'), textPeak, textType],
    ['A4 scan, 300 dpi, rasterise + OCR', fmt(ocrMs), OCR_BUDGET_MS, gate(ocrMs <= OCR_BUDGET_MS, 'one A4 page OCR'), ocrPeak, ocrType],
  ]),
);
console.log(`results: ${writeResult('documents', { textMs, textTimes, ocrMs, ocrTimes, textPeakMiB: textPeak, ocrPeakMiB: ocrPeak, load: loadAverage() })}`);
if (failures.length) {
  console.error(`missed: ${failures.join(', ')}`);
  process.exit(1);
}
