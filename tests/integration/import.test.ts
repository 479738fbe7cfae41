// npm run import as an onboarding engineer runs it: an archive of .eml files and an mbox, JSON out.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { engine } from '../helpers/database.js';
import { mail } from '../helpers/mail.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'banxway-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(engine === 'pglite')('npm run import', () => {
  it('threads an archive in input order and prints one JSON object per message', async () => {
    writeFileSync(
      join(dir, '1.eml'),
      mail({
        from: 'Karthik <karthik@tatatextiles.example>',
        subject: 'Booking 2x40HC',
        messageId: 'b1@tatatextiles.example',
        body: 'Dear team,\nPlease book 2x40HC ex Nhava Sheva to Hamburg for cargo ready on 14th. Kindly confirm space and share the SI cut-off.\nCntr MSKU 123456 5, AWB 17612345675 dtd 14.11',
      }),
    );
    writeFileSync(
      join(dir, '2.eml'),
      mail({
        from: 'ops@seahawk-logistics.in',
        to: 'karthik@tatatextiles.example',
        subject: 'RE: Booking 2x40HC',
        messageId: 'b2@seahawk-logistics.in',
        inReplyTo: 'b1@tatatextiles.example',
        body: 'Noted.',
      }),
    );
    writeFileSync(join(dir, '10.eml'), mail({ from: 'someone@gmail.com', subject: 'Booking 2x40HC', messageId: 'b3@gmail.com' }));
    writeFileSync(
      join(dir, '3.eml'),
      mail({ from: 'Karthik <karthik@tatatextiles.example>', subject: 'Booking 2x40HC', messageId: 'b1@tatatextiles.example' }),
    );
    const mbox = [
      'From karthik@tatatextiles.example Mon Nov 23 10:00:00 2026',
      mail({
        from: 'karthik@tatatextiles.example',
        subject: 'Re: Booking 2x40HC',
        messageId: 'b4@tatatextiles.example',
        references: '<b1@tatatextiles.example>',
        body: '>From the yard: gate-in done',
      }).replace(/\r\n/g, '\n'),
      '',
    ].join('\n');
    writeFileSync(join(dir, 'archive.mbox'), mbox);
    const { stdout } = await run(
      'npm',
      ['run', '--silent', 'import', '--', '--dir', dir, '--mbox', join(dir, 'archive.mbox'), '--address', 'ops@seahawk-logistics.in', '--memory', '--json'],
      {
        env: { ...process.env, LOG_LEVEL: 'silent' },
        maxBuffer: 10 * 1024 * 1024,
      },
    );
    const out = JSON.parse(stdout) as {
      file: string;
      messageId: string;
      threadId: string;
      direction: string;
      references: Record<string, string[]>;
      intent?: string;
    }[];
    expect(out.map((o) => o.file.replace(`${dir}/`, ''))).toEqual(['1.eml', '2.eml', '3.eml', '10.eml', 'archive.mbox#1']);
    expect(out[0]).toMatchObject({
      messageId: '<b1@tatatextiles.example>',
      direction: 'inbound',
      references: { containers: ['MSKU1234565'], awbs: ['176-12345675'], bls: [], bookings: [] },
    });
    expect(out[1]).toMatchObject({ direction: 'outbound', threadId: out[0]!.threadId });
    // Inbound messages carry the configured analyser's reading (offline here: no API key).
    expect(out[0]).toMatchObject({ intent: 'booking_request' });
    expect(['positive', 'neutral', 'negative']).toContain((out[0] as any).sentiment);
    expect(out[1]).not.toHaveProperty('intent');
    expect(out[2]!.threadId).toBe(out[0]!.threadId);
    expect(out[3]!.threadId).not.toBe(out[0]!.threadId);
    expect(out[4]!.threadId).toBe(out[0]!.threadId);
  }, 120_000);
});
