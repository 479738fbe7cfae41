// The dev server's HTTP side, shared by `npm run dev` and the tests that drive it: api/ through the
// router, and Supabase Realtime's endpoints (/realtime/v1/…) served locally over the same database.
import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Sql } from '../db/client.js';
import { log } from '../log.js';
import { startLocalRealtime, type LocalRealtime } from './realtime/server.js';
import { asBehindPlatform, createRouter, type Router } from './router.js';
import { serveStatic } from './static.js';

export interface DevServer {
  server: Server;
  router: Router;
  realtime: LocalRealtime;
  port: number;
  close(): Promise<void>;
}

export async function startDevServer(options: { sql: Sql; engine: 'pglite' | 'postgres'; port: number; host: string }): Promise<DevServer> {
  const router = createRouter();
  const server = createServer((req, res) => {
    asBehindPlatform(req);
    // The listener answers errors itself; a rejection here would only be an unanswerable socket.
    listener(req, res).catch((error: unknown) => log.error('request failed', { error }));
  });
  const realtime = await startLocalRealtime({ server, sql: options.sql, engine: options.engine });
  const listener = getRequestListener(async (request) => {
    if (new URL(request.url).pathname.startsWith('/realtime/v1/')) {
      const answered = await realtime.fetch(request);
      if (answered) return answered;
    }
    return (await serveStatic(request)) ?? router.fetch(request);
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    router,
    realtime,
    port,
    async close() {
      await realtime.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
