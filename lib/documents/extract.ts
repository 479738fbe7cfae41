// Text out of a file, per page: a PDF's own text layer with pdfjs-dist (legacy build, which runs on
// Node.js); a page without one (a scan) rasterised at 300 dpi with @napi-rs/canvas and recognised by
// OCR (./ocr.ts); an image recognised directly. Heavy: only the reading job loads it (lib/documents/
// jobs.ts, in its own function), never a route or another job.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
// Main-thread "worker": pdfjs runs its parser in this process (no worker thread to start or trace).
import * as pdfWorker from 'pdfjs-dist/legacy/build/pdf.worker.mjs';
import { getDocument, type PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PageText } from './types.js';
import { ocrSession, type OcrSession } from './ocr.js';

(globalThis as { pdfjsWorker?: unknown }).pdfjsWorker = pdfWorker;

const require = createRequire(import.meta.url);
const pdfjsRoot = dirname(require.resolve('pdfjs-dist/package.json'));
/** Fonts for PDFs that use the standard 14 without embedding them, and JPEG 2000 decoding: read from disk. */
const standardFontDataUrl = `${join(pdfjsRoot, 'standard_fonts')}/`;
const wasmUrl = `${join(pdfjsRoot, 'wasm')}/`;

/** A page whose text layer has fewer visible characters than this is treated as a scan. */
const MIN_TEXT_CHARS = 20;
/** Rasterising resolution for OCR (tesseract reads best at 300 dpi). */
export const OCR_DPI = 300;
/** Pages read per document (a 300-page manifest is not read whole). */
export const MAX_PAGES = 30;

export interface Extraction {
  pages: PageText[];
  method: 'text' | 'ocr' | 'mixed';
}

export const isPdf = (contentType: string, bytes: Uint8Array) =>
  contentType === 'application/pdf' || (bytes[0] === 0x25 && bytes[1] === 0x50 && bytes[2] === 0x44 && bytes[3] === 0x46);

export const isReadableImage = (contentType: string) => /^image\/(?:png|jpe?g|pjpeg|tiff|bmp|webp|gif)$/.test(contentType);

interface TextItem {
  str: string;
  transform: number[];
  width: number;
  height: number;
  hasEOL?: boolean;
}

/**
 * A page's text as lines, top to bottom: items on one baseline joined left to right, a wide gap kept
 * as three spaces (a column break the field rules rely on), a small one as one space.
 */
export function layoutLines(items: readonly TextItem[]): string {
  const rows: { y: number; items: TextItem[] }[] = [];
  for (const item of items) {
    // pdfjs stands a whitespace item in for a wide gap; the gap is measured from the real items instead.
    if (!item.str.trim()) continue;
    const y = item.transform[5]!;
    const size = Math.abs(item.transform[3]!) || item.height || 10;
    let row = rows.find((r) => Math.abs(r.y - y) < size * 0.4);
    if (!row) rows.push((row = { y, items: [] }));
    row.items.push(item);
  }
  rows.sort((a, b) => b.y - a.y);
  return rows
    .map((row) => {
      row.items.sort((a, b) => a.transform[4]! - b.transform[4]!);
      let line = '';
      let end: number | null = null;
      for (const item of row.items) {
        const x = item.transform[4]!;
        const size = Math.abs(item.transform[3]!) || 10;
        if (end !== null) {
          const gap = x - end;
          if (gap > size * 1.5) line += '   ';
          else if (gap > size * 0.15 && !line.endsWith(' ') && !item.str.startsWith(' ')) line += ' ';
        }
        line += item.str;
        end = x + item.width;
      }
      return line.trimEnd();
    })
    .filter((l) => l.trim())
    .join('\n');
}

const visibleChars = (s: string) => s.replace(/\s/g, '').length;

/** Renders one PDF page to a PNG at `dpi` (the OCR input; also what the tests' scans are made of). */
export async function renderPage(page: PDFPageProxy, dpi = OCR_DPI): Promise<Buffer> {
  const viewport = page.getViewport({ scale: dpi / 72 });
  const canvas = createCanvas(Math.ceil(viewport.width), Math.ceil(viewport.height));
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  await page.render({ canvas: canvas as never, canvasContext: context as never, viewport }).promise;
  return canvas.encode('png');
}

/** Opens a PDF with pdfjs (fonts and decoders from disk, nothing fetched). */
export function openPdf(bytes: Uint8Array) {
  return getDocument({
    data: new Uint8Array(bytes),
    standardFontDataUrl,
    wasmUrl,
    useSystemFonts: false,
    isEvalSupported: false,
    verbosity: 0,
  }).promise;
}

/**
 * The text of a PDF or an image, per page. A PDF page with a text layer is read from it; one without
 * is rasterised and OCR'd (one tesseract worker for the whole document, ended before returning).
 */
export async function extractText(bytes: Uint8Array, contentType: string, options: { ocr?: () => Promise<OcrSession> } = {}): Promise<Extraction> {
  const openOcr = options.ocr ?? ocrSession;
  let ocr: OcrSession | undefined;
  try {
    if (!isPdf(contentType, bytes)) {
      if (!isReadableImage(contentType)) throw new UnreadableDocumentError(`${contentType} files are not read (PDFs and images are)`);
      ocr = await openOcr();
      const result = await ocr.recognize(Buffer.from(bytes));
      return { pages: [{ page: 1, text: result.text, method: 'ocr', confidence: result.confidence }], method: 'ocr' };
    }
    let pdf;
    try {
      pdf = await openPdf(bytes);
    } catch (error) {
      throw new UnreadableDocumentError(`not a readable PDF: ${(error as Error).message}`);
    }
    try {
      const pages: PageText[] = [];
      for (let n = 1; n <= Math.min(pdf.numPages, MAX_PAGES); n++) {
        const page = await pdf.getPage(n);
        const content = await page.getTextContent();
        const text = layoutLines(content.items as TextItem[]);
        if (visibleChars(text) >= MIN_TEXT_CHARS) {
          pages.push({ page: n, text, method: 'text', confidence: null });
        } else {
          ocr ??= await openOcr();
          const result = await ocr.recognize(await renderPage(page), OCR_DPI);
          pages.push({ page: n, text: result.text, method: 'ocr', confidence: result.confidence });
        }
        page.cleanup();
      }
      const methods = new Set(pages.map((p) => p.method));
      return { pages, method: methods.size > 1 ? 'mixed' : methods.has('ocr') ? 'ocr' : 'text' };
    } finally {
      await pdf.destroy();
    }
  } finally {
    await ocr?.close();
  }
}

/** A file that can never be read (no retry helps). */
export class UnreadableDocumentError extends Error {
  override name = 'UnreadableDocumentError';
}
