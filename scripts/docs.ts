// npm run docs:permissions: rewrites the README's role-by-action table from lib/http/permissions.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { permissionTableMarkdown } from '../lib/http/permissions.js';

const file = new URL('../README.md', import.meta.url);
const start = '<!-- permissions:start -->';
const end = '<!-- permissions:end -->';
const readme = readFileSync(file, 'utf8');
const before = readme.slice(0, readme.indexOf(start) + start.length);
const after = readme.slice(readme.indexOf(end));
writeFileSync(file, `${before}\n${permissionTableMarkdown()}\n${after}`);
