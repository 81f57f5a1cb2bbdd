import { Writable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { connectIntercom, createContext } from '../src/context.js';
import { nightlySyncJobOptions } from '../src/jobs/nightly-sync.js';
import { startWorkers } from '../src/jobs/workers.js';
import { createLogger } from '../src/log.js';
import * as ledger from '../src/pipeline/export-ledger.js';
import { nightlyStatus } from '../src/pipeline/nightly-runs.js';
import { planReportExports } from '../src/pipeline/plan-exports.js';
import { toIntercomBounds } from '../src/pipeline/time-windows.js';
import { syncSchedules } from '../src/schedules/index.js';
import { runCli, startCli, useCliProcesses, waitFor } from './helpers/cli-process.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

/** A fleet of `worker` processes nobody watches: shared rate limits, self-healing, visible nights. */

const DAY = 86_400_000;
const D0 = Math.floor(Date.now() / DAY) * DAY - 10 * DAY;
const conversation = (days: number) => ({
  mode: 'backfill' as const,
  range: { start: D0, end: D0 + days * DAY },
  datasetIds: ['conversation'],
});

const getEnv = useTestEnv();
const children = useCliProcesses();
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

const workerEnv = (extra: Record<string, string> = {}) => ({ ...env.childEnv, ETL_SCHEDULE_ENABLED: 'false', LOG_LEVEL: 'info', ...extra });

describe('the per-10-second 429', () => {
  it('pauses every worker process of the queue, not only the one that got it', async () => {
    env.fake.injectFailure({ method: 'POST', path: '/export/reporting_data/enqueue', status: 429, count: 1, retryAfterSeconds: 6 });
    await planReportExports(env.ctx, conversation(1));
    const first = startCli(['worker'], workerEnv({ ETL_CONCURRENCY: '1' }));
    children.push(first);
    await waitFor(() => env.fake.stats().requests.some((r) => r.status === 429), 60_000, 'the first worker process to get the 429');

    // A second worker process of the same queue (this one) must not start the window while the queue is paused.
    const limiterKey = env.ctx.queues.reports.keys.limiter!;
    // queue.rateLimit sets the key to a huge count for the pause; otherwise the key only counts job starts.
    const paused = async () => Number(await env.ctx.redis.get(limiterKey)) >= Number.MAX_SAFE_INTEGER - 1;
    await waitFor(paused, 10_000, 'the first worker process to pause the queue');
    const second = startWorkers(env.ctx, ['reports']);
    let startedHere = 0;
    second.workers[0]!.on('active', () => (startedHere += 1));
    try {
      let startedWhilePaused = 0;
      for (;;) {
        const started = startedHere; // read before the key: if the pause is still on, it was on then too
        if (!(await paused())) break;
        startedWhilePaused = Math.max(startedWhilePaused, started);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(startedWhilePaused).toBe(0);
      await waitFor(
        async () => (await env.query<{ status: string }>('SELECT status FROM etl_export_windows'))[0]?.status === 'loaded',
        60_000,
        'the window to load once the pause is over',
      );
    } finally {
      await second.close();
    }
    expect(env.fake.stats().requests.filter((r) => r.status === 429)).toHaveLength(1);
  }, 180_000);
});

describe('the reconciler', () => {
  it('with only a worker process running, queues again windows whose job was removed from Redis or whose process died mid-load', async () => {
    const plan = await planReportExports(env.ctx, conversation(2));
    const [lostJob, diedMidLoad] = [...plan.windows].sort((a, b) => a.window.start - b.window.start) as [
      ledger.WindowKey,
      ledger.WindowKey,
    ];
    // Window 1: dispatched (it holds a job), and its job vanished from Redis (a flush, a stalled job
    // failed and removed, or its dispatcher died between claiming it and adding the job).
    // Window 2: its export finished at Intercom and its worker died while loading; the job is gone too.
    for (const key of plan.windows) await env.ctx.queues.reports.remove(ledger.windowJobId(key));
    expect(await ledger.claimQueuedWindows(env.ctx.pool, 2)).toHaveLength(2);
    const row = (await ledger.getWindow(env.ctx.pool, diedMidLoad))!;
    const job = await env.ctx.intercom.enqueueExport({
      datasetId: 'conversation',
      attributeIds: row.attributeIds,
      ...toIntercomBounds(diedMidLoad.window),
    });
    await ledger.recordEnqueued(env.ctx.pool, diedMidLoad, job.jobIdentifier, job.status);
    await ledger.recordIntercomStatus(env.ctx.pool, diedMidLoad, 'complete', 'loading');
    expect(await env.ctx.queues.reports.getJobCounts()).toMatchObject({ waiting: 0, delayed: 0, active: 0 });

    const worker = startCli(['worker'], workerEnv({ ETL_RECONCILE_INTERVAL_MS: '1000' }));
    children.push(worker);
    await waitFor(
      async () => (await env.query<{ status: string }>('SELECT status FROM etl_export_windows')).every((w) => w.status === 'loaded'),
      90_000,
      'the reconciler to bring both windows back',
    );
    expect(env.fake.stats().enqueued).toBe(2); // window 2 downloaded the export the ledger remembered
    const windows = await env.query<{ requeues: number; intercom_job_id: string }>(
      'SELECT requeues, intercom_job_id FROM etl_export_windows ORDER BY window_start',
    );
    expect(windows.map((w) => w.requeues)).toEqual([1, 1]);
    expect(windows[1]!.intercom_job_id).toBe(job.jobIdentifier);
    expect(worker.output()).toContain('reconciler: windows had no job in the queue; queued them again');
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  }, 180_000);
});

describe('the nightly job', () => {
  it('is retried with backoff on transient errors; a failed night shows in status, and each attempt logs a start and a finish line', async () => {
    let logs = '';
    const ctx = createContext(env.config, {
      log: createLogger({
        destination: new Writable({
          write(chunk: Buffer, _enc, done) {
            logs += chunk.toString();
            done();
          },
        }),
      }),
    });
    try {
      await connectIntercom(ctx);
      // get_datasets is down for both attempts (the client's own retries included: 5 tries each).
      env.fake.injectFailure({ method: 'GET', path: '/export/reporting_data/get_datasets', status: 503, count: 10 });
      const job = await ctx.queues.control.add('nightly-sync', {}, nightlySyncJobOptions(2));
      const workers = startWorkers(ctx, ['control']);
      try {
        await waitFor(async () => (await job.getState()) === 'delayed', 60_000, 'the first attempt to fail and be retried later');
        expect((await nightlyStatus(env.ctx.pool)).last).toMatchObject({ status: 'retrying', attempts: 1 });
        await job.promote(); // skip the backoff
        await waitFor(async () => (await job.getState()) === 'failed', 60_000, 'the second attempt to fail');
      } finally {
        await workers.close();
      }
      const failed = await runCli(['status'], env.childEnv);
      expect(failed.code).toBe(0);
      expect(failed.output).toMatch(/nightly: last run \S+ FAILED after 2 attempts: Intercom GET \/export\/reporting_data\/get_datasets/);
      // Each attempt is a run of the job's id: a start line, and a finish line saying what became of it.
      const lines = logs
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string; runId?: string; outcome?: string; attempt?: number });
      expect(lines.filter((l) => l.msg === 'run started')).toMatchObject([
        { runId: job.id, attempt: 1 },
        { runId: job.id, attempt: 2 },
      ]);
      expect(lines.filter((l) => l.msg === 'run finished')).toMatchObject([
        { runId: job.id, outcome: 'retrying', attempt: 1 },
        { runId: job.id, outcome: 'failed', attempt: 2 },
      ]);
    } finally {
      await ctx.close();
    }
  }, 180_000);

  it('is declared with retries, next to the reconciler', async () => {
    await syncSchedules(env.ctx);
    const schedulers = await env.ctx.queues.control.getJobSchedulers();
    expect(schedulers.map((s) => s.key).sort()).toEqual(['nightly-sync', 'reconcile-windows', 'refresh-rollups']);
    const nightly = await env.ctx.queues.control.getJobScheduler('nightly-sync');
    expect(nightly?.template?.opts).toMatchObject({ attempts: env.config.worker.attempts, backoff: { type: 'exponential' } });
  });
});
