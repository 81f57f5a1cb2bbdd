import { defineConfig } from 'vitest/config';

/**
 * Tests that build, install, drive or kill whole programs (tsc + npm ci, Chromium, the chaos test's
 * SIGKILLs): `npm test` runs them after the main suite, one file at a time, so that neither slows the
 * other into timeouts on a small machine. `npx vitest run --config vitest.heavy.config.ts <file>`
 * runs one of them alone.
 */
export const HEAVY_TESTS = ['test/production-install.test.ts', 'test/ops-browser.test.ts', 'test/chaos.test.ts'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...HEAVY_TESTS],
    // Real Postgres, Redis and HTTP: generous timeouts, files in parallel (each has its own schema and queue prefix).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 4,
    reporters: ['default'],
  },
});
