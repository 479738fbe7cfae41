// Incoming calls through Exotel, as its callbacks really come: Passthru (GET) at whatever point of the
// flow the applet sits (CallType call-attempt while the caller is in the IVR, then completed /
// incomplete / client-hangup after the connect applet, with DialCallStatus and DialCallDuration), and
// the call status callback (POST, JSON or form: Status, ConversationDuration, Direction, From) — more
// than once and in any order. "Missed" is decided only by how the call ended; a later callback corrects
// the message's status, text and duration and cancels the call-back action made for it; an older one
// never moves a call back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { setClock } from '../../lib/time.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_EXOTEL } from '../helpers/fake-exotel.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let voice: { id: string; secret: string };

beforeAll(async () => {
  db = await testDatabase();
  const v = await json('POST', '/api/channels', {
    as: 'admin',
    body: { kind: 'voice', name: 'ExoPhone', address: '022 4444 6666', exotel: { ...FAKE_EXOTEL, subdomain: 'api.exotel.com' } },
  });
  expect(v.status, JSON.stringify(v.body)).toBe(201);
  voice = { id: v.body.id, secret: v.body.webhook.secret };
});
afterAll(() => db.close());

const hookPath = () => `/api/webhooks/exotel/${voice.id}?token=${voice.secret}`;

/** Passthru: a GET with the call's details as query parameters (support.exotel.com article 48283). */
const passthru = (params: Record<string, string>) => call('GET', `${hookPath()}&${new URLSearchParams(params)}`, { token: null });
/** The status callback as JSON (StatusCallbackContentType application/json). */
const statusJson = async (body: Record<string, unknown>) => {
  const res = await call('POST', hookPath(), { token: null, body });
  return { status: res.status, body: (await res.json()) as any };
};
/** The status callback as a form. */
const statusForm = (fields: Record<string, string>) =>
  call('POST', hookPath(), { token: null, rawBody: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

/** The Passthru parameters Exotel sends for an incoming call from `from` (a number no other test uses). */
function incoming(sid: string, from: string) {
  return {
    CallSid: sid,
    CallFrom: from,
    CallTo: '02244446666',
    Direction: 'incoming',
    Created: 'Thu, 26 Nov 2026 11:00:00',
    StartTime: '2026-11-26 11:00:00',
    EndTime: '1970-01-01 05:30:00',
    CurrentTime: '2026-11-26 11:00:05',
    digits: '"1"',
  };
}

const callRow = async (sid: string) =>
  (
    await db.sql<any[]>`
      select id, thread_id, kind, direction, status, body_text, snippet, call_duration_seconds, metadata
      from app.messages where provider_message_id = ${sid}`
  )[0];
const callBacks = (messageId: string) =>
  db.sql<{ id: string; status: string; priority: string }[]>`
    select id, status, priority from app.actions where org_id = ${SEED_ORG_ID} and type = 'call_back' and description = ${`call:${messageId}`}`;
const threadSnippet = async (threadId: string) => (await db.sql<{ snippet: string }[]>`select snippet from app.threads where id = ${threadId}`)[0]!.snippet;

describe('incoming calls', () => {
  it('takes a call-attempt Passthru for a call still in the IVR, not a missed one; the completed Passthru then says how long it lasted', async () => {
    const sid = 'call-ivr-0001';
    expect((await passthru({ ...incoming(sid, '09820011001'), CallType: 'call-attempt' })).status).toBe(200);
    const first = await callRow(sid);
    expect(first).toMatchObject({ kind: 'call', direction: 'inbound', status: 'ringing', bodyText: 'Incoming call', snippet: 'Incoming call' });
    expect(await callBacks(first.id)).toEqual([]);
    expect(await threadSnippet(first.threadId)).toBe('Incoming call');

    const since = await broadcastsSince(db.sql);
    const done = await passthru({
      ...incoming(sid, '09820011001'),
      CallType: 'completed',
      DialCallStatus: 'completed',
      DialCallDuration: '125',
      DialWhomNumber: '09811122233',
    });
    expect(done.status).toBe(200);
    const after = await callRow(sid);
    expect(after).toMatchObject({ id: first.id, status: 'completed', callDurationSeconds: 125, bodyText: 'Call, 2 min 5 s', snippet: 'Call, 2 min 5 s' });
    expect(after.metadata.call).toMatchObject({ CallType: 'completed', DialCallStatus: 'completed', DialWhomNumber: '09811122233' });
    expect(await threadSnippet(first.threadId)).toBe('Call, 2 min 5 s');
    expect(await callBacks(first.id)).toEqual([]);
    const events = await since();
    const updated = events.find((e) => e.event === 'message.updated' && e.payload.data.id === first.id);
    expect(updated!.payload.data).toMatchObject({ status: 'completed', snippet: 'Call, 2 min 5 s', callDurationSeconds: 125 });
    expect(events.some((e) => e.event === 'thread.updated' && e.payload.data.id === first.threadId)).toBe(true);
  });

  it('opens a call-back for a call nobody answered, and cancels it when the status callback says it was answered', async () => {
    const sid = 'call-missed-0002';
    expect((await passthru({ ...incoming(sid, '09820011002'), CallType: 'incomplete', DialCallStatus: 'no-answer' })).status).toBe(200);
    const missed = await callRow(sid);
    expect(missed).toMatchObject({ status: 'no_answer', bodyText: 'Missed call', snippet: 'Missed call' });
    const [action] = await callBacks(missed.id);
    expect(action).toMatchObject({ status: 'open', priority: 'high' });
    // One notice of the missed call: nobody has the new thread and it has no team, so every manager.
    const told = await db.sql<{ userId: string; threadId: string }[]>`
      select user_id, thread_id from app.notifications where type = 'missed_call' and entity_id = ${action!.id} order by user_id`;
    expect(told).toEqual([SEED_USERS.owner, SEED_USERS.admin, SEED_USERS.manager].map((u) => ({ userId: u.id, threadId: missed.threadId })));

    // The status callback (a form) for the same call: a conversation of 65 seconds happened after all.
    const since = await broadcastsSince(db.sql);
    const res = await statusForm({
      CallSid: sid,
      Status: 'completed',
      DateUpdated: '2026-11-26 11:03:00',
      Direction: 'inbound',
      From: '09820011002',
      To: '02244446666',
      StartTime: '2026-11-26 11:00:00',
      EndTime: '2026-11-26 11:02:10',
      ConversationDuration: '65',
      EventType: 'terminal',
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).results).toEqual([{ kind: 'call.status', outcome: 'updated', messageId: missed.id, threadId: missed.threadId }]);
    expect(await callRow(sid)).toMatchObject({ status: 'completed', callDurationSeconds: 65, bodyText: 'Call, 1 min 5 s' });
    expect(await threadSnippet(missed.threadId)).toBe('Call, 1 min 5 s');
    // Cancelled like every action update (never deleted): its event, its audit row, and the API shows it.
    expect(await callBacks(missed.id)).toEqual([{ ...action, status: 'cancelled' }]);
    const shown = await json('GET', `/api/actions/${action!.id}`);
    expect(shown.body).toMatchObject({ status: 'cancelled', type: 'call_back' });
    const events = await since();
    expect(events.find((e) => e.event === 'action.updated' && e.payload.data.id === action!.id)!.payload.data.status).toBe('cancelled');
    const audit = await db.sql`select action from app.audit_log where entity_type = 'action' and entity_id = ${action!.id} order by created_at`;
    expect(audit.map((a) => a.action)).toEqual(['action.created', 'action.updated']);
  });

  it("gives the call-back a due time an hour after the missed call, by the app's clock", async () => {
    const at = new Date(Math.floor((Date.now() - 3 * 3_600_000) / 1000) * 1000);
    setClock(at);
    try {
      const sid = 'call-missed-0021';
      expect((await passthru({ ...incoming(sid, '09820011021'), CallType: 'incomplete', DialCallStatus: 'no-answer' })).status).toBe(200);
      const missed = await callRow(sid);
      const [action] = await db.sql<{ dueAt: Date }[]>`
        select due_at from app.actions where org_id = ${SEED_ORG_ID} and type = 'call_back' and description = ${`call:${missed.id}`}`;
      expect(action!.dueAt).toEqual(new Date(at.getTime() + 3_600_000));
    } finally {
      setClock(undefined);
    }
  });

  it('tells the assignee alone of a missed call on a thread someone has', async () => {
    const first = 'call-missed-0011';
    expect((await passthru({ ...incoming(first, '09820011011'), CallType: 'completed', DialCallStatus: 'completed', DialCallDuration: '40' })).status).toBe(
      200,
    );
    const { threadId } = await callRow(first);
    expect((await json('POST', `/api/threads/${threadId}/assign`, { as: 'manager', body: { assigneeId: SEED_USERS.agent.id } })).status).toBe(200);

    const second = 'call-missed-0012';
    expect((await passthru({ ...incoming(second, '09820011011'), CallType: 'incomplete', DialCallStatus: 'no-answer' })).status).toBe(200);
    const missed = await callRow(second);
    expect(missed.threadId).toBe(threadId);
    const [action] = await callBacks(missed.id);
    const told = await db.sql<{ userId: string }[]>`select user_id from app.notifications where type = 'missed_call' and entity_id = ${action!.id}`;
    expect(told).toEqual([{ userId: SEED_USERS.agent.id }]);
  });

  it('records the call from a status callback that arrives before Passthru, and a late Passthru never regresses it', async () => {
    const sid = 'call-early-0003';
    // JSON status callback first: it names the caller, so the call is recorded from it.
    const first = await statusJson({
      CallSid: sid,
      Status: 'completed',
      DateUpdated: '2026-11-26 12:02:00',
      Direction: 'inbound',
      From: '09820011003',
      To: '02244446666',
      StartTime: '2026-11-26 12:00:00',
      EndTime: '2026-11-26 12:01:30',
      ConversationDuration: 42,
      RecordingUrl: null,
      EventType: 'terminal',
    });
    expect(first.status).toBe(200);
    expect(first.body.results[0].outcome).toBe('stored');
    const stored = await callRow(sid);
    expect(stored).toMatchObject({ direction: 'inbound', status: 'completed', callDurationSeconds: 42, bodyText: 'Call, 42 s' });

    // Passthru hits from earlier in the flow arrive afterwards: the IVR one, then an unanswered leg.
    const lateHits: Record<string, string>[] = [
      { CallType: 'call-attempt', DialCallDuration: '0' },
      { CallType: 'incomplete', DialCallStatus: 'no-answer', DialCallDuration: '20' },
    ];
    for (const late of lateHits) {
      const res = await passthru({ ...incoming(sid, '09820011003'), StartTime: '2026-11-26 12:00:00', ...late });
      expect(res.status).toBe(200);
      expect(await callRow(sid)).toMatchObject({ status: 'completed', callDurationSeconds: 42, bodyText: 'Call, 42 s', snippet: 'Call, 42 s' });
    }
    expect((await callRow(sid)).metadata.call.CallType).toBeUndefined();
    expect(await callBacks(stored.id)).toEqual([]);
    expect(await db.sql`select 1 from app.messages where provider_message_id = ${sid}`).toHaveLength(1);
    // Each callback was stored once, and a replay of the late one changes nothing.
    expect((await passthru({ ...incoming(sid, '09820011003'), CallType: 'call-attempt', DialCallDuration: '0' })).status).toBe(200);
    expect(await db.sql`select kind from app.webhook_events where payload->>'CallSid' = ${sid}`).toHaveLength(3);
  });

  it('finds an incoming call by its CallSid for a status callback that says it went unanswered', async () => {
    const sid = 'call-status-0004';
    expect((await passthru({ ...incoming(sid, '09820011004'), CallType: 'call-attempt' })).status).toBe(200);
    const ringing = await callRow(sid);
    expect(await callBacks(ringing.id)).toEqual([]);
    const res = await statusJson({ CallSid: sid, Status: 'no-answer', Direction: 'inbound', From: '09820011004', EventType: 'terminal' });
    expect(res.body.results).toEqual([{ kind: 'call.status', outcome: 'updated', messageId: ringing.id, threadId: ringing.threadId }]);
    expect(await callRow(sid)).toMatchObject({ status: 'no_answer', bodyText: 'Missed call' });
    expect(await callBacks(ringing.id)).toMatchObject([{ status: 'open' }]);
    // A second unanswered ending (busy) keeps the first, and still one call-back.
    await statusJson({ CallSid: sid, Status: 'busy', Direction: 'inbound', From: '09820011004' });
    expect((await callRow(sid)).status).toBe('no_answer');
    expect(await callBacks(ringing.id)).toHaveLength(1);
  });

  it('ignores a status callback about a call it does not know that names no caller', async () => {
    const res = await statusJson({ CallSid: 'call-unknown-0005', Status: 'completed', ConversationDuration: 10 });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([{ kind: 'call.status', outcome: 'ignored' }]);
    expect(await db.sql`select 1 from app.messages where provider_message_id = 'call-unknown-0005'`).toHaveLength(0);
  });
});
