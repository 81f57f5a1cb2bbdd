import { expect } from 'vitest';
import { runReports } from '../../src/cli/run-reports.js';
import type { TestEnv } from './test-env.js';

export const DAY = 86_400_000;
export const TODAY = Math.floor(Date.now() / DAY) * DAY;
/** First day of the ops fixtures; tests start the env with ETL_START_DATE = this day. */
export const D0 = TODAY - 10 * DAY;
export const isoDay = (t: number): string => new Date(t).toISOString().slice(0, 10);

/**
 * Backfills `conversation` against the fake so that day 0 fails (a CSV header that does not match),
 * days 1–2 load, day 3 is never exported (missing) and day 4 loads.
 */
export async function backfillWithGaps(env: TestEnv): Promise<void> {
  const backfill = (fromDay: number, toDay: number) =>
    runReports(
      env.ctx,
      { mode: 'backfill', range: { start: D0 + fromDay * DAY, end: D0 + toDay * DAY }, datasetIds: ['conversation'] },
      { progress: () => {} },
    );
  env.fake.overrideNextDownload('conversation', 'conversation_id,something_else\n1,2\n');
  expect((await backfill(0, 1)).progress).toMatchObject({ failed: 1 });
  expect((await backfill(1, 3)).progress).toMatchObject({ loaded: 2, failed: 0 });
  expect((await backfill(4, 5)).progress).toMatchObject({ loaded: 1, failed: 0 });
}
