import { health } from '../lib/health.js';

// GET /api/health – database reachable, migrations current, active adapters (no auth, no secrets)
export async function GET(): Promise<Response> {
  const report = await health();
  return Response.json(report, { status: report.status === 'ok' ? 200 : 503, headers: { 'cache-control': 'no-store' } });
}
