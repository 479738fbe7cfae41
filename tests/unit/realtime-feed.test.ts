// The local Realtime's delivery feed when reading the rows back fails: the ids it could not deliver
// are logged (never swallowed), and the feed keeps going for the notifications after them.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Sql } from '../../lib/db/client.js';
import { CHANNEL, startFeed, type MessageRow } from '../../lib/dev/realtime/feed.js';
import { log } from '../../lib/log.js';

afterEach(() => vi.restoreAllMocks());

/** A stand-in for postgres.js: `listen` hands over the callback; each query answers from `rows` or fails. */
function fakeSql(answers: (() => Promise<unknown[]>)[]) {
  let notify: ((payload: string) => void) | undefined;
  const query = () => answers.shift()!();
  const sql = Object.assign(query, {
    listen: async (channel: string, fn: (payload: string) => void) => {
      expect(channel).toBe(CHANNEL);
      notify = fn;
      return { unlisten: async () => {} };
    },
  });
  return { sql: sql as unknown as Sql, notify: (id: string) => notify!(id) };
}

describe('local realtime feed', () => {
  it('logs a warning naming the ids of a batch it could not read, then delivers the next one', async () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    const row = { id: '00000000-0000-4000-8000-000000000002', topic: 'org:x', event: 'thread.updated', private: true, payloadJson: '{"n":2}' };
    const { sql, notify } = fakeSql([() => Promise.reject(new Error('connection lost')), () => Promise.resolve([row])]);
    const delivered: MessageRow[] = [];
    const feed = await startFeed(sql, 'postgres', (r) => delivered.push(r));
    notify('00000000-0000-4000-8000-000000000001');
    await feed.drained();
    expect(warn).toHaveBeenCalledWith('local realtime: broadcasts not delivered', {
      error: expect.objectContaining({ message: 'connection lost' }),
      ids: ['00000000-0000-4000-8000-000000000001'],
    });
    notify(row.id);
    await feed.drained();
    expect(delivered).toEqual([{ id: row.id, topic: 'org:x', event: 'thread.updated', private: true, payload: { n: 2 } }]);
    await feed.stop();
  });

  it('logs a row it could not send and still sends the rest of its batch', async () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    const rows = ['a', 'b'].map((n, i) => ({
      id: `00000000-0000-4000-8000-00000000000${i}`,
      topic: `org:${n}`,
      event: 'x.y',
      private: true,
      payloadJson: '{}',
    }));
    const { sql, notify } = fakeSql([() => Promise.resolve(rows)]);
    const delivered: string[] = [];
    const feed = await startFeed(sql, 'postgres', (r) => {
      if (r.topic === 'org:a') throw new Error('topic too long');
      delivered.push(r.topic);
    });
    // Both notifications arrive before the drain reads them: one batch of two.
    notify(rows[0]!.id);
    notify(rows[1]!.id);
    await feed.drained();
    expect(delivered).toEqual(['org:b']);
    expect(warn).toHaveBeenCalledWith('local realtime: a broadcast was not delivered', expect.objectContaining({ ids: [rows[0]!.id], topic: 'org:a' }));
    await feed.stop();
  });
});
