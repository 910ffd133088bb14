import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/src/**/*.test.ts', 'client/src/**/*.test.ts', 'client/test/**/*.test.ts', 'server/src/**/*.test.ts', 'server/test/**/*.test.ts', 'web/src/**/*.test.ts', 'bench/src/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['e2e/**', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests start servers and child processes; two cores do not take them in parallel well.
    fileParallelism: false,
  },
});
