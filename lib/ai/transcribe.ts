// The `call.transcribe` job: turns a call's stored recording into its transcript through the configured
// OpenAI-compatible speech-to-text endpoint (AI SDK transcription, `/audio/transcriptions`), records how
// in `metadata.transcription`, announces `message.updated` and queues the message's analysis. No API key:
// the call is marked untranscribed. A provider failure is retried; once dead the call is marked failed.
import { createOpenAI } from '@ai-sdk/openai';
import { experimental_transcribe as transcribe } from 'ai';
import { config } from '../config.js';
import type { Ctx } from '../context.js';
import { messageIdentifiers } from '../logistics/identifiers.js';
import { defineJob, PermanentJobError } from '../jobs/registry.js';
import { announceMessage } from '../messages/announce.js';
import { storage, StorageError } from '../storage/index.js';
import { enqueueAnalysis, jobSpecs } from '../jobs/specs.js';

/** Longest time one transcription request may take (recordings are minutes long, so well above AI_TIMEOUT_MS). */
const TRANSCRIBE_TIMEOUT_MS = 120_000;

export type TranscriptionState =
  | { status: 'done'; model: string; at: string; language?: string; durationSeconds?: number }
  | { status: 'untranscribed'; reason: string }
  | { status: 'failed'; error: string };

interface CallRow {
  id: string;
  threadId: string;
  kind: string;
  recordingPath: string | null;
  transcript: string | null;
  subject: string | null;
}

async function loadCall(ctx: Ctx, messageId: string): Promise<CallRow | undefined> {
  const [row] = await ctx.sql<CallRow[]>`
    select id, thread_id, kind, recording_path, transcript, subject from app.messages
    where id = ${messageId} and org_id = ${ctx.orgId} for update`;
  return row;
}

/** Stores the transcription state (and the transcript, when there is one) and announces `message.updated`. */
async function record(ctx: Ctx, call: CallRow, state: TranscriptionState, transcript?: string): Promise<void> {
  await ctx.sql`
    update app.messages set
      transcript = ${transcript === undefined ? ctx.sql`transcript` : transcript},
      ${transcript === undefined ? ctx.sql`` : ctx.sql`identifiers = ${messageIdentifiers({ subject: call.subject, body: transcript })}::text[],`}
      metadata = metadata || ${ctx.sql.json({ transcription: state } as never)}
    where id = ${call.id}`;
  await announceMessage(ctx, call.id, { action: `message.transcription_${state.status}`, data: state });
}

export const transcribeCallJob = defineJob({
  ...jobSpecs.callTranscribe,
  async handle({ ctx, payload }) {
    const call = await loadCall(ctx, payload.messageId);
    // Deleted since, not a call, no recording yet, or already transcribed: nothing to do.
    if (!call || call.kind !== 'call' || !call.recordingPath || call.transcript) return;
    const ai = config().ai;
    if (!ai.apiKey) {
      await record(ctx, call, { status: 'untranscribed', reason: 'no speech-to-text provider configured' });
      return;
    }
    let audio: Buffer;
    try {
      audio = await storage().getObject(call.recordingPath);
    } catch (error) {
      if (error instanceof StorageError && error.kind === 'not_found') throw new PermanentJobError(`The recording ${call.recordingPath} is not in storage`);
      throw error;
    }
    const model = ai.transcriptionModel;
    const provider = createOpenAI({ apiKey: ai.apiKey, baseURL: ai.baseUrl });
    // One request per attempt: the job's retries (with backoff) stand in for the SDK's.
    const result = await transcribe({
      model: provider.transcription(model),
      audio,
      maxRetries: 0,
      abortSignal: AbortSignal.timeout(TRANSCRIBE_TIMEOUT_MS),
    });
    const text = result.text.trim();
    await record(
      ctx,
      call,
      {
        status: 'done',
        model,
        at: new Date().toISOString(),
        ...(result.language ? { language: result.language } : {}),
        ...(result.durationInSeconds != null ? { durationSeconds: result.durationInSeconds } : {}),
      },
      text,
    );
    if (text) await enqueueAnalysis(ctx, call.id);
  },
  async onDead({ ctx, payload, error }) {
    const call = await loadCall(ctx, payload.messageId);
    if (!call || call.transcript) return;
    await record(ctx, call, { status: 'failed', error: error.slice(0, 600) });
  },
});
