// What the local sinks share (outbound email as .eml files, Exotel requests as JSON; used when no
// provider is configured): each outgoing message is one file under .data/, named by its idempotency
// key, written whole (a partial file renamed into place) so a reader never sees half of one, and a
// retry under the same key overwrites the same file, so a message is "sent" once.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A key as a file name: letters, digits, `_` and `-`. */
export function sinkName(key: string): string {
  return key.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Writes `<dir>/<key>.<extension>` whole and answers its path. */
export async function writeSinkFile(dir: string, key: string, extension: string, content: Uint8Array | string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${sinkName(key)}.${extension}`);
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, content);
  await rename(partial, file);
  return file;
}
