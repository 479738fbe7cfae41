// npm run docs:realtime: rewrites docs/realtime.md's event table from lib/realtime-events.ts (the list
// recordChange is typed by and the OpenAPI document's x-realtime comes from). A unit test fails while
// the file is stale (tests/unit/openapi.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { realtimeEventTableMarkdown } from '../lib/realtime-events.js';

const file = new URL('../docs/realtime.md', import.meta.url);
const start = '<!-- realtime-events:start -->';
const end = '<!-- realtime-events:end -->';
const doc = readFileSync(file, 'utf8');
if (!doc.includes(start) || !doc.includes(end)) throw new Error(`docs/realtime.md has lost its ${start} … ${end} markers`);
const before = doc.slice(0, doc.indexOf(start) + start.length);
const after = doc.slice(doc.indexOf(end));
writeFileSync(file, `${before}\n${realtimeEventTableMarkdown()}\n${after}`);
