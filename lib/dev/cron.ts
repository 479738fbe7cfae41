// Fires the vercel.json cron schedule against the dev server, with the cron secret, as Vercel would.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Cron } from 'croner';
import { log } from '../log.js';

interface VercelJson {
  crons?: { path: string; schedule: string }[];
}

export function vercelCrons(): { path: string; schedule: string }[] {
  const file = fileURLToPath(new URL('../../vercel.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as VercelJson).crons ?? [];
}

export function startLocalCron(baseUrl: string, cronSecret: string): { stop(): void } {
  const jobs = vercelCrons().map(
    ({ path, schedule }) =>
      new Cron(schedule, { protect: true, timezone: 'UTC' }, async () => {
        try {
          const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${cronSecret}`, 'user-agent': 'vercel-cron/1.0' } });
          if (!res.ok) log.warn('local cron failed', { path, status: res.status });
        } catch (error) {
          log.warn('local cron failed', { path, error });
        }
      }),
  );
  return { stop: () => jobs.forEach((j) => j.stop()) };
}
