#!/usr/bin/env bash
# Builds the functions exactly as Vercel does (`vercel build`, the CLI pinned in tools/vercel) into
# .vercel/output. Without a linked project it writes stub project settings (no framework, no install
# or build command, Node.js 22), so CI and a fresh clone build offline; a linked project is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x tools/vercel/node_modules/.bin/vercel ] || [ ! -x tools/vercel/node_modules/.bin/node ]; then
  npm ci --prefix tools/vercel --no-audit --no-fund --loglevel=error
fi
if [ ! -f .vercel/project.json ]; then
  mkdir -p .vercel
  cat > .vercel/project.json <<'JSON'
{"projectId":"prj_banxway_local","orgId":"team_banxway_local","settings":{"framework":null,"installCommand":"","buildCommand":"","devCommand":null,"outputDirectory":null,"rootDirectory":null,"nodeVersion":"22.x"}}
JSON
fi
rm -rf .vercel/output
VERCEL_TELEMETRY_DISABLED=1 tools/vercel/node_modules/.bin/vercel build --yes "$@"
