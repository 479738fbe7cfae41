// Migrations are added in version order: the commit that adds a migration never adds one older than
// a migration an earlier commit added (uncommitted files count as added last). The runner refuses
// such a file on a database that applied the newer ones; this catches it before it lands.
// Databases are migrated from main, so main's own line of commits is what counts (--first-parent):
// a merged branch's migrations arrive with its merge commit, whenever the branch made them.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listMigrations, OUT_OF_ORDER_ALLOWED } from '../../lib/db/migrate.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
const hasHistory = existsSync(join(root, '.git')) && git('rev-parse', '--is-shallow-repository').trim() === 'false';
if (!hasHistory && process.env.TEST_REQUIRE_SERVERS === '1') throw new Error('the migration-order test needs the full git history');

describe.skipIf(!hasHistory)('migration history', () => {
  it('adds every migration with a version newer than those added before it', () => {
    const log = git('log', '--first-parent', '--reverse', '--diff-filter=A', '--format=', '--name-only', '--', 'supabase/migrations');
    const committed = log
      .split('\n')
      .map((l) => /(\d{14})_[a-z0-9_]+\.sql$/.exec(l)?.[1])
      .filter((v): v is string => Boolean(v));
    const added = [...new Set([...committed, ...listMigrations().map((m) => m.version)])];
    const late: string[] = [];
    let newest = '';
    for (const version of added) {
      if (version < newest && !OUT_OF_ORDER_ALLOWED.has(version)) late.push(`${version} (added after ${newest})`);
      if (version > newest) newest = version;
    }
    expect(late).toEqual([]);
  });
});
