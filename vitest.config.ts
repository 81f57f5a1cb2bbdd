import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real Postgres, Redis and HTTP: generous timeouts, files in parallel (each has its own schema and queue prefix).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 4,
    reporters: ['default'],
  },
});
