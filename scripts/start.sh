#!/usr/bin/env bash
# `pnpm start` / `npm start`: install if needed, build the pages and the master, start it (flags pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm --filter @barnraise/web build >/dev/null
node server/scripts/build.mjs
exec node server/bin/barnraise.js serve "$@"
