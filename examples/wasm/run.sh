#!/usr/bin/env bash
# scrypt in WebAssembly from npm (hash-wasm): `pnpm example:wasm [COUNT]` (default 200 passwords).
# Makes the credentials, runs them as a job through the `barnraise` CLI (which bundles scrypt.ts with
# hash-wasm inside), prints the keys and spot-checks them against Node's crypto.scrypt.
set -euo pipefail
cd "$(dirname "$0")/../.."
inputs=$(mktemp)
trap 'rm -f "$inputs"' EXIT
node examples/wasm/credentials.mjs "$@" > "$inputs"
node server/bin/barnraise.js run examples/wasm/scrypt.ts --name scrypt --inputs "$inputs" \
  | node --import tsx examples/wasm/keys.ts "$inputs"
