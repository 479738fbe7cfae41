// The one route shape of GET /api/analytics/{name}: the analytics query, the analytics.read permission,
// JSON, or CSV streamed when asked (format=csv, or Accept: text/csv without format=json).
import { alternatives } from '../http/responses.js';
import { route } from '../http/route.js';
import { csvResponse } from './csv.js';
import { analyticsQuery, resolveRange } from './query.js';
import { runReport, type ReportName } from './reports.js';
import { REPORT_WIRES, reportCsv } from './wire.js';

function wantsCsv(format: 'json' | 'csv' | undefined, request: Request): boolean {
  if (format) return format === 'csv';
  return /\btext\/csv\b/i.test(request.headers.get('accept') ?? '');
}

export function analyticsRoute(name: ReportName) {
  return route(
    { action: 'analytics.read', query: analyticsQuery, customPlans: true, responses: { 200: alternatives(REPORT_WIRES[name], reportCsv) } },
    async ({ ctx, query, request }) => {
      const range = await resolveRange(ctx, query);
      const report = await runReport(ctx, name, range);
      if (!wantsCsv(query.format, request)) return report.json;
      const day = (d: Date) => d.toISOString().slice(0, 10);
      return csvResponse(`${name}-${day(range.start)}-${day(range.end)}.csv`, report.table.columns, report.table.rows);
    },
  );
}
