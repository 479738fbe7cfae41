// Internal notes on a thread: listing (oldest first), writing with @mentions (each mentioned member is
// notified on their user topic), editing by the author, and soft deletion by the author or by roles
// that may delete others' notes.
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { notify } from '../notifications/notify.js';
import { AppError, invalid, notFound } from '../errors.js';
import { decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { can } from '../http/permissions.js';
import { recordChange, topics } from '../realtime.js';
import { emitWorkflowEvent } from '../workflows/emit.js';

const noteBody = z.string().trim().min(1, 'must not be empty').max(20_000);
const mentionIds = z.array(z.uuid('must be a member id (uuid)')).max(50);

export const noteCreate = z.strictObject({
  body: noteBody,
  /** Members mentioned explicitly, besides the ones written in the text. */
  mentions: mentionIds.optional(),
});

export const noteUpdate = z.strictObject({ body: noteBody, mentions: mentionIds.optional() });

export const noteListQuery = z.object({ ...pageQuery });

const cursorShape = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

export interface Note {
  id: string;
  threadId: string;
  authorId: string | null;
  authorName: string | null;
  body: string;
  mentions: string[];
  createdAt: Date;
  updatedAt: Date;
}

// ---------------------------------------------------------------------------------------------
// Mentions
// ---------------------------------------------------------------------------------------------

export interface MentionableMember {
  userId: string;
  displayName: string;
  email: string | null;
}

/** `@[Display Name](user-uuid)`, the markup web apps emit from a member picker. */
const MARKUP = /@\[([^\]\n]{1,200})\]\(([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\)/gi;
/** A plain `@word` that does not continue a word (so `ops@seahawk.in` is an address, not a mention). */
const PLAIN = /(?<![\p{L}\p{N}._@-])@([\p{L}\p{M}\p{N}][\p{L}\p{M}\p{N}._-]*)/gu;

const fold = (s: string) => s.normalize('NFKC').toLowerCase();

/** The handles a member answers to: first name, first.last (and every name part joined), email local part. */
export function mentionHandles(member: MentionableMember): Set<string> {
  const parts = fold(member.displayName)
    .split(/\s+/)
    .map((p) => p.replace(/[^\p{L}\p{M}\p{N}'-]/gu, ''))
    .filter(Boolean);
  const handles = new Set<string>();
  if (parts.length > 0) {
    handles.add(parts[0]!);
    handles.add(parts.join('.'));
    if (parts.length > 2) handles.add(`${parts[0]}.${parts[parts.length - 1]}`);
  }
  const local = member.email ? fold(member.email).split('@')[0] : undefined;
  if (local) handles.add(local);
  return handles;
}

export interface ParsedMentions {
  /** Members named unambiguously, in order of first appearance. */
  userIds: string[];
  /** Plain `@handles` that matched more than one member (nobody is notified for them). */
  ambiguous: string[];
}

/**
 * Finds the members a note's text mentions. Markup names a member by id (ids that are not members
 * stay plain text); a plain `@handle` counts only when exactly one member answers to it.
 */
export function parseMentions(text: string, members: MentionableMember[]): ParsedMentions {
  const byId = new Map(members.map((m) => [m.userId.toLowerCase(), m]));
  const found: string[] = [];
  const ambiguous: string[] = [];
  const add = (id: string) => {
    if (!found.includes(id)) found.push(id);
  };
  for (const m of text.matchAll(MARKUP)) {
    const member = byId.get(m[2]!.toLowerCase());
    if (member) add(member.userId);
  }
  const rest = text.replace(MARKUP, ' ');
  const handles = members.map((m) => ({ userId: m.userId, handles: mentionHandles(m) }));
  for (const m of rest.matchAll(PLAIN)) {
    // A sentence may end right after the handle: "thanks @vikram." names vikram.
    const handle = fold(m[1]!).replace(/[._-]+$/, '');
    if (!handle) continue;
    const matches = handles.filter((h) => h.handles.has(handle));
    if (matches.length === 1) add(matches[0]!.userId);
    else if (matches.length > 1 && !ambiguous.includes(handle)) ambiguous.push(handle);
  }
  return { userIds: found, ambiguous };
}

/** The mentioned members: explicit ids (each must be an active member, else 422) and those in the text. */
async function resolveMentions(ctx: Ctx, text: string, explicit: string[] | undefined): Promise<string[]> {
  const members = await ctx.sql<MentionableMember[]>`
    select user_id, display_name, email from app.members where org_id = ${ctx.orgId} and status = 'active'`;
  const known = new Set(members.map((m) => m.userId));
  const ids: string[] = [];
  for (const [i, id] of (explicit ?? []).entries()) {
    const lower = id.toLowerCase();
    if (!known.has(lower)) throw invalid(`body.mentions.${i}`, 'is not an active member of this organization');
    if (!ids.includes(lower)) ids.push(lower);
  }
  for (const id of parseMentions(text, members).userIds) if (!ids.includes(id)) ids.push(id);
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

export const noteSelect = (sql: Ctx['sql'], extra = sql``) => sql`
  select n.id, n.thread_id, n.author_id, m.display_name as author_name, n.body, n.mentions, n.created_at, n.updated_at,
    ${exactInstant(sql, 'n.created_at', 'sort_at')}
    ${extra}
  from app.notes n
  left join app.members m on m.org_id = n.org_id and m.user_id = n.author_id`;

const strip = ({ sortAt: _s, ...note }: Note & { sortAt?: string }): Note => note;

async function assertThread(ctx: Ctx, threadId: string): Promise<{ id: string; subject: string }> {
  const [thread] = await ctx.sql<{ id: string; subject: string }[]>`
    select id, subject from app.threads where id = ${threadId} and org_id = ${ctx.orgId}`;
  if (!thread) throw notFound('Thread');
  return thread;
}

async function loadNote(ctx: Ctx, id: string, lock = false): Promise<Note> {
  const sql = ctx.sql;
  if (lock) {
    const [row] = await sql`select id from app.notes where id = ${id} and org_id = ${ctx.orgId} and deleted_at is null for update`;
    if (!row) throw notFound('Note');
  }
  const [note] = await sql<(Note & { sortAt: string })[]>`${noteSelect(sql)} where n.id = ${id} and n.org_id = ${ctx.orgId} and n.deleted_at is null`;
  if (!note) throw notFound('Note');
  return strip(note);
}

export async function listNotes(ctx: Ctx, threadId: string, q: z.infer<typeof noteListQuery>) {
  const sql = ctx.sql;
  await assertThread(ctx, threadId);
  const after = decodeCursor(q.cursor, cursorShape);
  // Cursor times go in as text: a timestamptz parameter would pass through a JavaScript Date (milliseconds).
  const rows = await sql<(Note & { sortAt: string })[]>`
    ${noteSelect(sql)}
    where n.org_id = ${ctx.orgId} and n.thread_id = ${threadId} and n.deleted_at is null
      ${after ? sql`and (n.created_at, n.id) > (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : sql``}
    order by n.created_at, n.id
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.id]);
  return { ...page, data: page.data.map(strip) };
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/** One `mention` notification per newly mentioned member (never the author), each on their user topic. */
function notifyMentioned(ctx: Ctx, note: Note, thread: { subject: string }, userIds: string[]) {
  return notify(ctx, userIds, {
    type: 'mention',
    title: `${note.authorName || 'A teammate'} mentioned you: ${String(thread.subject || '(no subject)')}`,
    body: note.body,
    threadId: note.threadId,
    entityType: 'note',
    entityId: note.id,
  });
}

export async function createNote(ctx: Ctx, threadId: string, input: z.infer<typeof noteCreate>) {
  const sql = ctx.sql;
  const thread = await assertThread(ctx, threadId);
  const mentions = await resolveMentions(ctx, input.body, input.mentions);
  const id = randomUUID();
  await sql`
    insert into app.notes (id, org_id, thread_id, author_id, body, mentions)
    values (${id}, ${ctx.orgId}, ${threadId}, ${ctx.userId}, ${input.body}, ${mentions}::uuid[])`;
  await sql`update app.threads set last_activity_at = now() where id = ${threadId} and org_id = ${ctx.orgId}`;
  const note = await loadNote(ctx, id);
  await recordChange(ctx, {
    event: 'note.created',
    topics: [topics.thread(ctx.orgId, threadId)],
    data: note,
    audit: { entityType: 'note', entityId: id, data: { threadId, mentions } },
  });
  await notifyMentioned(ctx, note, thread, mentions);
  await emitWorkflowEvent(ctx, { id: `note.created:${id}`, type: 'note.created', threadId, noteId: id });
  return note;
}

export async function updateNote(ctx: Ctx, id: string, input: z.infer<typeof noteUpdate>) {
  const sql = ctx.sql;
  const current = await loadNote(ctx, id, true);
  if (!ctx.userId || current.authorId !== ctx.userId) throw new AppError('forbidden', 'Only the author may edit a note');
  const mentions = await resolveMentions(ctx, input.body, input.mentions);
  await sql`update app.notes set body = ${input.body}, mentions = ${mentions}::uuid[] where id = ${id} and org_id = ${ctx.orgId}`;
  const note = await loadNote(ctx, id);
  await recordChange(ctx, {
    event: 'note.updated',
    topics: [topics.thread(ctx.orgId, note.threadId)],
    data: note,
    audit: { entityType: 'note', entityId: id, data: { body: input.body, mentions } },
  });
  // Only members the edit adds are notified; those already mentioned heard about it the first time.
  const added = mentions.filter((m) => !current.mentions.includes(m));
  if (added.length > 0) await notifyMentioned(ctx, note, await assertThread(ctx, note.threadId), added);
  return note;
}

export async function deleteNote(ctx: Ctx, id: string) {
  const sql = ctx.sql;
  const current = await loadNote(ctx, id, true);
  const mayDeleteOthers = ctx.role === 'system' || can(ctx.role, 'threads.delete');
  if ((ctx.userId === null || current.authorId !== ctx.userId) && !mayDeleteOthers) {
    throw new AppError('forbidden', `Your role (${ctx.role}) may delete only your own notes`);
  }
  await sql`update app.notes set deleted_at = now() where id = ${id} and org_id = ${ctx.orgId}`;
  await recordChange(ctx, {
    event: 'note.deleted',
    topics: [topics.thread(ctx.orgId, current.threadId)],
    data: { id, threadId: current.threadId },
    audit: { entityType: 'note', entityId: id, data: { authorId: current.authorId } },
  });
  return null;
}
