// CSV export, streamed: the report's rows are written to the response a chunk at a time as the client
// reads, so a large export never sits in memory as one string (a buffered response over 4.5 MB fails on
// Vercel). RFC 4180: CRLF line ends, fields with a comma, quote or line break quoted.
import type { Cell } from './reports.js';

const ROWS_PER_CHUNK = 500;

export function csvField(value: Cell): string {
  if (value === null) return '';
  const text = String(value);
  // A leading =, +, - or @ would run as a formula in a spreadsheet: prefixed with a quote (OWASP CSV injection).
  const safe = typeof value === 'string' && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A text/csv Response whose body streams the header and rows. */
export function csvResponse(filename: string, columns: string[], rows: readonly Cell[][]): Response {
  const encoder = new TextEncoder();
  let next = -1;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next === -1) {
        controller.enqueue(encoder.encode(columns.map(csvField).join(',') + '\r\n'));
        next = 0;
        return;
      }
      if (next >= rows.length) {
        controller.close();
        return;
      }
      const chunk = rows.slice(next, next + ROWS_PER_CHUNK);
      next += chunk.length;
      controller.enqueue(encoder.encode(chunk.map((r) => r.map(csvField).join(',') + '\r\n').join('')));
    },
  });
  return new Response(body, {
    status: 200,
    headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${filename}"` },
  });
}
