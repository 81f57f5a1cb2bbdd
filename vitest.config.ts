import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real Postgres, Redis and HTTP: generous timeouts, files in parallel (each has its own schema and queue prefix).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 4,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/chaos.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      // The chaos test starts and kills CLI processes for a minute or two: it runs alone, after the
      // rest, so that neither slows the other into timeouts on a small machine.
      { extends: true, test: { name: 'chaos', include: ['test/chaos.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
