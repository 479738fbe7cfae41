// The Phoenix wire formats Supabase Realtime speaks, as realtime-js 2.x reads and writes them
// (@supabase/realtime-js src/lib/serializer.ts): protocol `vsn` 2.0.0 is JSON arrays
// `[join_ref, ref, topic, event, payload]` plus binary frames for broadcasts (kind 3: a client's
// broadcast push, kind 4: a broadcast the server pushes); 1.0.0 is JSON objects.

export type Vsn = '1.0.0' | '2.0.0';

export interface Frame {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** A broadcast as the server pushes it: JSON (encoding 1) or the client's own bytes (encoding 0). */
export interface OutBroadcast {
  topic: string;
  event: string;
  payload: unknown;
  binary?: Uint8Array;
  meta?: Record<string, unknown>;
}

const KIND_USER_BROADCAST_PUSH = 3;
const KIND_USER_BROADCAST = 4;
const BINARY_ENCODING = 0;
const JSON_ENCODING = 1;

export class WireError extends Error {}

function asRef(value: unknown): string | null {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null;
}

/** Decodes one client frame; throws WireError for anything that is not a Phoenix message. */
export function decodeFrame(vsn: Vsn, data: Buffer, isBinary: boolean): Frame {
  if (isBinary) {
    if (vsn !== '2.0.0') throw new WireError('binary frames need vsn 2.0.0');
    return decodeBinaryPush(data);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    throw new WireError('frame is not JSON');
  }
  if (vsn === '2.0.0') {
    if (!Array.isArray(parsed) || parsed.length !== 5) throw new WireError('a 2.0.0 frame is [join_ref, ref, topic, event, payload]');
    const [joinRef, ref, topic, event, payload] = parsed as unknown[];
    if (typeof topic !== 'string' || typeof event !== 'string') throw new WireError('topic and event must be strings');
    return { joinRef: asRef(joinRef), ref: asRef(ref), topic, event, payload };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new WireError('a 1.0.0 frame is a JSON object');
  const o = parsed as Record<string, unknown>;
  if (typeof o.topic !== 'string' || typeof o.event !== 'string') throw new WireError('topic and event must be strings');
  return { joinRef: asRef(o.join_ref), ref: asRef(o.ref), topic: o.topic, event: o.event, payload: o.payload };
}

/**
 * Kind 3: [kind, join_ref len, ref len, topic len, event len, metadata len, encoding, join_ref, ref,
 * topic, event, metadata, payload]. Becomes the `broadcast` push the JSON form would have been.
 */
function decodeBinaryPush(data: Buffer): Frame {
  if (data.length < 7 || data[0] !== KIND_USER_BROADCAST_PUSH) throw new WireError('unknown binary frame kind');
  const [joinRefLen, refLen, topicLen, eventLen, metaLen, encoding] = [data[1]!, data[2]!, data[3]!, data[4]!, data[5]!, data[6]!];
  let offset = 7;
  const take = (n: number) => {
    if (offset + n > data.length) throw new WireError('binary frame is truncated');
    const s = data.subarray(offset, offset + n).toString('utf8');
    offset += n;
    return s;
  };
  const joinRef = take(joinRefLen);
  const ref = take(refLen);
  const topic = take(topicLen);
  const userEvent = take(eventLen);
  const metadata = take(metaLen);
  const body = data.subarray(offset);
  let meta: Record<string, unknown> = {};
  let userPayload: unknown;
  try {
    if (metadata) meta = JSON.parse(metadata) as Record<string, unknown>;
    userPayload = encoding === JSON_ENCODING ? JSON.parse(body.toString('utf8')) : undefined;
  } catch {
    throw new WireError('binary frame carries malformed JSON');
  }
  const payload: Record<string, unknown> = { ...meta, type: 'broadcast', event: userEvent, payload: userPayload };
  if (encoding === BINARY_ENCODING) payload.binary = new Uint8Array(body);
  return { joinRef: joinRef || null, ref: ref || null, topic, event: 'broadcast', payload };
}

export function encodeFrame(vsn: Vsn, frame: Frame): string {
  if (vsn === '2.0.0') return JSON.stringify([frame.joinRef, frame.ref, frame.topic, frame.event, frame.payload]);
  return JSON.stringify({ join_ref: frame.joinRef, ref: frame.ref, topic: frame.topic, event: frame.event, payload: frame.payload });
}

/** A server broadcast: binary kind 4 on 2.0.0, a JSON `broadcast` message on 1.0.0 (null: 1.0.0 cannot carry bytes). */
export function encodeBroadcast(vsn: Vsn, b: OutBroadcast): string | Buffer | null {
  if (vsn === '1.0.0') {
    if (b.binary) return null;
    return encodeFrame(vsn, {
      joinRef: null,
      ref: null,
      topic: b.topic,
      event: 'broadcast',
      payload: { type: 'broadcast', event: b.event, payload: b.payload, ...(b.meta ? { meta: b.meta } : {}) },
    });
  }
  const topic = Buffer.from(b.topic, 'utf8');
  const event = Buffer.from(b.event, 'utf8');
  const meta = Buffer.from(b.meta && Object.keys(b.meta).length ? JSON.stringify(b.meta) : '', 'utf8');
  if (topic.length > 255 || event.length > 255 || meta.length > 255) throw new WireError('topic, event or metadata longer than 255 bytes');
  const body = b.binary ? Buffer.from(b.binary) : Buffer.from(JSON.stringify(b.payload ?? {}), 'utf8');
  const header = Buffer.from([KIND_USER_BROADCAST, topic.length, event.length, meta.length, b.binary ? BINARY_ENCODING : JSON_ENCODING]);
  return Buffer.concat([header, topic, event, meta, body]);
}
