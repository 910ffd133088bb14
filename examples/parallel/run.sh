#!/usr/bin/env bash
# Parallel's one-machine test: `pnpm example:parallel [COUNT] [MS]` (default 1000 jobs of 500 ms).
# Submits them through the `barnraise` CLI, which follows the job with a progress bar on a terminal.
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-1000}
ms=${2:-500}
node -e 'for (let i = 0; i < +process.argv[1]; i++) console.log(process.argv[2])' "$count" "$ms" \
  | node server/bin/barnraise.js submit examples/parallel/sleep.ts --name parallel --inputs -
