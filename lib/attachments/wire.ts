// Attachments as the API answers them (wire form; the storage path stays internal).
import * as z from 'zod';
import { wireId, wireInstant } from '../wire.js';

export const attachmentWire = z
  .strictObject({
    id: wireId,
    threadId: wireId.nullable(),
    messageId: wireId.nullable(),
    filename: z.string(),
    contentType: z.string(),
    sizeBytes: z.number().int().nonnegative().nullable(),
    /** Hex SHA-256 of the stored bytes, once ready. */
    sha256: z.string().nullable(),
    status: z.enum(['pending', 'ready', 'quarantined']),
    contentId: z.string().nullable(),
    isInline: z.boolean(),
    uploadedBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Attachment' });

const signedLink = z.strictObject({ url: z.string(), expiresAt: wireInstant });

/** GET /api/attachments/{id}: a ready attachment carries a signed download link valid for 5 minutes (else null). */
export const attachmentWithDownloadWire = attachmentWire.extend({ download: signedLink.nullable() }).meta({ id: 'AttachmentWithDownload' });

/** POST /api/attachments/uploads: the pending attachment and where to PUT the file (then POST …/confirm). */
export const attachmentUploadWire = z
  .strictObject({
    attachment: attachmentWire,
    upload: z.strictObject({ url: z.string(), method: z.literal('PUT'), headers: z.record(z.string(), z.string()), expiresAt: wireInstant }),
  })
  .meta({ id: 'AttachmentUpload' });
