import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-process.js';
import { createTestEnv, type TestEnv } from './helpers/test-env.js';

/** Several CLI processes in a row: on a loaded machine each start alone can take many seconds. */
const SLOW_TEST_MS = 180_000;

const DAY = 86_400_000;
const day = (offset: number) => new Date(Math.floor(Date.now() / DAY) * DAY + offset * DAY).toISOString().slice(0, 10);

/** Wrong inputs: each is refused with a message naming it, and usage errors exit 2 (README, CLI). */
let env: TestEnv;
let failed = false;
beforeAll(async () => {
  env = await createTestEnv('cli_inputs');
});
afterAll(async () => env.cleanup(failed));

describe('usage errors exit 2', () => {
  it.each([
    ['an unknown command', ['bogus'], /unknown command 'bogus'/],
    ['an unknown option', ['status', '--bogus'], /unknown option '--bogus'/],
    ['a missing required option', ['backfill', '--to', '2026-01-01'], /required option '--from <YYYY-MM-DD>' not specified/],
    ['--to before --from', ['backfill', '--from', '2026-01-05', '--to', '2026-01-01'], /--to 2026-01-01 is before --from 2026-01-05/],
    [
      'an impossible --from',
      ['backfill', '--from', '2026-02-30', '--to', '2026-03-05'],
      /--from "2026-02-30" is not a day of the calendar/,
    ],
    ['an impossible --to', ['backfill', '--from', '2026-04-01', '--to', '2026-04-31'], /--to "2026-04-31" is not a day of the calendar/],
    ['an unknown sync stream', ['sync', 'reprots'], /unknown stream\(s\) reprots/],
  ])('%s', async (_what, args, message) => {
    const run = await runCli(args, env.childEnv);
    expect(run.output).toMatch(message);
    expect(run.code, run.output).toBe(2);
  });

  it.each([
    ['an impossible ETL_START_DATE', { ETL_START_DATE: '2026-02-30' }, /ETL_START_DATE "2026-02-30" is not a day of the calendar/],
    ['a cron minute out of range', { ETL_SCHEDULE_CRON: '99 2 * * *' }, /ETL_SCHEDULE_CRON="99 2 \* \* \*" is not a valid cron pattern/],
    ['a cron day that never comes', { ETL_SCHEDULE_CRON: '0 0 31 2 *' }, /ETL_SCHEDULE_CRON="0 0 31 2 \*" is not a valid cron pattern/],
  ])('%s', async (_what, vars, message) => {
    const run = await runCli(['status'], { ...env.childEnv, ...vars });
    expect(run.output).toMatch(message);
    expect(run.code, run.output).toBe(2);
  });

  it('--help exits 0', async () => {
    const run = await runCli(['backfill', '--help'], env.childEnv);
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/--from <YYYY-MM-DD>/);
  });
});

describe('datasets Intercom does not list', () => {
  it(
    '--dataset with a typo fails naming it and the close match, and queues nothing',
    async (context) => {
      context.onTestFailed(() => void (failed = true));
      const run = await runCli(['backfill', '--from', day(-3), '--to', day(-3), '--dataset', 'conversations'], env.childEnv);
      expect(run.output).toMatch(/--dataset names "conversations", which is not a dataset Intercom lists \(did you mean conversation/);
      expect(run.code, run.output).toBe(2);
      expect(await env.query('SELECT 1 FROM etl_export_windows')).toEqual([]);
    },
    SLOW_TEST_MS,
  );

  it(
    'ETL_DATASETS with a typo fails naming it instead of silently running nothing',
    async (context) => {
      context.onTestFailed(() => void (failed = true));
      const run = await runCli(['sync', 'reports'], { ...env.childEnv, ETL_DATASETS: 'conversation,admin_status_chnage' });
      expect(run.output).toMatch(
        /ETL_DATASETS names "admin_status_chnage", which is not a dataset Intercom lists \(did you mean admin_status_change/,
      );
      expect(run.output).not.toMatch(/"conversation",/);
      expect(run.code, run.output).toBe(2);
      expect(await env.query('SELECT 1 FROM etl_export_windows')).toEqual([]);
    },
    SLOW_TEST_MS,
  );
});

describe('resolved range', () => {
  it(
    'backfill and sync print the range they cover',
    async (context) => {
      context.onTestFailed(() => void (failed = true));
      const backfill = await runCli(['backfill', '--from', day(-3), '--to', day(-2), '--dataset', 'admin_status_change'], env.childEnv);
      expect(backfill.code, backfill.output).toBe(0);
      expect(backfill.output).toContain(`Range: ${day(-3)} .. ${day(-2)} (UTC, both days inclusive; 2 day(s)).`);
      const sync = await runCli(['sync', 'reports'], { ...env.childEnv, ETL_DATASETS: 'admin_status_change', ETL_LOOKBACK_DAYS: '2' });
      expect(sync.code, sync.output).toBe(0);
      // The last 2 days up to the end of yesterday.
      expect(sync.output).toContain(`Range: ${day(-2)} .. ${day(-1)} (UTC, both days inclusive; 2 day(s)).`);
    },
    SLOW_TEST_MS,
  );
});
