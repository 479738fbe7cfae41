// Notes as the API answers them (wire form: instants as ISO strings). Strict: a column added to the note
// select must be declared here too.
import * as z from 'zod';
import { listOrSyncOf, wireId, wireInstant } from '../wire.js';

export const noteWire = z
  .strictObject({
    id: wireId,
    threadId: wireId,
    authorId: wireId.nullable(),
    /** The author's display name (null once they are no longer a member). */
    authorName: z.string().nullable(),
    body: z.string(),
    /** The members the note mentions (notified once each). */
    mentions: z.array(wireId),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Note' });

/** A page of the list, or with `updatedSince` a page of changes (lib/sync.ts). */
export const notePageWire = listOrSyncOf(noteWire);
