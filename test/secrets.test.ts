import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-process.js';
import { TEST_REDIS_URL, useTestEnv } from './helpers/test-env.js';

/** Several CLI processes in a row: on a loaded machine each start alone can take many seconds. */
const SLOW_TEST_MS = 180_000;

const DAY = 86_400_000;
const day = (offset: number) => new Date(Math.floor(Date.now() / DAY) * DAY + offset * DAY).toISOString().slice(0, 10);
const TOKEN = 'tok_EchoMe-7f3a9c2e1b';

/** Every value stored under the test's queue prefix, whatever the key type (job hashes, lists, streams…). */
async function dumpRedis(prefix: string): Promise<string> {
  const redis = new Redis(TEST_REDIS_URL);
  const parts: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.get(key)
            : type === 'hash'
              ? await redis.hgetall(key)
              : type === 'list'
                ? await redis.lrange(key, 0, -1)
                : type === 'set'
                  ? await redis.smembers(key)
                  : type === 'zset'
                    ? await redis.zrange(key, '0', '-1', 'WITHSCORES')
                    : type === 'stream'
                      ? await redis.xrange(key, '-', '+')
                      : null;
        parts.push(`${key} ${JSON.stringify(value)}`);
      }
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  return parts.join('\n');
}

describe('the access token never leaves the client', () => {
  const getEnv = useTestEnv({ fake: { tokens: [TOKEN] }, env: { INTERCOM_ACCESS_TOKEN: TOKEN, ETL_JOB_ATTEMPTS: '2' } });

  it(
    'even when Intercom echoes it in the reason phrase and the body: not in the ledger, Redis, the tables or the logs',
    async () => {
      const env = getEnv();
      const childEnv = { ...env.childEnv, LOG_LEVEL: 'debug' };
      // Fatal (400) on the first enqueue, retriable (500) on every status call, fatal (403) on the scroll.
      env.fake.injectFailure({ method: 'POST', path: '/export/reporting_data/enqueue', status: 400, echoToken: true });
      env.fake.injectFailure({
        method: 'GET',
        path: /^\/export\/reporting_data\/(?!get_datasets$)[^/]+$/,
        status: 500,
        count: 1000,
        echoToken: true,
      });
      env.fake.injectFailure({ path: '/companies/scroll', status: 403, count: 1000, echoToken: true });

      const backfill = await runCli(['backfill', '--from', day(-3), '--to', day(-2), '--dataset', 'admin_status_change'], childEnv);
      const companies = await runCli(['sync', 'companies'], childEnv);
      expect(backfill.code, backfill.output).toBe(1);
      expect(companies.code, companies.output).toBe(1);

      // The fake did echo it, and what the client says about those failures is redacted, not dropped.
      expect(env.fake.stats().requests.filter((r) => r.status >= 400).length).toBeGreaterThanOrEqual(3);
      const ledger = await env.query<{ error: string }>('SELECT error FROM etl_export_windows ORDER BY window_start');
      expect(ledger.map((r) => r.error)).toEqual([expect.stringContaining('[redacted]'), expect.stringContaining('[redacted]')]);
      const runs = await env.query<{ error: string }>(`SELECT error FROM etl_sync_runs WHERE stream = 'companies'`);
      expect(runs[0]?.error).toContain('[redacted]');

      const output = `${backfill.output}\n${companies.output}`;
      expect(output).toContain('[redacted]');
      expect(output).not.toContain(TOKEN);

      const tables = await env.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`,
        [env.schema],
      );
      for (const { table_name } of tables) {
        const [row] = await env.query<{ dump: string | null }>(`SELECT string_agg(t::text, E'\\n') AS dump FROM "${table_name}" t`);
        expect(row?.dump ?? '', `table ${table_name}`).not.toContain(TOKEN);
      }

      const redis = await dumpRedis(env.queuePrefix);
      expect(redis).toMatch(/failedReason/); // the companies job is kept failed, with its reason and stack
      expect(redis).toContain('[redacted]');
      expect(redis).not.toContain(TOKEN);
    },
    SLOW_TEST_MS,
  );
});
