import { describe, expect, it } from 'vitest';
import { runReports } from '../src/cli/run-reports.js';
import { selectDatasets, type PlanRequest } from '../src/pipeline/plan-exports.js';
import { previewReportExports } from '../src/pipeline/plan-preview.js';
import { describeCoverage, subtractWindows } from '../src/pipeline/window-coverage.js';
import { windowForDensity } from '../src/pipeline/window-sizing.js';
import { runCli } from './helpers/cli-process.js';
import { useTestEnv } from './helpers/test-env.js';

/**
 * Issue 7 §3–4: windows sized from observed density (`ETL_WINDOW=auto`), a plan you can read before
 * the run (`--dry-run`), newest first, and re-runs of only what is missing or failed.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const quiet = { progress: () => {} };
const day = (offset: number) => new Date(TODAY + offset * DAY).toISOString().slice(0, 10);

describe('window sizing and coverage', () => {
  it('sizes windows to the target rows per export: whole days up to 30, hours only for dense datasets', () => {
    expect(windowForDensity(24, 200_000)).toBe(30 * DAY); // sparse: a month
    expect(windowForDensity(0, 200_000)).toBe(30 * DAY);
    expect(windowForDensity(40_000, 200_000)).toBe(5 * DAY);
    expect(windowForDensity(200_000, 200_000)).toBe(DAY);
    expect(windowForDensity(300_000, 200_000)).toBe(12 * HOUR);
    expect(windowForDensity(1_000_000, 200_000)).toBe(4 * HOUR);
    expect(windowForDensity(100_000_000, 200_000)).toBe(HOUR);
  });

  it('finds the parts of a range no window covers, and classifies a layout against windows of any size', () => {
    const w = (a: number, b: number) => ({ start: a * DAY, end: b * DAY });
    expect(subtractWindows(w(0, 10), [w(1, 3), w(2, 4), w(6, 12)])).toEqual([w(0, 1), w(4, 6)]);
    expect(subtractWindows(w(0, 2), [])).toEqual([w(0, 2)]);
    const layout = [w(0, 7), w(7, 14), w(14, 21), w(21, 28)];
    const coverage = describeCoverage(layout, [
      ...[0, 1, 2, 3, 4, 5, 6].map((d) => ({ window: w(d, d + 1), status: 'loaded' as const, everLoaded: true })),
      { window: w(8, 9), status: 'failed', everLoaded: false },
      { window: w(15, 16), status: 'exporting', everLoaded: false },
    ]);
    expect(coverage).toEqual({ total: 4, loaded: 1, failed: 1, inFlight: 1, missing: 1 });
  });
});

describe('dataset selection', () => {
  it('warns about an ETL_EXCLUDE_DATASETS entry Intercom does not list, naming the close match', () => {
    const warnings: string[] = [];
    const all = [{ datasetId: 'conversation' }, { datasetId: 'tickets' }];
    expect(selectDatasets(all, [], [], ['conversaton'], (w) => warnings.push(w))).toEqual(all);
    expect(warnings).toEqual(['ETL_EXCLUDE_DATASETS names "conversaton", which Intercom does not list (did you mean conversation?).']);
  });
});

describe('planning a backfill', () => {
  const getEnv = useTestEnv({ fake: { export: { latencyMs: 50 } } });
  const truthIds = (from: number, to: number) =>
    getEnv()
      .fake.expectedRows('conversation', (TODAY + from * DAY) / 1000, (TODAY + to * DAY) / 1000 - 1)
      .map((r) => r.conversation_id!)
      .sort();
  const tableIds = async () =>
    (await getEnv().query<{ id: string }>('SELECT conversation_id AS id FROM report_conversation')).map((r) => r.id).sort();
  const backfill = (ctx = getEnv().ctx, from: number, to: number, extra: Partial<PlanRequest> = {}) =>
    runReports(
      ctx,
      { mode: 'backfill', range: { start: TODAY + from * DAY, end: TODAY + to * DAY }, datasetIds: ['conversation'], ...extra },
      quiet,
    );

  it('auto: probes the newest day, then sizes the rest from its rows; same rows as 1-day windows, far fewer exports', async () => {
    const env = getEnv();
    const auto = env.newContext({ ETL_WINDOW: 'auto', ETL_TARGET_ROWS_PER_EXPORT: '1000' });
    const summary = await backfill(auto, -60, 0);
    expect(summary.progress.failed).toBe(0);
    expect(await tableIds()).toEqual(truthIds(-60, 0));
    const windows = await env.query<{ days: number }>(
      `SELECT extract(epoch FROM window_end - window_start) / 86400 AS days FROM etl_export_windows ORDER BY window_start`,
    );
    // 24 rows a day and a target of 1,000 rows: 30-day windows after the 1-day probe of the newest day.
    expect(windows.map((w) => Number(w.days))).toEqual([30, 29, 1]);
    expect(env.fake.stats().enqueued).toBe(3); // instead of 60

    // With that history, two years need at least 5× fewer exports than 1-day windows would.
    const twoYears = await previewReportExports(env.newContext({ ETL_WINDOW: 'auto' }), {
      mode: 'backfill',
      range: { start: TODAY - 728 * DAY, end: TODAY },
      datasetIds: ['conversation'],
    });
    expect(twoYears.perDataset[0]!.sizing).toBe('auto');
    expect(twoYears.exports).toBeLessThanOrEqual(728 / 5);
  });

  it('--missing-only exports only the gaps, whatever layout loaded the rest', async () => {
    const env = getEnv();
    await backfill(undefined, -10, -5);
    await backfill(undefined, -4, 0);
    const before = env.fake.stats().enqueued;
    const summary = await backfill(undefined, -10, 0, { onlyMissing: true, windowMs: 7 * DAY });
    expect(summary.progress.total).toBe(1);
    expect(env.fake.stats().enqueued - before).toBe(1);
    expect(await tableIds()).toEqual(truthIds(-10, 0));
  });

  it('--failed-only re-runs only the failed windows, with their own bounds', async () => {
    const env = getEnv();
    const strict = env.newContext({ ETL_MAX_EXPORT_FAILURES: '0' });
    env.fake.failNextExports(1);
    const first = await backfill(strict, -3, 0, { order: 'oldest-first' });
    expect(first.progress).toMatchObject({ loaded: 2, failed: 1 });
    const again = await backfill(undefined, -30, 0, { failedOnly: true, windowMs: 7 * DAY });
    expect(again.progress).toMatchObject({ total: 1, loaded: 1, failed: 0 });
    expect(await tableIds()).toEqual(truthIds(-3, 0));
  });

  it('queues the newest windows first by default', async () => {
    const env = getEnv();
    // One export slot: the dispatcher starts windows strictly one after the other, in plan order.
    await backfill(env.newContext({ ETL_MAX_UNFINISHED_EXPORTS: '1' }), -4, 0);
    const enqueues = env.fake
      .stats()
      .requests.filter((r) => r.path === '/export/reporting_data/enqueue')
      .map((r) => r.at);
    expect(enqueues.length).toBe(4);
    const windows = await env.query<{ start: Date; enqueued_at: Date }>(
      `SELECT window_start AS start, enqueued_at FROM etl_export_windows ORDER BY enqueued_at`,
    );
    // The first export asked for is the newest day, and so on back.
    expect(windows.map((w) => w.start.getTime())).toEqual([1, 2, 3, 4].map((d) => TODAY - d * DAY));
  });

  it('--dry-run prints the plan with what is loaded, failed and missing, and changes nothing', async () => {
    const env = getEnv();
    await backfill(undefined, -3, 0);
    const ledgerBefore = await env.query('SELECT * FROM etl_export_windows ORDER BY window_start');
    const run = await runCli(
      ['backfill', '--from', day(-10), '--to', day(-1), '--dataset', 'conversation', '--window', '1d', '--dry-run'],
      env.childEnv,
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/Plan \(dry run: nothing is queued or changed\)/);
    expect(run.output).toMatch(/order: newest-first/);
    // 10 windows: 3 loaded, 7 missing, 10 exports.
    expect(run.output).toMatch(/conversation\s+1 d \(requested\)\s+10\s+3\s+0\s+0\s+7\s+10/);
    expect(run.output).toMatch(/Exports: 10; about \d+ min at 5 exports at a time \(from 3 past exports\)/);
    expect(await env.query('SELECT * FROM etl_export_windows ORDER BY window_start')).toEqual(ledgerBefore);
    expect(await env.ctx.queues.reports.getJobCountByTypes('wait', 'delayed', 'active', 'prioritized')).toBe(0);
  });
});
