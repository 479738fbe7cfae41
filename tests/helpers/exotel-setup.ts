// What an Exotel test file starts from: the fake Exotel server, the production adapter pointed at it
// (media allowed from its host and any extra ones), storage in a temporary folder, and channels made
// through the API as an admin would (each with its webhook secret).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { config, parseConfig, setConfig } from '../../lib/config.js';
import { json } from './api.js';
import { FAKE_EXOTEL, fakeExotel } from './fake-exotel.js';

export interface ExotelTestbed {
  fake: Awaited<ReturnType<typeof fakeExotel>>;
  storageDir: string;
  /** POST /api/channels with the fake's credentials; the channel's id and webhook secret. */
  channel(body: Record<string, unknown>): Promise<{ id: string; secret: string }>;
  close(): Promise<void>;
}

export async function exotelTestbed(options: { mediaHosts?: string[] } = {}): Promise<ExotelTestbed> {
  const fake = await fakeExotel();
  const saved = config();
  const storageDir = mkdtempSync(join(tmpdir(), 'banxway-exotel-'));
  setConfig(
    parseConfig({
      ...process.env,
      PUBLIC_BASE_URL: 'https://banxway.example',
      EXOTEL_BASE_URL: fake.url,
      EXOTEL_MEDIA_HOSTS: [fake.host, ...(options.mediaHosts ?? [])].join(','),
      ALLOW_PRIVATE_NETWORK_HOSTS: 'true',
      STORAGE_DIR: storageDir,
    }),
  );
  return {
    fake,
    storageDir,
    async channel(body) {
      const res = await json('POST', '/api/channels', { as: 'admin', body: { exotel: { ...FAKE_EXOTEL, subdomain: 'api.in.exotel.com' }, ...body } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return { id: res.body.id, secret: res.body.webhook.secret };
    },
    async close() {
      setConfig(saved);
      await fake.close();
      rmSync(storageDir, { recursive: true, force: true });
    },
  };
}
