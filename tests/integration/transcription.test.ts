// Call transcription: an incoming call's recording, once copied into storage, is transcribed through the
// OpenAI-compatible /audio/transcriptions endpoint (a local fake here), stored on the message, announced
// and analysed; without an API key the call is marked untranscribed; a provider error is retried, and a
// call whose transcription dies is marked failed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_EXOTEL, fakeExotel, type FakeExotel } from '../helpers/fake-exotel.js';
import { fakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let exotel: FakeExotel;
let openai: FakeOpenAI;
let saved: Config;
let storageDir: string;
let voice: { id: string; secret: string };

const RECORDING = Buffer.from('ID3\x03\x00\x00\x00fake-mp3-recording-bytes');
const SPOKEN = 'Hello, this is Karthik from Tata Textiles. Container MSKU6240766 is still held at Nhava Sheva customs, please check urgently.';

function configure(ai: boolean) {
  setConfig(
    parseConfig({
      ...process.env,
      PUBLIC_BASE_URL: 'https://banxway.example',
      EXOTEL_BASE_URL: exotel.url,
      EXOTEL_MEDIA_HOSTS: exotel.host,
      ALLOW_PRIVATE_NETWORK_HOSTS: 'true',
      STORAGE_DIR: storageDir,
      OPENAI_API_KEY: ai ? 'sk-test-key' : '',
      OPENAI_BASE_URL: openai.baseUrl,
    }),
  );
}

/** An answered incoming call (Passthru) with a recording; returns the message id once its jobs have run. */
async function incomingCall(callSid: string, from: string): Promise<string> {
  const recordingUrl = exotel.serve(`${callSid}.mp3`, 'audio/mpeg', RECORDING);
  const params = {
    CallSid: callSid,
    CallFrom: from,
    CallTo: '02233335555',
    Direction: 'incoming',
    CallType: 'completed',
    DialCallStatus: 'completed',
    DialCallDuration: '65',
    StartTime: '2026-11-26 11:00:00',
    RecordingUrl: recordingUrl,
    token: voice.secret,
  };
  const res = await call('GET', `/api/webhooks/exotel/${voice.id}?${new URLSearchParams(params)}`, { token: null });
  expect(res.status).toBe(200);
  await drainJobs();
  const [m] = await db.sql<{ id: string }[]>`select id from app.messages where provider_message_id = ${callSid}`;
  return m!.id;
}

const messageRow = async (id: string) =>
  (
    await db.sql<
      any[]
    >`select thread_id, kind, direction, recording_path, transcript, identifiers, metadata, analyzed_at, intent from app.messages where id = ${id}`
  )[0];
const jobsFor = (id: string, name: string) =>
  db.sql<any[]>`select status, attempts, last_error from app.outbox where name = ${name} and payload->>'messageId' = ${id}`;

beforeAll(async () => {
  db = await testDatabase();
  exotel = await fakeExotel();
  openai = await fakeOpenAI();
  saved = config();
  storageDir = mkdtempSync(join(tmpdir(), 'banxway-transcribe-'));
  configure(false);
  const v = await json('POST', '/api/channels', {
    as: 'admin',
    body: { kind: 'voice', name: 'ExoPhone', address: '022 3333 5555', exotel: { ...FAKE_EXOTEL, subdomain: 'api.exotel.com' } },
  });
  expect(v.status, JSON.stringify(v.body)).toBe(201);
  voice = { id: v.body.id, secret: v.body.webhook.secret };
});

afterEach(() => {
  openai.reset();
});

afterAll(async () => {
  setConfig(saved);
  await openai.close();
  await exotel.close();
  await db.close();
  rmSync(storageDir, { recursive: true, force: true });
});

describe('call transcription', () => {
  it('transcribes a stored recording through the provider, announces it and analyses the transcript', async () => {
    configure(true);
    openai.replyTranscription({ text: ` ${SPOKEN} ` });
    openai.reply({
      json: {
        intent: 'customs_query',
        sentiment: 'negative',
        sentimentScore: -0.4,
        urgency: 'high',
        summary: 'Customer says container MSKU6240766 is held at Nhava Sheva customs and asks for an urgent check.',
        language: 'en',
        ports: ['INNSA'],
        incoterms: [],
        hsCodes: [],
      },
    });
    const since = await broadcastsSince(db.sql);
    const id = await incomingCall('call-tr-0001', '09820011111');

    const m = await messageRow(id);
    expect(m).toMatchObject({ kind: 'call', direction: 'inbound', recordingPath: expect.stringContaining(`/messages/${id}/`), transcript: SPOKEN });
    // The container the caller named is stored with the call, as for any message.
    expect(m.identifiers).toEqual(['MSKU6240766']);
    expect(m.metadata.transcription).toMatchObject({ status: 'done', model: 'whisper-1', at: expect.any(String) });
    expect(Number.isNaN(Date.parse(m.metadata.transcription.at))).toBe(false);

    // The provider got the recording's bytes as multipart form data, with the configured model.
    expect(openai.transcriptions).toHaveLength(1);
    const [req] = openai.transcriptions;
    expect(req!.headers.authorization).toBe('Bearer sk-test-key');
    expect(req!.fields.model).toBe('whisper-1');
    expect(req!.file!.bytes.equals(RECORDING)).toBe(true);

    // The transcript (not the "Incoming call" placeholder) was analysed.
    expect(await jobsFor(id, 'call.transcribe')).toEqual([{ status: 'done', attempts: 1, lastError: null }]);
    expect(await jobsFor(id, 'message.analyze')).toEqual([expect.objectContaining({ status: 'done' })]);
    expect(m.analyzedAt).not.toBeNull();
    expect(JSON.stringify(openai.requests.at(-1)?.body.messages)).toContain('MSKU6240766 is still held');

    const events = (await since()).filter((b) => b.event === 'message.updated' && b.payload.data.id === id && b.payload.data.transcription);
    expect(events).toHaveLength(1);
    expect(events[0]!.topic).toBe(`org:${events[0]!.payload.orgId}:thread:${m.threadId}`);
    expect(events[0]!.payload.data).toMatchObject({ transcription: { status: 'done', model: 'whisper-1' } });
    expect((await since()).some((b) => b.event === 'message.analyzed' && b.payload.data.id === id)).toBe(true);

    // The message as users read it carries the transcript.
    const listed = await json('GET', `/api/threads/${m.threadId}/messages`, { as: 'viewer' });
    expect(listed.status).toBe(200);
    expect(listed.body.data.find((x: any) => x.id === id)).toMatchObject({ transcript: SPOKEN });
  });

  it('marks the call untranscribed when no speech-to-text provider is configured', async () => {
    configure(false);
    const since = await broadcastsSince(db.sql);
    const id = await incomingCall('call-tr-0002', '09820022222');
    const m = await messageRow(id);
    expect(m.recordingPath).toEqual(expect.stringContaining(`/messages/${id}/`));
    expect(m.transcript).toBeNull();
    expect(m.metadata.transcription).toEqual({ status: 'untranscribed', reason: 'no speech-to-text provider configured' });
    expect(openai.transcriptions).toHaveLength(0);
    expect(await jobsFor(id, 'message.analyze')).toEqual([]);
    const events = (await since()).filter((b) => b.event === 'message.updated' && b.payload.data.id === id && b.payload.data.transcription);
    expect(events.map((e) => e.payload.data.transcription.status)).toEqual(['untranscribed']);
  });

  it('retries after a provider error, and marks the call failed once the job is dead', async () => {
    configure(true);
    openai.replyTranscription({ status: 500, message: 'upstream overloaded' });
    const id = await incomingCall('call-tr-0003', '09820033333');
    let [job] = await jobsFor(id, 'call.transcribe');
    expect(job).toMatchObject({ status: 'pending', attempts: 1, lastError: expect.stringContaining('upstream overloaded') });
    expect((await messageRow(id)).transcript).toBeNull();

    // The retry succeeds.
    openai.replyTranscription({ text: 'Please send the draft bill of lading today.' });
    openai.fallback = { status: 500, message: 'no chat reply scripted' }; // the analysis falls back to its offline rules
    await db.sql`update app.outbox set run_at = now() where name = 'call.transcribe' and payload->>'messageId' = ${id}`;
    await drainJobs();
    [job] = await jobsFor(id, 'call.transcribe');
    expect(job).toMatchObject({ status: 'done', attempts: 2 });
    expect(openai.transcriptions).toHaveLength(2);
    const done = await messageRow(id);
    expect(done.transcript).toBe('Please send the draft bill of lading today.');
    expect(done.metadata.transcription.status).toBe('done');
    expect(done.analyzedAt).not.toBeNull();

    // Another call whose provider keeps failing: after its last attempt it is marked failed.
    openai.replyTranscription({ status: 500, message: 'still down' }, { status: 503, message: 'still down' });
    const other = await incomingCall('call-tr-0004', '09820044444');
    await db.sql`update app.outbox set run_at = now(), max_attempts = 2 where name = 'call.transcribe' and payload->>'messageId' = ${other}`;
    await drainJobs();
    expect(await jobsFor(other, 'call.transcribe')).toEqual([expect.objectContaining({ status: 'dead', attempts: 2 })]);
    const failed = await messageRow(other);
    expect(failed.transcript).toBeNull();
    expect(failed.metadata.transcription).toMatchObject({ status: 'failed', error: expect.stringContaining('still down') });
  });
});
