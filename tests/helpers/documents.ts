// Documents the tests make themselves: text PDFs written with pdf-lib, a scan (a text PDF rasterised by
// the reader's own renderer and put back as an image-only PDF), and a skewed, noisy photo of a page
// drawn with @napi-rs/canvas. Container numbers are random with a valid ISO 6346 check digit.
import { randomInt } from 'node:crypto';
import { createCanvas } from '@napi-rs/canvas';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { openPdf, renderPage } from '../../lib/documents/extract.js';
import { containerCheckDigit } from '../../lib/logistics/identifiers.js';

/** A random container number whose check digit holds (owner code TGHU). */
export function containerNumber(owner = 'TGHU'): string {
  for (;;) {
    const serial = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const digit = containerCheckDigit(`${owner}${serial}`);
    if (digit !== null && digit < 10) return `${owner}${serial}${digit}`;
  }
}

/** One line of text at (x, y) from the top-left, in points; `size` 11 by default. */
export interface Text {
  text: string;
  x: number;
  y: number;
  size?: number;
  bold?: boolean;
}

/** A text PDF of A4 pages, each a list of positioned lines. */
export async function textPdf(pages: Text[][]): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const regular = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  for (const lines of pages) {
    const page = doc.addPage([595.28, 841.89]);
    for (const l of lines) page.drawText(l.text, { x: l.x, y: 841.89 - l.y, size: l.size ?? 11, font: l.bold ? bold : regular });
  }
  return Buffer.from(await doc.save());
}

/** Lines one under the other from (x, y), `gap` points apart. */
export const column = (x: number, y: number, texts: string[], gap = 20, size = 11): Text[] => texts.map((text, i) => ({ text, x, y: y + i * gap, size }));

/** The same pages with no text layer: each rendered at 150 dpi and embedded as an image. */
export async function scannedCopy(pdfBytes: Uint8Array, dpi = 150): Promise<Buffer> {
  const source = await openPdf(pdfBytes);
  const out = await PDFDocument.create();
  for (let n = 1; n <= source.numPages; n++) {
    const png = await renderPage(await source.getPage(n), dpi);
    const image = await out.embedPng(png);
    out.addPage([595.28, 841.89]).drawImage(image, { x: 0, y: 0, width: 595.28, height: 841.89 });
  }
  await source.destroy();
  return Buffer.from(await out.save());
}

/** A phone photo of a page: off-white, rotated by `degrees`, speckled with noise, as JPEG. */
export function photo(lines: string[], options: { degrees?: number; seed?: number } = {}): Buffer {
  const width = 1600;
  const height = 200 + lines.length * 70;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#e9e6df';
  ctx.fillRect(0, 0, width, height);
  ctx.save();
  ctx.translate(width / 2, height / 2);
  ctx.rotate(((options.degrees ?? 2.5) * Math.PI) / 180);
  ctx.translate(-width / 2, -height / 2);
  ctx.fillStyle = '#fbfaf7';
  ctx.fillRect(60, 50, width - 120, height - 100);
  ctx.fillStyle = '#1d1d1f';
  ctx.font = '40px sans-serif';
  lines.forEach((l, i) => ctx.fillText(l, 110, 140 + i * 70));
  ctx.restore();
  // Sensor noise: deterministic speckles.
  let s = options.seed ?? 7;
  const rand = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 9000; i++) {
    const g = Math.floor(90 + rand() * 120);
    ctx.fillStyle = `rgba(${g},${g},${g},0.55)`;
    ctx.fillRect(rand() * width, rand() * height, 2, 2);
  }
  return canvas.encodeSync('jpeg', 85);
}
