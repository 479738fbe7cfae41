// Copying inbound media and call recordings (the exotel.media.fetch job) when the file cannot be had: a
// name that does not resolve (getaddrinfo ENOTFOUND, EAI_AGAIN) is retried by the job system, and when
// the retries are spent, or the failure is one no retry fixes (404), the message says why it has no
// file (`mediaError`, with `message.updated`). Nothing here reaches the internet: names under the
// reserved .invalid domain are answered by the network guard itself, the other one by a resolver the
// test puts in front of it, and the files come from a local server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setHostLookup } from '../../lib/channels/net-guard.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { exotelTestbed, type ExotelTestbed } from '../helpers/exotel-setup.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let bed: ExotelTestbed;
let fake: ExotelTestbed['fake'];
let wa: { id: string; secret: string };
let voice: { id: string; secret: string };

beforeAll(async () => {
  db = await testDatabase();
  bed = await exotelTestbed({ mediaHosts: ['media.exotel.invalid', 'recordings.exotel.invalid', 'media.flaky.example'] });
  fake = bed.fake;
  wa = await bed.channel({ kind: 'whatsapp', name: 'WA media', address: '+912250008888' });
  voice = await bed.channel({ kind: 'voice', name: 'ExoPhone media', address: '022 5555 8888' });
});

afterAll(async () => {
  await bed.close();
  await db.close();
});

/** An incoming WhatsApp image at this URL; the stored message's id. */
async function imageAt(sid: string, url: string): Promise<string> {
  const res = await call('POST', `/api/webhooks/exotel/${wa.id}?token=${wa.secret}`, {
    token: null,
    body: {
      whatsapp: {
        messages: [
          {
            callback_type: 'icm',
            sid,
            from: '919876500501',
            to: '912250008888',
            profile_name: 'Raju Transport',
            timestamp: new Date().toISOString(),
            content: { type: 'image', image: { url, caption: 'Seal photo', mime_type: 'image/jpeg' } },
          },
        ],
      },
    },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as any).results[0].messageId;
}

const fetchJob = async (messageId: string) =>
  (
    await db.sql<{ id: string; status: string; attempts: number; maxAttempts: number; lastError: string | null }[]>`
      select id, status, attempts, max_attempts, last_error from app.outbox where name = 'exotel.media.fetch' and payload->>'messageId' = ${messageId}`
  )[0]!;
/** Runs the job's next attempt now instead of after its backoff. */
const runAgainNow = async (jobId: string) => {
  await db.sql`update app.outbox set run_at = now() where id = ${jobId} and status = 'pending'`;
  await drainJobs();
};
const mediaErrorOf = async (messageId: string) => (await json('GET', `/api/messages/${messageId}`)).body.mediaError;

describe('media that cannot be fetched', () => {
  it('retries a media host that does not resolve, then records why the file is missing when the retries are spent', async () => {
    const messageId = await imageAt('wa-media-dns-1', 'https://media.exotel.invalid/files/seal.jpg');
    await drainJobs();
    let job = await fetchJob(messageId);
    expect(job).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HostRefusedError: media.exotel.invalid does not resolve (ENOTFOUND)' });
    // Still being retried: nothing is shown as failed yet.
    expect(await mediaErrorOf(messageId)).toBeNull();

    const since = await broadcastsSince(db.sql);
    for (let i = 1; i < job.maxAttempts; i++) await runAgainNow(job.id);
    job = await fetchJob(messageId);
    expect(job).toMatchObject({ status: 'dead', attempts: job.maxAttempts });
    const error = { reason: 'media.exotel.invalid does not resolve (ENOTFOUND)', at: expect.any(String), attempts: job.maxAttempts };
    expect(await mediaErrorOf(messageId)).toEqual(error);
    const [m] = await db.sql<any[]>`select metadata from app.messages where id = ${messageId}`;
    expect(m.metadata.media).toMatchObject({ url: 'https://media.exotel.invalid/files/seal.jpg', fetchError: error });
    const updates = (await since()).filter((b) => b.event === 'message.updated' && b.payload.data.id === messageId);
    expect(updates.map((b) => b.payload.data.mediaError)).toEqual([error]);
    const [audit] = await db.sql<any[]>`select data from app.audit_log where action = 'message.media_failed' and entity_id = ${messageId}`;
    expect(audit!.data).toEqual({ purpose: 'media', reason: error.reason });
    expect(await db.sql`select 1 from app.attachments where message_id = ${messageId}`).toHaveLength(0);
  });

  it('copies the file once a name that failed with EAI_AGAIN resolves again', async () => {
    const port = new URL(fake.url).port;
    fake.serve('eir.jpg', 'image/jpeg', Buffer.from('fake-jpeg-eir'));
    let lookups = 0;
    const restore = setHostLookup(async (host) => {
      if (host !== 'media.flaky.example') throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      lookups += 1;
      if (lookups === 1) throw Object.assign(new Error(`getaddrinfo EAI_AGAIN ${host}`), { code: 'EAI_AGAIN' });
      return ['127.0.0.1'];
    });
    try {
      const messageId = await imageAt('wa-media-dns-2', `http://media.flaky.example:${port}/media/eir.jpg`);
      await drainJobs();
      const job = await fetchJob(messageId);
      expect(job).toMatchObject({ status: 'pending', attempts: 1, lastError: expect.stringContaining('(EAI_AGAIN)') });
      await runAgainNow(job.id);
      expect(await fetchJob(messageId)).toMatchObject({ status: 'done', attempts: 2 });
      const files = await db.sql<any[]>`select filename, content_type, status from app.attachments where message_id = ${messageId}`;
      expect(files).toEqual([{ filename: 'eir.jpg', contentType: 'image/jpeg', status: 'ready' }]);
      expect(await mediaErrorOf(messageId)).toBeNull();
    } finally {
      restore();
    }
  });

  it('records a 404 at once (no retry can fix it), and a recording whose host does not resolve on the call', async () => {
    const missing = await imageAt('wa-media-404', `${fake.url}/media/never-uploaded.jpg`);
    await drainJobs();
    expect(await fetchJob(missing)).toMatchObject({ status: 'dead', attempts: 1 });
    expect(await mediaErrorOf(missing)).toEqual({ reason: 'The provider answered 404', at: expect.any(String), attempts: 1 });

    const params = new URLSearchParams({
      token: voice.secret,
      CallSid: 'call-rec-dns-1',
      CallFrom: '09820098501',
      CallTo: '02255558888',
      Direction: 'incoming',
      CallType: 'completed',
      DialCallStatus: 'completed',
      DialCallDuration: '31',
      StartTime: '2026-11-26 11:00:00',
      RecordingUrl: 'https://recordings.exotel.invalid/seahawk1/call-rec-dns-1.mp3',
    });
    expect((await call('GET', `/api/webhooks/exotel/${voice.id}?${params}`, { token: null })).status).toBe(200);
    const [c] = await db.sql<{ id: string }[]>`select id from app.messages where provider_message_id = 'call-rec-dns-1'`;
    await drainJobs();
    const job = await fetchJob(c!.id);
    expect(job).toMatchObject({ status: 'pending', attempts: 1 });
    for (let i = 1; i < job.maxAttempts; i++) await runAgainNow(job.id);
    const error = { reason: 'recordings.exotel.invalid does not resolve (ENOTFOUND)', at: expect.any(String), attempts: job.maxAttempts };
    expect(await mediaErrorOf(c!.id)).toEqual(error);
    const [m] = await db.sql<any[]>`select recording_path, metadata from app.messages where id = ${c!.id}`;
    expect(m).toMatchObject({ recordingPath: null, metadata: { recordingError: error } });
  });
});
