#!/usr/bin/env bash
# `pnpm start` / `npm start`: install if needed and build the master (setup.sh), build the pages, start the
# master (flags pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm --filter @barnraise/web build >/dev/null
exec node server/bin/barnraise.js serve "$@"
