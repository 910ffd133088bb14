#!/usr/bin/env bash
# distributed-worker's prime checker: `pnpm example:primes [LIMIT] [CHUNK]` (default 100000 100).
# Makes the ranges, runs them as a job through the `barnraise` CLI (which bundles primes.ts), counts the primes.
set -euo pipefail
cd "$(dirname "$0")/../.."
node examples/primes/ranges.mjs "$@" \
  | node server/bin/barnraise.js run examples/primes/primes.ts --name primes \
  | node examples/primes/count.mjs
