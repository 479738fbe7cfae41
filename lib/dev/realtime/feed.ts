// Broadcast rows of realtime.messages, delivered after their transaction commits. The local bootstrap
// (supabase/local/bootstrap.sql) NOTIFYs each broadcast row's id on `realtime_local_messages`;
// PostgreSQL hands notifications out only on commit, in commit order, and a rolled-back
// transaction's never. Rows are read back by id in the order their notifications came.
import { onPoolNotification, type Sql } from '../../db/client.js';
import { log } from '../../log.js';

export const CHANNEL = 'realtime_local_messages';

export interface MessageRow {
  id: string;
  topic: string;
  event: string;
  private: boolean;
  payload: unknown;
}

export interface Feed {
  stop(): Promise<void>;
  /** Resolves once every notification received so far has been delivered (tests, shutdown). */
  drained(): Promise<void>;
}

/**
 * Starts listening. Embedded PGlite is a single session behind its socket, so the LISTEN goes
 * through the pool and its notifications arrive on the pool's connection; PostgreSQL gets a
 * dedicated listening connection (postgres.js `listen`, which re-listens after a reconnect).
 */
export async function startFeed(sql: Sql, engine: 'pglite' | 'postgres', deliver: (row: MessageRow) => void): Promise<Feed> {
  const pending: string[] = [];
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const deliverBatch = async (ids: string[]) => {
    // payload as text: the pool camel-cases the keys of JSON values, and a broadcast goes out as written.
    const rows = await sql<{ id: string; topic: string; event: string; private: boolean; payloadJson: string | null }[]>`
      select id, topic, event, private, payload::text as payload_json from realtime.messages where id = any(${ids}::uuid[])`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      const r = byId.get(id);
      if (!r) continue;
      try {
        deliver({ id: r.id, topic: r.topic, event: r.event, private: r.private, payload: r.payloadJson ? (JSON.parse(r.payloadJson) as unknown) : null });
      } catch (error) {
        log.warn('local realtime: a broadcast was not delivered', { error, ids: [id], topic: r.topic, event: r.event });
      }
    }
  };
  // A batch that fails is logged and skipped: its rows stay in realtime.messages, and a client that
  // missed them resyncs (README: syncing after a reconnect).
  const drain = async () => {
    while (pending.length && !stopped) {
      const ids = pending.splice(0, 200);
      try {
        await deliverBatch(ids);
      } catch (error) {
        log.warn('local realtime: broadcasts not delivered', { error, ids });
      }
    }
  };
  const onNotify = (payload: string) => {
    if (stopped) return;
    pending.push(payload);
    running = running.then(drain);
  };

  let unlisten: () => Promise<void>;
  if (engine === 'pglite') {
    const off = onPoolNotification((channel, payload) => {
      if (channel === CHANNEL) onNotify(payload);
    });
    await sql.unsafe(`listen ${CHANNEL}`);
    unlisten = async () => {
      off();
      await sql.unsafe(`unlisten ${CHANNEL}`).catch(() => {});
    };
  } else {
    const listener = await sql.listen(CHANNEL, onNotify);
    unlisten = () => listener.unlisten();
  }

  return {
    drained: () => running,
    async stop() {
      stopped = true;
      await unlisten();
      await running;
    },
  };
}
