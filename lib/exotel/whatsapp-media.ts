// Files on WhatsApp: what Exotel's WhatsApp API sends as an `image` or a `document` message, and how
// large each may be. WhatsApp carries one file per message, given as a link Exotel (and Meta) fetch:
// https://developer.exotel.com/docs/whatsapp-api/api-reference/send-message (`image: { link, caption }`,
// `document: { link, filename }`). The formats and limits are those of Exotel's media guide,
// https://developer.exotel.com/docs/whatsapp-support/media-messages: images JPEG or PNG up to 5 MB,
// documents PDF, DOC(X), XLS(X), PPT(X) or TXT up to 100 MB (audio, video and stickers are not sent
// from the inbox). MB are counted as 1,000,000 bytes, the stricter reading.

export type WhatsAppMediaType = 'image' | 'document';

export const WHATSAPP_MEDIA: Record<WhatsAppMediaType, { maxBytes: number; limit: string; types: Record<string, string> }> = {
  image: { maxBytes: 5_000_000, limit: '5 MB', types: { 'image/jpeg': 'JPEG', 'image/png': 'PNG' } },
  document: {
    maxBytes: 100_000_000,
    limit: '100 MB',
    types: {
      'application/pdf': 'PDF',
      'application/msword': 'DOC',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'DOCX',
      'application/vnd.ms-excel': 'XLS',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'XLSX',
      'application/vnd.ms-powerpoint': 'PPT',
      'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'PPTX',
      'text/plain': 'TXT',
    },
  },
};

/** The longest caption WhatsApp shows under an image or a document (Meta's media object: 1024 characters). */
export const WHATSAPP_CAPTION_MAX = 1024;

/** How long the signed link Exotel fetches a file from stays valid. */
export const WHATSAPP_MEDIA_LINK_SECONDS = 15 * 60;

export function whatsAppMediaType(contentType: string): WhatsAppMediaType | null {
  for (const kind of ['image', 'document'] as const) if (Object.hasOwn(WHATSAPP_MEDIA[kind].types, contentType)) return kind;
  return null;
}

/** Why this file cannot go on WhatsApp, or null when it can. */
export function whatsAppMediaRefusal(file: { contentType: string; sizeBytes: number | null }): string | null {
  const kind = whatsAppMediaType(file.contentType);
  if (!kind) {
    const list = (k: WhatsAppMediaType) => Object.values(WHATSAPP_MEDIA[k].types).join(', ');
    return `is ${file.contentType}, which WhatsApp does not carry: send images (${list('image')}, up to ${WHATSAPP_MEDIA.image.limit}) or documents (${list('document')}, up to ${WHATSAPP_MEDIA.document.limit})`;
  }
  const { maxBytes, limit } = WHATSAPP_MEDIA[kind];
  if ((file.sizeBytes ?? 0) > maxBytes) {
    return `is ${file.sizeBytes} bytes, more than the ${limit} (${maxBytes} bytes) WhatsApp takes for ${kind === 'image' ? 'an image' : 'a document'}`;
  }
  return null;
}

/**
 * The WhatsApp messages a reply with files goes out as: one per file, in the order the message lists
 * them; its text is the caption of the first when it fits a caption, else a text message of its own
 * before them. Null entries of `caption` mean none.
 */
export function whatsAppMediaParts<F>(text: string | null, files: F[]): ({ text: string } | { file: F; caption: string | null })[] {
  const body = text?.trim() ? text : null;
  const caption = body && [...body].length <= WHATSAPP_CAPTION_MAX ? body : null;
  return [...(body && !caption ? [{ text: body }] : []), ...files.map((file, i) => ({ file, caption: i === 0 ? caption : null }))];
}
