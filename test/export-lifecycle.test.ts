import { beforeEach, describe, expect, it } from 'vitest';
import { runReports } from '../src/cli/run-reports.js';
import { connectIntercom } from '../src/context.js';
import { startWorkers } from '../src/jobs/workers.js';
import { windowJobId } from '../src/pipeline/export-ledger.js';
import { planReportExports } from '../src/pipeline/plan-exports.js';
import { waitForWindows } from '../src/pipeline/wait-for-windows.js';
import { waitFor } from './helpers/cli-process.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

/**
 * The life of one export window: bounded re-exports when Intercom forgets a job (404), no status
 * poll in the instant of the enqueue, and a shutdown that aborts in-flight downloads cleanly.
 */

const DAY = 86_400_000;
const D0 = Math.floor(Date.now() / DAY) * DAY - 10 * DAY;
const quiet = { progress: () => {} };
const oneWindow = { mode: 'backfill' as const, range: { start: D0, end: D0 + DAY }, datasetIds: ['conversation'] };

const getEnv = useTestEnv();
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

describe('export window: 404s are bounded', () => {
  it('a status that keeps answering 404 re-exports ETL_MAX_EXPORT_FAILURES times, then fails the window saying what happened', async () => {
    const ctx = env.newContext({ ETL_MAX_EXPORT_FAILURES: '2' });
    env.fake.injectFailure({ method: 'GET', path: /^\/export\/reporting_data\/(?!get_datasets|enqueue)/, status: 404, count: 100_000 });
    const summary = await runReports(ctx, oneWindow, quiet);
    expect(summary.progress).toMatchObject({ loaded: 0, failed: 1 });
    // One export, then two more: not tens of thousands within one job run.
    expect(env.fake.stats().enqueued).toBe(3);
    const error = summary.failures[0]!.error;
    expect(error).toMatch(
      /^Intercom export job \S+ was not found when polling its status \(404\); gave up after 3 failed exports of conversation /,
    );
    expect(error).toContain('(ETL_MAX_EXPORT_FAILURES=2)');
    const [w] = await env.query<{ status: string; enqueue_count: number; export_failures: number }>(
      'SELECT status, enqueue_count, export_failures FROM etl_export_windows',
    );
    expect(w).toEqual({ status: 'failed', enqueue_count: 3, export_failures: 3 });
  });

  it('a download that keeps answering 404 is bounded the same way', async () => {
    const ctx = env.newContext({ ETL_MAX_EXPORT_FAILURES: '1' });
    env.fake.injectFailure({ path: '/download/reporting_data/', status: 404, count: 100_000 });
    const summary = await runReports(ctx, oneWindow, quiet);
    expect(summary.progress).toMatchObject({ loaded: 0, failed: 1 });
    expect(env.fake.stats().enqueued).toBe(2);
    expect(env.fake.stats().downloads).toBe(0); // every download answered the injected 404
    expect(summary.failures[0]!.error).toMatch(
      /download of Intercom export job \S+ was not found \(404; expired\?\); gave up after 2 failed exports of conversation/,
    );
  });

  it('the status is first polled one poll interval after the enqueue, not in the same instant', async () => {
    const ctx = env.newContext({ ETL_POLL_INTERVAL_MS: '600' });
    await runReports(ctx, oneWindow, quiet);
    const requests = env.fake.stats().requests;
    const enqueue = requests.find((r) => r.path === '/export/reporting_data/enqueue')!;
    const firstPoll = requests.find((r) => r.method === 'GET' && /^\/export\/reporting_data\/(?!get_datasets)/.test(r.path))!;
    // The NotReadyError delay is the poll interval with ±10 % jitter.
    expect(firstPoll.at - enqueue.at).toBeGreaterThanOrEqual(540);
  });
});

describe('export window: shutdown', () => {
  it('closing the workers aborts an in-flight download; the window comes back and loads exactly once', async () => {
    await connectIntercom(env.ctx);
    const release = env.fake.holdDownloads();
    const plan = await planReportExports(env.ctx, oneWindow);
    const workers = startWorkers(env.ctx, ['reports']);
    try {
      await waitFor(
        () => env.fake.stats().requests.some((r) => r.path.startsWith('/download/') && r.status === 200),
        20_000,
        'the download to start',
      );
      await workers.close();
    } finally {
      release();
    }
    // The download was aborted, nothing was committed, and the job waits to resume (no attempt used up).
    const [w] = await env.query<{ status: string; error: string | null }>('SELECT status, error FROM etl_export_windows');
    expect(w).toEqual({ status: 'loading', error: null });
    expect(await env.query('SELECT 1 FROM report_conversation')).toEqual([]);
    const job = await env.ctx.queues.reports.getJob(windowJobId(plan.windows[0]!));
    expect(await job!.getState()).toBe('delayed');
    expect(job!.attemptsMade).toBe(0);

    const again = startWorkers(env.ctx, ['reports']);
    try {
      const summary = await waitForWindows(env.ctx, plan.windows, { pollMs: 100 });
      expect(summary.progress).toMatchObject({ loaded: 1, failed: 0 });
    } finally {
      await again.close();
    }
    expect(env.fake.stats().enqueued).toBe(1); // resumed from the ledger: same Intercom job
    const want = env.fake.expectedRows('conversation', D0 / 1000, (D0 + DAY) / 1000 - 1).length;
    const [n] = await env.query<{ n: string }>('SELECT count(*) AS n FROM report_conversation');
    expect(Number(n!.n)).toBe(want);
  });
});
