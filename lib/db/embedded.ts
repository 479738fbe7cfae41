// Embedded PostgreSQL (PGlite) served over a local socket so postgres.js talks to it exactly as it
// talks to a real server. Development and tests only; never imported statically.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedServer {
  url: string;
  /** The data directory as a tarball (PGlite's `dumpDataDir`), to start another instance from. */
  dump(): Promise<Blob>;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (`memory://` or a directory) behind a loopback socket on a free port; `from`, a
 * tarball an earlier instance dumped, starts it with that data instead of a fresh cluster.
 */
export async function startEmbedded(options: { dataDir: string; maxConnections: number; from?: Blob }): Promise<EmbeddedServer> {
  const memory = options.dataDir === 'memory://' || options.dataDir === ':memory:';
  if (!memory) mkdirSync(options.dataDir, { recursive: true });
  const pg = await PGlite.create({ dataDir: memory ? undefined : options.dataDir, extensions: { pg_trgm }, loadDataDir: options.from });
  const server = new PGLiteSocketServer({ db: pg, port: 0, host: '127.0.0.1', maxConnections: options.maxConnections });
  await server.start();
  const port = Number(server.getServerConn().split(':').pop());
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    dump: () => pg.dumpDataDir('none') as Promise<Blob>,
    async stop() {
      await server.stop();
      await pg.close();
    },
  };
}
