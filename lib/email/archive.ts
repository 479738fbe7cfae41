// Reading a mailbox archive for import: a folder of .eml files (in name order, numbers compared as
// numbers; an mbox "From " line some tools leave before the headers is dropped) and mbox files
// (mboxrd: "From " separator lines, ">From " unescaped).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface ArchiveMessage {
  /** Where it came from: the .eml path, or "<mbox path>#<n>" (1-based). */
  file: string;
  raw: Buffer;
}

export function emlFiles(dir: string): string[] {
  const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
  return readdirSync(dir)
    .filter((f) => /\.eml$/i.test(f) && statSync(join(dir, f)).isFile())
    .sort(collator.compare)
    .map((f) => join(dir, f));
}

/** Splits an mbox into messages. Only a "From " line after a blank line (or at the start) separates. */
export function splitMbox(data: Buffer): Buffer[] {
  const text = data.toString('latin1');
  const messages: Buffer[] = [];
  const lines = text.split(/\r?\n/);
  let current: string[] | null = null;
  let previousBlank = true;
  for (const line of lines) {
    if (previousBlank && line.startsWith('From ')) {
      if (current) messages.push(finish(current));
      current = [];
    } else if (current) {
      current.push(/^>+From /.test(line) ? line.slice(1) : line);
    }
    previousBlank = line === '';
  }
  if (current) messages.push(finish(current));
  return messages.filter((m) => m.length > 0);
}

function finish(lines: string[]): Buffer {
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
}

/** The message without an mbox "From sender date" line before its headers (a header is "From:"). */
export function withoutMboxFromLine(raw: Buffer): Buffer {
  if (raw.subarray(0, 5).toString('latin1') !== 'From ') return raw;
  const end = raw.indexOf(0x0a);
  return end === -1 ? raw : raw.subarray(end + 1);
}

export function* readArchive(options: { dir?: string; mbox?: string }): Generator<ArchiveMessage> {
  if (options.dir) for (const file of emlFiles(options.dir)) yield { file, raw: withoutMboxFromLine(readFileSync(file)) };
  if (options.mbox) {
    let n = 0;
    for (const raw of splitMbox(readFileSync(options.mbox))) yield { file: `${options.mbox}#${++n}`, raw };
  }
}
