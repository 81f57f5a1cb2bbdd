import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from './helpers/cli-process.js';
import { createTestEnv, TEST_DATABASE_URL, type TestEnv } from './helpers/test-env.js';

/** Several CLI processes in a row: on a loaded machine each start alone can take many seconds. */
const SLOW_TEST_MS = 180_000;

/**
 * Postgres and Redis that cannot be used: every command ends, within a bounded time, with one line
 * naming the service and the variable to fix — no hang, no stack trace.
 */
let env: TestEnv;
let failed = false;
beforeAll(async () => {
  env = await createTestEnv('cli_connections');
});
afterAll(async () => env.cleanup(failed));

/** Runs the CLI; a run still going after `limitMs` is killed and reported with code null (a hang). */
async function runCliWithin(args: string[], vars: Record<string, string>, limitMs = 90_000) {
  const p = startCli(args, { ...env.childEnv, ...vars });
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), limitMs)));
  const exit = await Promise.race([p.exited, hung]);
  clearTimeout(timer);
  if (exit === null) {
    p.child.kill('SIGKILL');
    await p.exited;
  }
  return { code: exit === null ? null : exit.code, output: p.output() };
}

const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$/m;
const pgUrl = (db: string, auth = 'postgres') => TEST_DATABASE_URL.replace(/\/\/[^@]*@/, `//${auth}@`).replace(/\/[^/]*$/, `/${db}`);

describe('Redis unreachable or misconfigured', () => {
  it(
    'a command that needs Redis fails after REDIS_CONNECT_TIMEOUT_MS naming Redis and REDIS_URL, instead of hanging',
    async (context) => {
      context.onTestFailed(() => void (failed = true));
      const run = await runCliWithin(['backfill', '--from', '2026-01-01', '--to', '2026-01-01'], {
        REDIS_URL: 'redis://127.0.0.1:1/0',
        REDIS_CONNECT_TIMEOUT_MS: '1000',
      });
      expect(run.code, run.output).toBe(1);
      expect(run.output).toMatch(/error: Cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/0 \(REDIS_URL\) within 1 s: connect ECONNREFUSED/);
      expect(run.output).not.toMatch(STACK_LINE);
      expect(await env.query('SELECT 1 FROM etl_export_windows')).toEqual([]);
    },
    SLOW_TEST_MS,
  );

  it(
    'check reports an unreachable Redis and a db index the server does not have as FAIL',
    async (context) => {
      context.onTestFailed(() => void (failed = true));
      const down = await runCliWithin(['check'], { REDIS_URL: 'redis://127.0.0.1:1', REDIS_CONNECT_TIMEOUT_MS: '1000' });
      expect(down.code, down.output).toBe(1);
      expect(down.output).toMatch(/FAIL\s+Redis\s+Cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(REDIS_URL\)/);
      expect(down.output).toMatch(/OK\s+Postgres/);
      expect(down.output).not.toMatch(STACK_LINE);

      const badDb = await runCliWithin(['check'], { REDIS_URL: 'redis://127.0.0.1:6379/99' });
      expect(badDb.code, badDb.output).toBe(1);
      expect(badDb.output).toMatch(/FAIL\s+Redis\s+Redis at redis:\/\/127\.0\.0\.1:6379\/99 \(REDIS_URL\) refused db index 99/);
      expect(badDb.output).not.toMatch(STACK_LINE);
    },
    SLOW_TEST_MS,
  );
});

describe('Postgres unreachable or misconfigured', () => {
  it.each([
    [
      'unreachable',
      'postgres://postgres@127.0.0.1:1/test',
      /error: Cannot reach Postgres at postgres:\/\/postgres@127\.0\.0\.1:1\/test \(DATABASE_URL\): connect ECONNREFUSED/,
    ],
    [
      'an unknown role',
      pgUrl('test', 'no_such_role_x:secret'),
      /error: Postgres at postgres:\/\/no_such_role_x:\*\*\*@.+ \(DATABASE_URL\) rejected the credentials: role "no_such_role_x" does not exist/,
    ],
    [
      'a missing database',
      pgUrl('no_such_db_x'),
      /error: Postgres at .+\/no_such_db_x \(DATABASE_URL\): database "no_such_db_x" does not exist\. Create the database or fix its name in DATABASE_URL/,
    ],
  ])(
    '%s: names Postgres and DATABASE_URL, exits 1',
    async (_what, url, message) => {
      const run = await runCliWithin(['status'], { DATABASE_URL: url });
      expect(run.output).toMatch(message);
      expect(run.output).not.toContain('secret');
      expect(run.output).not.toMatch(STACK_LINE);
      expect(run.code, run.output).toBe(1);
    },
    SLOW_TEST_MS,
  );
});
