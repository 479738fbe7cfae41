// Attachment names: safe to use as a download name or a storage key suffix on any OS.

const EXTENSIONS: Record<string, string> = {
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
  'application/gzip': 'gz',
  'application/x-gzip': 'gz',
  'application/x-7z-compressed': '7z',
  'application/vnd.rar': 'rar',
  'application/x-rar-compressed': 'rar',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.ms-powerpoint': 'ppt',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
  'application/vnd.ms-outlook': 'msg',
  'application/json': 'json',
  'application/xml': 'xml',
  'application/ics': 'ics',
  'application/pkcs7-signature': 'p7s',
  'application/x-pkcs7-signature': 'p7s',
  'application/pgp-signature': 'asc',
  'application/octet-stream': 'bin',
  'text/plain': 'txt',
  'text/html': 'html',
  'text/csv': 'csv',
  'text/calendar': 'ics',
  'text/xml': 'xml',
  'text/rfc822-headers': 'txt',
  'text/x-vcard': 'vcf',
  'text/vcard': 'vcf',
  'message/rfc822': 'eml',
  'message/global': 'eml',
  'message/delivery-status': 'txt',
  'message/global-delivery-status': 'txt',
  'message/feedback-report': 'txt',
  'message/disposition-notification': 'txt',
  'image/jpeg': 'jpg',
  'image/jpg': 'jpg',
  'image/pjpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/bmp': 'bmp',
  'image/tiff': 'tif',
  'image/svg+xml': 'svg',
  'image/heic': 'heic',
  'audio/mpeg': 'mp3',
  'video/mp4': 'mp4',
};

/** File extension (without dot) for a MIME type; 'bin' for unknown types. */
export function extensionForContentType(contentType: string): string {
  const ct = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const known = EXTENSIONS[ct];
  if (known) return known;
  const sub = /^[a-z]+\/(?:x-)?([a-z0-9]{1,8})$/.exec(ct)?.[1];
  return sub ?? 'bin';
}

/** Base name for a generated file name, by kind of part. */
function generatedBase(contentType: string): string {
  const ct = contentType.toLowerCase();
  if (ct.startsWith('image/')) return 'image';
  if (ct === 'message/rfc822' || ct === 'message/global') return 'message';
  if (ct === 'text/calendar' || ct === 'application/ics') return 'invite';
  if (ct.includes('delivery-status')) return 'delivery-status';
  if (ct === 'text/rfc822-headers') return 'original-headers';
  if (ct === 'message/feedback-report') return 'feedback-report';
  return 'attachment';
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
const MAX_NAME_LENGTH = 180;

/**
 * Makes a received file name safe: last path segment only, no control/bidi/format characters
 * (no RLO extension spoofing), none of \ / : * ? " < > |, no leading dots or trailing dots/spaces,
 * NFC, at most 180 characters with the extension kept, no Windows device names. Returns null when
 * nothing usable is left.
 */
export function sanitizeFilename(name: string | null | undefined): string | null {
  if (!name) return null;
  let s = name.normalize('NFC');
  s = s.split(/[\\/]/).pop() ?? '';
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g, '');
  s = s.replace(/[:*?"<>|]/g, '_');
  s = s.replace(/\s+/g, ' ').trim();
  s = s.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (!s || /^_+$/.test(s)) return null;
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  if (s.length > MAX_NAME_LENGTH) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 && s.length - dot <= 12 ? s.slice(dot) : '';
    s = s.slice(0, MAX_NAME_LENGTH - ext.length).trimEnd() + ext;
  }
  return s;
}

/** A generated name for a part that has none: "attachment-2.pdf", "image-1.png", "message-3.eml". */
export function generateFilename(contentType: string, index: number): string {
  return `${generatedBase(contentType)}-${index}.${extensionForContentType(contentType)}`;
}
