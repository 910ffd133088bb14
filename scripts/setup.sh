#!/usr/bin/env bash
# Install what Barnraise needs on a machine with Node 20+ and npm: pnpm 12 and the workspace's packages.
# Then it builds the master and the CLI (server/dist, about 0.2 s). Safe to run again: the install does nothing
# when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.21.0
if ! command -v pnpm >/dev/null 2>&1 || [[ "$(pnpm -v 2>/dev/null)" != 12.* ]]; then
  echo "setup: installing pnpm $PNPM_VERSION" >&2
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || sudo npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi

# better-sqlite3 compiles from source when no prebuilt binary can be downloaded. pnpm 12 ignores
# `nodedir` in .npmrc, so point node-gyp at the local Node headers here, or it tries to download them.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node.h ]]; then
  export npm_config_nodedir=/usr
fi

mkdir -p .tmp
if ! pnpm install --frozen-lockfile --reporter=append-only >.tmp/install.log 2>&1; then
  tail -n 40 .tmp/install.log >&2
  echo "setup: pnpm install failed (full log in .tmp/install.log)" >&2
  exit 1
fi
node server/scripts/build.mjs  # the master and CLI as plain JavaScript: they start in half the time (bin/barnraise.js)
