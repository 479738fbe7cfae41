// Reply templates and their previews as the API answers them (wire form: instants as ISO strings).
import * as z from 'zod';
import { pageOf, wireId, wireInstant } from '../wire.js';
import { TEMPLATE_CHANNELS } from './service.js';

export const replyTemplateWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    channels: z.array(z.enum(TEMPLATE_CHANNELS)),
    /** `text`: plain text on every channel; `html`: HTML mail, values HTML-escaped. */
    format: z.enum(['text', 'html']),
    subject: z.string().nullable(),
    body: z.string(),
    folder: z.string().nullable(),
    tags: z.array(z.string()),
    /** The template's own variables (`{{eta}}`), filled by a reply's `variables`. */
    variables: z.array(z.strictObject({ name: z.string(), description: z.string().nullable() })),
    /** `organization`: shared with every member; `personal`: the owner's alone. */
    visibility: z.enum(['organization', 'personal']),
    ownerId: wireId.nullable(),
    usageCount: z.number().int(),
    lastUsedAt: wireInstant.nullable(),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'ReplyTemplate' });

export const replyTemplatePageWire = pageOf(replyTemplateWire);

export const templatePreviewWire = z
  .strictObject({
    templateId: wireId,
    threadId: wireId,
    channel: z.string(),
    subject: z.string().nullable(),
    /** The rendered text (text templates), or null for an HTML template. */
    text: z.string().nullable(),
    /** The rendered HTML (HTML templates), values escaped. */
    html: z.string().nullable(),
    /** Variables the template shows that have no value on this thread: a reply must give them. */
    missing: z.array(z.string()),
  })
  .meta({ id: 'TemplatePreview' });
