// The local Realtime's wire formats against realtime-js's own serializer (the pinned version): what the
// client encodes the server decodes, and what the server encodes the client decodes.
import * as serializerModule from '@supabase/realtime-js/dist/module/lib/serializer.js';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeBroadcast, encodeFrame, WireError } from '../../lib/dev/realtime/wire.js';

// A CommonJS-typed package: TypeScript and the runtime disagree on where its default export sits.
type SerializerClass = typeof serializerModule.default.default;
const loaded = serializerModule.default as unknown as SerializerClass | { default: SerializerClass };
const Serializer: SerializerClass = 'default' in loaded ? loaded.default : loaded;
const client = new Serializer();
const encode = (msg: Parameters<InstanceType<typeof Serializer>['encode']>[0]) =>
  client.encode(msg, (r: ArrayBuffer | string) => r) as unknown as ArrayBuffer | string;
const decode = (raw: ArrayBuffer | string) => client.decode(raw, (m: unknown) => m) as { topic: string; event: string; payload: any; ref: string | null };
const toBuffer = (raw: ArrayBuffer | string) => (typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(new Uint8Array(raw)));

describe('local realtime wire (vsn 2.0.0)', () => {
  it('decodes a JSON broadcast push as the binary frame realtime-js sends', () => {
    const raw = encode({
      join_ref: '1',
      ref: '7',
      topic: 'realtime:org:x:live',
      event: 'broadcast',
      payload: { type: 'broadcast', event: 'typing', payload: { typing: true } },
    });
    expect(typeof raw).not.toBe('string');
    expect(decodeFrame('2.0.0', toBuffer(raw), true)).toEqual({
      joinRef: '1',
      ref: '7',
      topic: 'realtime:org:x:live',
      event: 'broadcast',
      payload: { type: 'broadcast', event: 'typing', payload: { typing: true } },
    });
  });

  it('keeps the bytes of a binary broadcast, and sends them back as binary', () => {
    const bytes = new Uint8Array([0, 1, 2, 250]);
    const raw = encode({
      join_ref: '1',
      ref: '2',
      topic: 'realtime:t',
      event: 'broadcast',
      payload: { type: 'broadcast', event: 'blob', payload: bytes.buffer },
    });
    const frame = decodeFrame('2.0.0', toBuffer(raw), true);
    const binary = (frame.payload as { binary: Uint8Array }).binary;
    expect([...binary]).toEqual([0, 1, 2, 250]);
    const out = encodeBroadcast('2.0.0', { topic: 'realtime:t', event: 'blob', payload: undefined, binary })!;
    const back = decode(new Uint8Array(out as Buffer).buffer);
    expect(back.payload.event).toBe('blob');
    expect([...new Uint8Array(back.payload.payload as ArrayBuffer)]).toEqual([0, 1, 2, 250]);
    // 1.0.0 cannot carry bytes: nothing is sent.
    expect(encodeBroadcast('1.0.0', { topic: 'realtime:t', event: 'blob', payload: undefined, binary })).toBeNull();
  });

  it('pushes broadcasts the client decodes, with their metadata', () => {
    const out = encodeBroadcast('2.0.0', {
      topic: 'realtime:org:1',
      event: 'thread.updated',
      payload: { event: 'thread.updated', data: { id: 'a' } },
      meta: { id: 'r1' },
    })!;
    expect(decode(new Uint8Array(out as Buffer).buffer)).toEqual({
      join_ref: null,
      ref: null,
      topic: 'realtime:org:1',
      event: 'broadcast',
      payload: { type: 'broadcast', event: 'thread.updated', payload: { event: 'thread.updated', data: { id: 'a' } }, meta: { id: 'r1' } },
    });
  });

  it('reads and writes JSON array frames', () => {
    const raw = encode({ join_ref: '1', ref: '1', topic: 'realtime:org:1', event: 'phx_join', payload: { config: { private: true } } });
    expect(decodeFrame('2.0.0', toBuffer(raw), false)).toEqual({
      joinRef: '1',
      ref: '1',
      topic: 'realtime:org:1',
      event: 'phx_join',
      payload: { config: { private: true } },
    });
    const reply = encodeFrame('2.0.0', { joinRef: '1', ref: '1', topic: 'realtime:org:1', event: 'phx_reply', payload: { status: 'ok', response: {} } });
    expect(decode(reply)).toMatchObject({ ref: '1', event: 'phx_reply', payload: { status: 'ok' } });
  });

  it('refuses what is not a Phoenix frame', () => {
    expect(() => decodeFrame('2.0.0', Buffer.from('{"topic":"x"}'), false)).toThrow(WireError);
    expect(() => decodeFrame('2.0.0', Buffer.from([9, 0, 0]), true)).toThrow(WireError);
    expect(() => decodeFrame('1.0.0', Buffer.from('[null,null,"t","e",{}]'), false)).toThrow(WireError);
  });
});

describe('local realtime wire (vsn 1.0.0)', () => {
  it('reads and writes JSON objects, broadcasts included', () => {
    const frame = decodeFrame('1.0.0', Buffer.from(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '3' })), false);
    expect(frame).toEqual({ joinRef: null, ref: '3', topic: 'phoenix', event: 'heartbeat', payload: {} });
    const out = JSON.parse(encodeBroadcast('1.0.0', { topic: 'realtime:org:1', event: 'e', payload: { a: 1 }, meta: { id: 'r' } }) as string);
    expect(out).toEqual({
      join_ref: null,
      ref: null,
      topic: 'realtime:org:1',
      event: 'broadcast',
      payload: { type: 'broadcast', event: 'e', payload: { a: 1 }, meta: { id: 'r' } },
    });
  });
});
