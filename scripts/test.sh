#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing (pnpm, packages, Chromium), builds,
# type-checks, runs vitest and Playwright, and ends with one line of totals.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp
bash scripts/setup.sh || exit 1

if [[ ! -x /usr/bin/chromium ]]; then
  echo "test: installing Debian's Chromium for the browser tests" >&2
  SUDO=$([[ $(id -u) -eq 0 ]] && echo "" || echo sudo)
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium) >/dev/null || { echo "test: could not install chromium" >&2; exit 1; }
fi

# nginx for the load balancer's test (server/test/nginx.test.ts runs docs/nginx.conf as its own process;
# it skips without nginx, and fails under CI=true). Only the package: its service must not start, so the
# install runs under a policy-rc.d that denies it (Debian's way; Docker images ship one already).
if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
  echo "test: installing Debian's nginx for the load balancer's test" >&2
  # sudo -n: never wait for a password for this optional package.
  SUDO=$([[ $(id -u) -eq 0 ]] && echo "" || echo "sudo -n")
  POLICY=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    POLICY=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null && $SUDO chmod +x "$POLICY"
  fi
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nginx) >/dev/null 2>&1 \
    || echo "test: could not install nginx; its test will skip (or fail under CI)" >&2
  [[ -n "$POLICY" ]] && $SUDO rm -f "$POLICY"
fi

pnpm --filter @barnraise/web build >/dev/null || { echo "test: web build failed" >&2; exit 1; }
pnpm typecheck || { echo "test: type errors" >&2; echo "0 passed, 1 failed"; exit 1; }

# PostgreSQL for the PostgreSQL store's tests (they skip without it, and fail under CI=true, where it is
# expected): start the machine's cluster when it is installed and not answering, as the machine's docs say.
if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  for version in $(ls /etc/postgresql); do
    echo "test: starting PostgreSQL $version" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || echo "test: could not start PostgreSQL $version" >&2
  done
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && break; sleep 0.5; done
fi

rm -f .tmp/vitest.json .tmp/playwright.json
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json
E2E_REPORT=""
if [[ -f e2e/playwright.config.ts ]]; then
  # The config adds its JSON reporter (read for the totals) when PLAYWRIGHT_JSON_OUTPUT_FILE is set, and keeps
  # its HTML report with the screenshots; the page was built above.
  BARNRAISE_E2E_SKIP_BUILD=1 PLAYWRIGHT_JSON_OUTPUT_FILE="$PWD/.tmp/playwright.json" pnpm exec playwright test -c e2e/playwright.config.ts
  E2E_REPORT=.tmp/playwright.json
fi
node scripts/totals.mjs .tmp/vitest.json $E2E_REPORT
