// The inbound mail poller. Every minute the cron enqueues one `email.poll` job per enabled folder of
// every mailbox; a job reads the folder read-only over IMAP (BODY.PEEK: flags never change), takes
// the UIDs above the folder's high-water mark in order, parses each message outside any transaction,
// then stores it (or quarantines it) and moves the mark in ONE transaction by compare-and-set. So two
// overlapping polls can neither skip nor double a message, and a poll killed mid-batch resumes after
// the last committed UID. A changed UIDVALIDITY restarts the folder from UID 0 (dedupe keys make the
// second pass store nothing twice).
import { createHash, randomUUID } from 'node:crypto';
import type { ImapFlow, MailboxObject } from 'imapflow';
import type postgres from 'postgres';
import { storeRawSource } from '../attachments/service.js';
import {
  connectFailure,
  forgetAccessToken,
  getChannel,
  imapLogin,
  imapServer,
  loadMailboxChannel,
  saveSecretWith,
  type MailboxChannel,
} from '../channels/mailboxes.js';
import { config } from '../config.js';
import { asSystem, type Ctx, type QueuedJob } from '../context.js';
import { type Tx } from '../db/client.js';
import { publishJobs } from '../jobs/publish.js';
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { log } from '../log.js';
import { recordChange, topics } from '../realtime.js';
import { closeImap, describeImapError, ImapConnectError, openImap } from './imap.js';
import { ingestEmail, lockForIngest, organizationDomains, type Mailbox } from './ingest.js';
import { INGEST_PARSE_TIMEOUT_MS, parseEmail, type ParsedEmail } from './parse.js';
import { quarantineMessage } from './quarantine.js';

/** After this many failed ingests of the same UID (one per poll), the message is quarantined. */
export const MAX_INGEST_ATTEMPTS = 3;
/** Message sources fetched in one round trip add up to at most this many bytes. */
const FETCH_GROUP_BYTES = 32 * 1024 * 1024;
/** Messages stored in one transaction (with one move of the folder's mark). */
const RUN_MESSAGES = 20;
/** Not worth starting IDLE for less than this. */
const IDLE_MIN_MS = 1_000;
/**
 * IDLE in slices of at most this long, with a NOOP before each: a server that reports new mail only
 * when it next looks at the folder (Dovecot, for mail that came between two IDLEs, did so up to 30 s
 * late) then tells at the NOOP, so no message waits more than a slice.
 */
const IDLE_SLICE_MS = 10_000;

/**
 * Counts the server's reports of new messages in the open folder (untagged EXISTS), whenever they
 * come: during IDLE, or in the middle of a fetch (a report then must not be missed by the next IDLE).
 */
function watchArrivals(client: ImapFlow) {
  let reports = 0;
  const wake = new Set<() => void>();
  const onExists = (event: { count: number; prevCount: number }) => {
    if (event.count <= event.prevCount) return;
    reports++;
    for (const w of wake) w();
  };
  client.on('exists', onExists);
  return {
    reports: () => reports,
    /**
     * 'arrived' at once when there were reports after `seen`; else IDLE until one comes ('arrived'),
     * `ms` pass ('quiet') or the connection ends ('closed'). The next command ends the IDLE (imapflow
     * sends DONE first).
     */
    after(seen: number, ms: number): Promise<'arrived' | 'quiet' | 'closed'> {
      if (reports > seen) return Promise.resolve('arrived');
      return new Promise((resolve) => {
        const done = (arrived: 'arrived' | 'quiet' | 'closed') => {
          clearTimeout(timer);
          wake.delete(onReport);
          client.off('close', onClose);
          resolve(arrived);
        };
        const onReport = () => done('arrived');
        const onClose = () => done('closed');
        const timer = setTimeout(() => done('quiet'), ms);
        wake.add(onReport);
        client.on('close', onClose);
        client.idle().catch(() => done('closed'));
      });
    },
    stop: () => client.off('exists', onExists),
  };
}

export interface PollOptions {
  /** Messages per IMAP fetch (default EMAIL_POLL_BATCH_SIZE). */
  batchSize?: number;
  /** Stop taking new messages after this long; the rest waits for the next tick (default EMAIL_POLL_TIME_BUDGET_MS). */
  timeBudgetMs?: number;
  /** Larger messages are quarantined without being downloaded (default EMAIL_MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
  /**
   * After catching up, keep the folder open this long (within the time budget) with IMAP IDLE and
   * read new mail the moment the server reports it (default EMAIL_POLL_IDLE_MS; 0: return at once).
   */
  idleMs?: number;
  /** The job's context when run by the `email.poll` job (see transactionsFor). */
  jobCtx?: Ctx;
  /** Stops the run before the next message, as if the process had been stopped there. */
  signal?: AbortSignal;
  /** Runs inside each message's transaction, after it was stored and before the commit (tests). */
  beforeCommit?: (uid: number, outcome: 'stored' | 'duplicate' | 'quarantined' | 'skipped') => void | Promise<void>;
}

export interface PollResult {
  /**
   * done: caught up; budget: time ran out, the rest is for the next tick; overtaken: another poll of
   * the folder is ahead; aborted: stopped by the signal; failed: a message could not be stored (the
   * error is recorded on the folder); skipped: the channel or folder is disabled or gone.
   */
  status: 'done' | 'budget' | 'overtaken' | 'aborted' | 'failed' | 'skipped';
  /** Messages read from the server in this run. */
  fetched: number;
  stored: number;
  duplicates: number;
  quarantined: number;
  /** The folder's high-water mark after the run. */
  lastUid: number;
  uidValidity: string | null;
  /** True when the server's UIDVALIDITY changed and the folder was read again from the start. */
  resynced: boolean;
  error?: string;
}

/** Logging in or reaching the server failed: recorded on the channel, and the job retries. */
export class MailboxConnectionError extends Error {
  override name = 'MailboxConnectionError';
}

type Transact = <T>(fn: (ctx: Ctx) => Promise<T>) => Promise<T>;

/** One transaction per call, with the organization's system claims; its jobs are published after commit. */
function ownTransactions(orgId: string, requestId: string): Transact {
  return async <T>(fn: (ctx: Ctx) => Promise<T>): Promise<T> => {
    const jobs: QueuedJob[] = [];
    const result = await asSystem(orgId, requestId, jobs, fn);
    if (jobs.length > 0) await publishJobs(jobs);
    return result;
  };
}

/** One savepoint per call inside the job's transaction (committed with the job). */
function savepoints(ctx: Ctx): Transact {
  return <T>(fn: (ctx: Ctx) => Promise<T>): Promise<T> =>
    (ctx.sql as postgres.TransactionSql<Record<string, unknown>>).savepoint((sp) => fn({ ...ctx, sql: sp as unknown as Tx })) as Promise<T>;
}

/**
 * The job executor runs handlers inside a transaction. On PostgreSQL the poll commits each run of
 * messages in a transaction of its own beside it (the job's stays idle and holds no locks), so stored
 * mail shows at once and thread rows are not locked for the whole poll. Embedded PGlite serves one
 * transaction at a time, where a second one would wait for the job's forever: there each run is a
 * savepoint of the job's transaction, and the poll commits as a whole (still exactly once).
 */
async function transactionsFor(jobCtx: Ctx, requestId: string): Promise<{ transact: Transact; embedded: boolean }> {
  const [row] = await jobCtx.sql<{ embedded: boolean }[]>`select version() like '%PGlite%' as embedded`;
  return { transact: row!.embedded ? savepoints(jobCtx) : ownTransactions(jobCtx.orgId, requestId), embedded: row!.embedded };
}

interface FolderState {
  id: string;
  enabled: boolean;
  uidValidity: string | null;
  lastUid: number;
  failingUid: number | null;
  failingCount: number;
  lastError: string | null;
}

async function folderState(ctx: Ctx, channelId: string, path: string): Promise<FolderState | null> {
  const [row] = await ctx.sql<(Omit<FolderState, 'lastUid' | 'failingUid'> & { lastUid: string; failingUid: string | null })[]>`
    select id, enabled, uid_validity, last_uid, failing_uid, failing_count, last_error
    from app.mailbox_folders where org_id = ${ctx.orgId} and channel_id = ${channelId} and path = ${path}`;
  if (!row) return null;
  return { ...row, lastUid: Number(row.lastUid), failingUid: row.failingUid === null ? null : Number(row.failingUid) };
}

/** Sets the channel's status after a poll, announcing a change (active <-> error) to the organization. */
async function setChannelHealth(ctx: Ctx, channelId: string, healthy: boolean, error: string | null): Promise<void> {
  const [before] = await ctx.sql<{ status: string }[]>`select status from app.channels where id = ${channelId} and org_id = ${ctx.orgId}`;
  if (!before || before.status === 'disabled') return;
  const status = healthy ? 'active' : 'error';
  await ctx.sql`
    update app.channels set status = ${status}, last_error = ${healthy ? null : error},
      last_synced_at = ${healthy ? ctx.sql`now()` : ctx.sql`last_synced_at`}
    where id = ${channelId} and org_id = ${ctx.orgId}`;
  if (before.status === status) return;
  await recordChange(ctx, {
    event: 'channel.updated',
    topics: [topics.org(ctx.orgId)],
    data: await getChannel(ctx, channelId),
    audit: { action: healthy ? 'channel.recovered' : 'channel.failed', entityType: 'channel', entityId: channelId, data: { error } },
  });
}

/** Records a failure to reach or log in to the server on the folder and the channel. */
export async function recordConnectionFailure(ctx: Ctx, channelId: string, folder: string, error: string): Promise<void> {
  await ctx.sql`
    update app.mailbox_folders set last_error = ${error}, last_polled_at = now()
    where org_id = ${ctx.orgId} and channel_id = ${channelId} and path = ${folder}`;
  await setChannelHealth(ctx, channelId, false, error);
}

/** Logs in, retrying once with a fresh access token when the server refused a cached one. */
async function connect(channel: MailboxChannel, transact: Transact): Promise<ImapFlow> {
  const server = imapServer(channel);
  const save = (next: Parameters<ReturnType<typeof saveSecretWith>>[0], previous: Parameters<ReturnType<typeof saveSecretWith>>[1]) =>
    transact((ctx) => saveSecretWith(ctx, channel.id)(next, previous));
  try {
    return await openImap(server, await imapLogin(channel, save));
  } catch (error) {
    if (!(error instanceof ImapConnectError && error.kind === 'auth' && channel.settings.imap.auth.method === 'oauth2')) throw error;
    forgetAccessToken(channel.id);
    return openImap(server, await imapLogin(channel, save, { forceRefresh: true }));
  }
}

/** Where the raw source of each fetched message is kept (content-addressed, so storing twice is harmless). */
async function storeRaw(orgId: string, raw: Buffer): Promise<string> {
  return storeRawSource(orgId, createHash('sha256').update(raw).digest('hex'), raw);
}

type Outcome = 'stored' | 'duplicate' | 'quarantined' | 'skipped' | 'overtaken';

interface MessageInput {
  uid: number;
  raw: Buffer | null;
  rawPath: string | null;
  parsed: ParsedEmail | null;
  /** Set when the message goes to quarantine instead of the inbox. */
  quarantine: string | null;
  size: number;
}

/**
 * Reads one folder of one mailbox and stores what is new. Throws MailboxConnectionError when the
 * server cannot be reached or refuses the login (after recording it); everything else ends in the
 * returned status.
 */
export async function pollFolder(orgId: string, channelId: string, folder: string, options: PollOptions = {}): Promise<PollResult> {
  const cfg = config().emailPoll;
  const batchSize = options.batchSize ?? cfg.batchSize;
  const budgetMs = options.timeBudgetMs ?? cfg.timeBudgetMs;
  const maxBytes = options.maxMessageBytes ?? cfg.maxMessageBytes;
  const started = Date.now();
  const requestId = `poll:${randomUUID().slice(0, 8)}`;
  const { transact, embedded } = options.jobCtx
    ? await transactionsFor(options.jobCtx, requestId)
    : { transact: ownTransactions(orgId, requestId), embedded: false };
  // There the job's transaction holds PGlite's one connection: listening would stall every request.
  const idleMs = embedded ? 0 : (options.idleMs ?? cfg.idleMs);
  const result: PollResult = { status: 'done', fetched: 0, stored: 0, duplicates: 0, quarantined: 0, lastUid: 0, uidValidity: null, resynced: false };

  const loaded = await transact(async (ctx) => {
    const channel = await loadMailboxChannel(ctx, channelId);
    return { channel, state: channel ? await folderState(ctx, channelId, folder) : null, ownDomains: await organizationDomains(ctx) };
  });
  const { channel, ownDomains } = loaded;
  let state = loaded.state;
  if (!channel || channel.status === 'disabled' || !state || !state.enabled) return { ...result, status: 'skipped' };
  result.lastUid = state.lastUid;
  result.uidValidity = state.uidValidity;

  const fail = async (error: unknown): Promise<never> => {
    const failure = connectFailure(error) ?? { error: describeImapError(error, imapServer(channel)).message };
    await transact((ctx) => recordConnectionFailure(ctx, channelId, folder, failure.error)).catch((e: unknown) =>
      log.error('could not record a mailbox failure', { channelId, error: e }),
    );
    throw new MailboxConnectionError(failure.error, { cause: error });
  };

  let client: ImapFlow | undefined;
  try {
    client = await connect(channel, transact).catch(fail);
    let box: MailboxObject;
    try {
      box = await client.mailboxOpen(folder, { readOnly: true });
    } catch (error) {
      const e = error as { mailboxMissing?: boolean; responseStatus?: string; responseText?: string };
      if (!e.mailboxMissing && e.responseStatus !== 'NO') return await fail(error);
      result.status = 'failed';
      result.error = `The folder "${folder}" cannot be opened on the server: ${e.responseText ?? 'it does not exist'}`;
      await transact((ctx) => ctx.sql`update app.mailbox_folders set last_error = ${result.error!}, last_polled_at = now() where id = ${state!.id}`);
      return result;
    }

    // UIDVALIDITY: UIDs only mean something within it; a new one renumbers the folder.
    const validity = box.uidValidity.toString();
    if (state.uidValidity !== validity) {
      const previous = state;
      const reset = await transact(
        (ctx) => ctx.sql`
          update app.mailbox_folders set uid_validity = ${validity}, last_uid = 0, failing_uid = null, failing_count = 0
          where id = ${previous.id} and uid_validity is not distinct from ${previous.uidValidity}::bigint and last_uid = ${previous.lastUid}
          returning id`,
      );
      if (reset.length === 1) {
        result.resynced = previous.uidValidity !== null;
        state = { ...previous, uidValidity: validity, lastUid: 0, failingUid: null, failingCount: 0 };
      } else {
        state = await transact((ctx) => folderState(ctx, channelId, folder));
        if (!state || state.uidValidity !== validity) return { ...result, status: 'overtaken' };
      }
      if (result.resynced) log.warn('mailbox folder renumbered; reading it again', { channelId, folder, uidValidity: validity });
    }
    result.uidValidity = validity;
    result.lastUid = state.lastUid;
    const current = state;

    // When the poll listens afterwards, new-mail reports are counted from before the first search:
    // whatever arrives after it is read while listening.
    const arrivals = idleMs > 0 ? watchArrivals(client) : undefined;
    let seen = arrivals?.reports() ?? 0;

    // Everything above the high-water mark, oldest first ("N:*" always matches the last message).
    let uids: number[] = [];
    if (!(box.uidNext && box.uidNext - 1 <= current.lastUid)) {
      const found = await client.search({ uid: `${current.lastUid + 1}:*` }, { uid: true }).catch(fail);
      uids = (found || []).filter((u) => u > current.lastUid).sort((a, b) => a - b);
    }

    const overBudget = () => Date.now() - started > budgetMs;
    const stopReason = (): 'aborted' | 'budget' | null => (options.signal?.aborted ? 'aborted' : overBudget() ? 'budget' : null);

    const mailbox: Mailbox = { channelId, address: channel.address, ownDomains, folder };

    /** Stores one message (or its quarantine row) in the run's transaction. */
    const storeOne = async (ctx: Ctx, input: MessageInput): Promise<Exclude<Outcome, 'overtaken'>> => {
      let stored: Exclude<Outcome, 'overtaken'> = 'skipped';
      if (input.quarantine !== null) {
        await quarantineMessage(ctx, {
          channelId,
          folder,
          uidValidity: validity,
          uid: input.uid,
          rawStoragePath: input.rawPath,
          rawSize: input.size,
          error: input.quarantine,
        });
        stored = 'quarantined';
      } else if (input.parsed) {
        const ingested = await ingestEmail(ctx, input.parsed, { ...mailbox, uid: input.uid, rawStoragePath: input.rawPath });
        stored = ingested.outcome;
      }
      await options.beforeCommit?.(input.uid, stored);
      return stored;
    };

    /**
     * Stores a run of consecutive messages and moves the mark past the last of them in one
     * transaction: one commit per run, not per message. The mark moves first, by compare-and-set: its
     * row lock makes an overlapping poll of this folder wait here, and then find the mark moved and stop.
     */
    const storeRun = async (inputs: MessageInput[]): Promise<Outcome[]> => {
      const last = inputs[inputs.length - 1]!.uid;
      const outcomes = await transact(async (ctx): Promise<Outcome[]> => {
        const moved = await ctx.sql`
          update app.mailbox_folders set last_uid = ${last}, failing_uid = null, failing_count = 0
          where id = ${current.id} and last_uid = ${result.lastUid} and uid_validity = ${validity}::bigint
          returning id`;
        if (moved.length === 0) return ['overtaken'];
        await lockForIngest(
          ctx,
          inputs.flatMap((i) => (i.parsed && i.quarantine === null ? [i.parsed] : [])),
          mailbox,
        );
        const out: Outcome[] = [];
        for (const input of inputs) out.push(await storeOne(ctx, input));
        return out;
      });
      if (outcomes[0] !== 'overtaken') result.lastUid = last;
      return outcomes;
    };

    /** A run; when it fails, its messages one by one, so those before the failing one are kept and that one is known. */
    const storeRunOrEach = async (inputs: MessageInput[]): Promise<{ outcomes: Outcome[]; failed?: { uid: number; error: unknown } }> => {
      if (inputs.length > 1) {
        try {
          return { outcomes: await storeRun(inputs) };
        } catch {
          // Rolled back as a whole: find the culprit below.
        }
      }
      const outcomes: Outcome[] = [];
      for (const input of inputs) {
        try {
          const [outcome] = await storeRun([input]);
          outcomes.push(outcome!);
          if (outcome === 'overtaken') break;
        } catch (error) {
          return { outcomes, failed: { uid: input.uid, error } };
        }
      }
      return { outcomes };
    };

    /**
     * Reads the fetched sources of a run: each raw source is stored (concurrently: a storage upload is
     * a network call in production) and parsed. CPU work, never inside a transaction; the next run is
     * read while the current one is being stored.
     */
    const prepareRun = async (
      run: number[],
      sizes: Map<number, number>,
      sources: Map<number, Buffer>,
    ): Promise<{ inputs: MessageInput[]; failure?: string }> => {
      const inputs: MessageInput[] = run.map((uid) => ({
        uid,
        raw: sources.get(uid) ?? null,
        rawPath: null,
        parsed: null,
        quarantine: null,
        size: sizes.get(uid) ?? 0,
      }));
      let failure: string | undefined;
      await Promise.all(
        inputs.map(async (input) => {
          if (input.size > maxBytes || !input.raw) return;
          try {
            input.rawPath = await storeRaw(orgId, input.raw);
          } catch (error) {
            failure ??= `Could not store the raw source of UID ${input.uid}: ${(error as Error).message}`;
          }
        }),
      );
      // A raw source that could not be kept stops the run before that message (nothing is stored without it).
      const usable = failure
        ? inputs.slice(
            0,
            inputs.findIndex((i) => i.raw && i.size <= maxBytes && !i.rawPath),
          )
        : inputs;
      for (const input of usable) {
        if (input.size > maxBytes) {
          input.quarantine = `The message is ${input.size} bytes, more than the ${maxBytes}-byte limit (EMAIL_MAX_MESSAGE_BYTES); it was not downloaded`;
        } else if (input.raw) {
          if (current.failingUid === input.uid && current.failingCount >= MAX_INGEST_ATTEMPTS) {
            input.quarantine = `Storing the message failed ${current.failingCount} times: ${current.lastError ?? 'unknown error'}`;
          } else {
            try {
              input.parsed = await parseEmail(input.raw, { timeoutMs: INGEST_PARSE_TIMEOUT_MS });
            } catch (error) {
              input.quarantine = `The message cannot be read: ${(error as Error).message}`;
            }
          }
        }
        // (Neither: the message was deleted between the search and the fetch; the mark moves past it.)
      }
      return { inputs: usable, failure };
    };

    /** The messages to read, in groups whose sources together stay under FETCH_GROUP_BYTES (a large message goes alone). */
    async function* groupsToRead(uids: number[]): AsyncGenerator<{ uids: number[]; sizes: Map<number, number> }> {
      for (let i = 0; i < uids.length; i += batchSize) {
        const chunk = uids.slice(i, i + batchSize);
        const sizes = new Map<number, number>();
        const metas = await client!.fetchAll(chunk.join(','), { uid: true, size: true }, { uid: true }).catch(fail);
        for (const m of metas) sizes.set(m.uid, m.size ?? 0);
        let group: number[] = [];
        let groupBytes = 0;
        for (const uid of chunk) {
          const size = Math.min(sizes.get(uid) ?? 0, maxBytes);
          if (group.length > 0 && groupBytes + size > FETCH_GROUP_BYTES) {
            yield { uids: group, sizes };
            group = [];
            groupBytes = 0;
          }
          group.push(uid);
          groupBytes += size;
        }
        if (group.length > 0) yield { uids: group, sizes };
      }
    }

    /**
     * A group's sources, fetched while the previous group is parsed and stored. `source` is BODY.PEEK[]:
     * reading never sets \Seen (and the folder is open read-only). A failure is returned, not thrown, and
     * handled when the group's turn comes.
     */
    const fetchSources = async (g: {
      uids: number[];
      sizes: Map<number, number>;
    }): Promise<{ uids: number[]; sizes: Map<number, number>; sources: Map<number, Buffer>; error?: unknown }> => {
      const wanted = g.uids.filter((u) => g.sizes.has(u) && g.sizes.get(u)! <= maxBytes);
      const sources = new Map<number, Buffer>();
      if (wanted.length === 0) return { ...g, sources };
      try {
        const fetched = await client!.fetchAll(wanted.join(','), { uid: true, source: true }, { uid: true });
        for (const m of fetched) if (m.source) sources.set(m.uid, m.source);
        return { ...g, sources };
      } catch (error) {
        return { ...g, sources, error };
      }
    };

    /** Reads and stores the given new messages (stopping early on the budget, an abort, a failure or an overtaking poll). */
    const readNew = async (uids: number[]): Promise<void> => {
      const groups = groupsToRead(uids);
      const first = await groups.next();
      let fetching = first.done ? undefined : fetchSources(first.value);
      while (fetching) {
        const stop = stopReason();
        if (stop) {
          result.status = stop;
          return;
        }
        const { uids, sizes, sources, error } = await fetching;
        if (error) await fail(error);
        const following = await groups.next();
        fetching = following.done ? undefined : fetchSources(following.value);
        result.fetched += sources.size;
        const runs: number[][] = [];
        for (let r = 0; r < uids.length; r += RUN_MESSAGES) runs.push(uids.slice(r, r + RUN_MESSAGES));
        // Started ahead and maybe left behind when the run stops: its failure is handled where it is awaited.
        const ahead = (run: number[]) => {
          const p = prepareRun(run, sizes, sources);
          p.catch(() => undefined);
          return p;
        };
        let next: ReturnType<typeof prepareRun> | undefined = ahead(runs[0]!);
        for (let r = 0; r < runs.length; r++) {
          const prepared: { inputs: MessageInput[]; failure?: string } = await next!;
          const stop = stopReason();
          if (stop) {
            result.status = stop;
            return;
          }
          next = r + 1 < runs.length && !prepared.failure ? ahead(runs[r + 1]!) : undefined;
          const { outcomes, failed } = prepared.inputs.length ? await storeRunOrEach(prepared.inputs) : { outcomes: [] };
          for (const outcome of outcomes) {
            if (outcome === 'stored') result.stored++;
            else if (outcome === 'duplicate') result.duplicates++;
            else if (outcome === 'quarantined') result.quarantined++;
          }
          if (outcomes.includes('overtaken')) {
            result.status = 'overtaken';
            return;
          }
          if (failed) {
            const message = `Storing UID ${failed.uid} of "${folder}" failed: ${(failed.error as Error).message}`;
            result.status = 'failed';
            result.error = message;
            await transact(
              (ctx) => ctx.sql`
                update app.mailbox_folders set
                  failing_count = case when failing_uid = ${failed.uid} then failing_count + 1 else 1 end,
                  failing_uid = ${failed.uid}, last_error = ${message.slice(0, 2000)}
                where id = ${current.id} and last_uid = ${result.lastUid}`,
            ).catch((e: unknown) => log.error('could not record a failed message', { channelId, uid: failed.uid, error: e }));
            log.warn('mailbox message failed', { channelId, folder, uid: failed.uid, error: message });
            return;
          }
          if (prepared.failure) {
            result.status = 'failed';
            result.error = prepared.failure;
            return;
          }
        }
      }
    };

    await readNew(uids);
    // Then, when asked, listen (IMAP IDLE) for the rest of the time and read what arrives at once.
    const idleUntil = started + Math.min(idleMs, budgetMs);
    while (arrivals && result.status === 'done') {
      // A connection lost while listening ends the listening, not the poll: what was read is stored.
      if (
        !(await client.noop().then(
          () => true,
          () => false,
        ))
      )
        break;
      const left = idleUntil - Date.now();
      // Once the time is up, only what the last NOOP reported is still read.
      if (left < IDLE_MIN_MS && arrivals.reports() === seen) break;
      const heard = await arrivals.after(seen, Math.min(IDLE_SLICE_MS, Math.max(left, 0)));
      if (heard === 'closed') break;
      if (heard === 'quiet') continue;
      seen = arrivals.reports();
      const after = result.lastUid;
      const found = await client.search({ uid: `${after + 1}:*` }, { uid: true }).catch(fail);
      await readNew((found || []).filter((u) => u > after).sort((a, b) => a - b));
    }
    arrivals?.stop();
    await transact(async (ctx) => {
      await ctx.sql`
        update app.mailbox_folders set last_polled_at = now(), last_error = ${result.status === 'failed' ? (result.error ?? null) : null}
        where id = ${current.id}`;
      await setChannelHealth(ctx, channelId, true, null);
    });
    return result;
  } finally {
    await closeImap(client);
  }
}

// ---------------------------------------------------------------------------------------------
// The job
// ---------------------------------------------------------------------------------------------

export const emailPollJob = defineJob({
  ...jobSpecs.emailPoll,
  async handle({ ctx, payload }) {
    const result = await pollFolder(ctx.orgId, payload.channelId, payload.folder, { jobCtx: ctx });
    log.info('email poll', { orgId: ctx.orgId, channelId: payload.channelId, folder: payload.folder, ...result });
  },
  async onDead({ ctx, payload, error }) {
    // Connection failures were recorded already unless the run's transaction was rolled back (PGlite).
    const prefix = 'MailboxConnectionError: ';
    if (error.startsWith(prefix)) await recordConnectionFailure(ctx, payload.channelId, payload.folder, error.slice(prefix.length));
  },
});
