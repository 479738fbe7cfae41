// Test process defaults: quiet logs, a fixed public URL, generous rate limits, files in a temp dir,
// and no outside service configured (tests that need one start a local server and set it).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.LOG_LEVEL ??= 'silent';
process.env.PUBLIC_BASE_URL ??= 'https://banxway.test';
process.env.RATE_LIMIT_PER_USER_PER_MINUTE ??= '100000';
process.env.RATE_LIMIT_PER_IP_PER_MINUTE ??= '100000';
process.env.CORS_ORIGINS ??= 'https://app.banxway.test';
const scratch = mkdtempSync(join(tmpdir(), 'banxway-test-'));
process.env.STORAGE_DIR ??= join(scratch, 'storage');
process.env.MAIL_OUT_DIR ??= join(scratch, 'mail-out');
process.env.EXOTEL_OUT_DIR ??= join(scratch, 'exotel-out');
for (const name of ['DATABASE_URL', 'QSTASH_TOKEN', 'UPSTASH_REDIS_REST_URL', 'SUPABASE_URL', 'RESEND_API_KEY', 'OPENAI_API_KEY']) {
  delete process.env[name];
}
