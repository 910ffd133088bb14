/**
 * End-to-end tests of the volunteer page: Debian's Chromium (`/usr/bin/chromium`, installed by
 * global-setup when missing), a real master started per test, no mocks. One worker: the machine has two
 * cores and each test already runs a master, several tabs and their Web Workers.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  testDir: here,
  testMatch: '*.spec.ts',
  globalSetup: path.join(here, 'global-setup.ts'),
  outputDir: path.join(here, 'test-results'),
  workers: 1,
  fullyParallel: false,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [
    ['list'],
    ['html', { outputFolder: path.join(here, 'playwright-report'), open: 'never' }],
    // scripts/test.sh reads the totals from a JSON report when it asks for one.
    ...(process.env.PLAYWRIGHT_JSON_OUTPUT_FILE ? ([['json']] as const) : []),
  ],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    },
    actionTimeout: 15_000,
    navigationTimeout: 20_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
