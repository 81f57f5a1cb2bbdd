import { afterEach, beforeEach } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import { createContext, type AppContext } from '../../src/context.js';
import { migrate } from '../../src/db/migrate.js';
import { FakeIntercom, type FakeIntercomOptions } from '../../src/fake-intercom/index.js';
import { silentLogger } from '../../src/log.js';
import { exportSlotsKey } from '../../src/pipeline/export-slots.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
export const FAKE_TOKEN = 'fake-token';

export interface TestEnv {
  fake: FakeIntercom;
  config: Config;
  ctx: AppContext;
  schema: string;
  queuePrefix: string;
  /** Environment for a child process running the CLI against this test's fake, schema and queues. */
  childEnv: Record<string, string>;
  /** A fresh context on the same config (a second "process" in-process). */
  newContext(overrides?: Record<string, string>): AppContext;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Drops the schema and the queue keys — unless `keep` (a failed test keeps them to inspect). */
  cleanup(keep?: boolean): Promise<void>;
}

/**
 * Everything one test needs, isolated: its own Postgres schema (in database `test`), its own
 * BullMQ prefix, its own fake Intercom on an ephemeral port. Files run in parallel safely.
 */
export async function createTestEnv(
  name: string,
  options: { fake?: FakeIntercomOptions; env?: Record<string, string>; migrate?: boolean } = {},
): Promise<TestEnv> {
  const id = `${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30)}_${randomBytes(3).toString('hex')}`;
  const schema = `t_${id}`;
  const queuePrefix = `test-${id}`;
  // Export slots are keyed by workspace only (as in production): each env gets its own workspace id
  // so that test files running in parallel do not share Intercom's 5 slots.
  const fake = await FakeIntercom.start({
    tokens: [FAKE_TOKEN],
    ...options.fake,
    workspace: { idCode: `ws_${id}`, ...options.fake?.workspace },
    export: { latencyMs: 200, ...options.fake?.export },
  });
  const baseEnv: Record<string, string> = {
    INTERCOM_ACCESS_TOKEN: FAKE_TOKEN,
    INTERCOM_BASE_URL: fake.url,
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    PG_SCHEMA: schema,
    ETL_QUEUE_PREFIX: queuePrefix,
    ETL_POLL_INTERVAL_MS: '100',
    // Tests reason about 1-day windows unless they ask for another size (the product default is auto).
    ETL_WINDOW: '1d',
    ETL_JOB_LIMIT_BACKOFF_MS: '500',
    ETL_CONCURRENCY: '4',
    // Worker processes of parallel tests would all want port 9464; tests that serve HTTP pick a port.
    ETL_HTTP_PORT: '0',
    ...options.env,
  };
  const config = loadConfig({}, baseEnv);
  const contexts: AppContext[] = [];
  const newContext = (overrides: Record<string, string> = {}): AppContext => {
    const c = createContext(loadConfig({}, { ...baseEnv, ...overrides }), { log: silentLogger() });
    contexts.push(c);
    return c;
  };
  const ctx = newContext();
  if (options.migrate !== false) await migrate(ctx.pool, schema);
  const adminPool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  return {
    fake,
    config,
    ctx,
    schema,
    queuePrefix,
    childEnv: { ...baseEnv, LOG_LEVEL: 'warn' },
    newContext,
    async query(sql, params) {
      const client = await adminPool.connect();
      try {
        await client.query(`SET search_path TO "${schema}", public`);
        return (await client.query(sql, params)).rows;
      } finally {
        client.release();
      }
    },
    async cleanup(keep = false) {
      await Promise.allSettled(contexts.map((c) => c.close()));
      await fake.close();
      if (!keep) {
        await adminPool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await adminPool.query(`DROP SCHEMA IF EXISTS "${config.biSchema}" CASCADE`); // the daily rollups
        const redis = new Redis(TEST_REDIS_URL);
        for (const pattern of [`${queuePrefix}:*`, `${exportSlotsKey(fake.workspaceId)}*`]) {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
            cursor = next;
            if (keys.length > 0) await redis.del(...keys);
          } while (cursor !== '0');
        }
        await redis.quit();
      } else {
        process.stderr.write(`Kept schema "${schema}" and queue prefix "${queuePrefix}" of a failed test for inspection.\n`);
      }
      await adminPool.end();
    },
  };
}

/**
 * Registers beforeEach/afterEach hooks giving every test of the file a fresh TestEnv; a failed
 * test keeps its schema and queue keys. Returns a getter for the current env.
 */
export function useTestEnv(options: Parameters<typeof createTestEnv>[1] = {}): () => TestEnv {
  let env: TestEnv | undefined;
  let failed = false;
  beforeEach(async (context) => {
    failed = false;
    context.onTestFailed(() => {
      failed = true;
    });
    env = await createTestEnv(context.task.name, options);
  });
  afterEach(async () => {
    await env?.cleanup(failed);
    env = undefined;
  });
  return () => {
    if (!env) throw new Error('useTestEnv(): no test is running');
    return env;
  };
}
