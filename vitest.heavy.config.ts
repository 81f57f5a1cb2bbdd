import { defineConfig } from 'vitest/config';
import base, { HEAVY_TESTS } from './vitest.config.js';

/** The heavy tests (see vitest.config.ts), one file at a time: `vitest run --config vitest.heavy.config.ts`. */
export default defineConfig({
  test: {
    ...base.test,
    include: HEAVY_TESTS,
    exclude: ['**/node_modules/**'],
    maxWorkers: 1,
  },
});
