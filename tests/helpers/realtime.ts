// Reads the broadcast rows that writes leave in realtime.messages (as the table owner), in commit
// order; within one transaction (one timestamp) by event and topic.
import type { Sql } from '../../lib/db/client.js';

export interface Broadcast {
  topic: string;
  event: string;
  payload: { event: string; orgId: string; actorId: string | null; at: string; data: any; id?: string };
}

/** A marker: call before the action, then `since()` returns the broadcasts written after it. */
export async function broadcastsSince(sql: Sql) {
  const [row] = await sql<{ n: string }[]>`select count(*)::text as n from realtime.messages`;
  const skip = Number(row!.n);
  return async (): Promise<Broadcast[]> =>
    sql<Broadcast[]>`select topic, event, payload from realtime.messages order by inserted_at, event, topic offset ${skip}`.then((rows) => [...rows]);
}
