import { health, healthWire } from '../lib/health.js';
import { withResponses } from '../lib/http/responses.js';

// GET /api/health – database reachable, migrations current, active adapters (no auth, no secrets)
export const GET = withResponses(
  async (): Promise<Response> => {
    const report = await health();
    return Response.json(report, { status: report.status === 'ok' ? 200 : 503, headers: { 'cache-control': 'no-store' } });
  },
  { 200: healthWire, 503: healthWire },
  { auth: 'public' },
);
