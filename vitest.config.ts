import { defineConfig } from 'vitest/config';

/**
 * Tests that build, install or drive whole programs (tsc + npm ci, Chromium): `npm test` runs them
 * after the main suite, one file at a time, so they never starve its child-process tests of CPU.
 */
export const HEAVY_TESTS = ['test/production-install.test.ts', 'test/ops-browser.test.ts'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Run after this suite by vitest.heavy.config.ts (see there); `npx vitest run <file>` with that
    // config runs one of them alone.
    exclude: ['**/node_modules/**', ...HEAVY_TESTS],
    // Real Postgres, Redis and HTTP: generous timeouts, files in parallel (each has its own schema and queue prefix).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 4,
    reporters: ['default'],
  },
});
