import { beforeEach, describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import { connectIntercom, QUEUE_NAMES } from '../src/context.js';
import { exportWindowPayload, windowLauncher } from '../src/jobs/export-window.js';
import { startWorkers } from '../src/jobs/workers.js';
import { advanceExportWindow } from '../src/pipeline/advance-export.js';
import { dispatchWindows, type WindowLauncher } from '../src/pipeline/dispatch-windows.js';
import { coldFloorMs } from '../src/pipeline/export-timing.js';
import * as ledger from '../src/pipeline/export-ledger.js';
import { windowJobId, type WindowKey } from '../src/pipeline/export-ledger.js';
import { planReportExports } from '../src/pipeline/plan-exports.js';
import { waitForWindows } from '../src/pipeline/wait-for-windows.js';
import { startCli, useCliProcesses, waitFor } from './helpers/cli-process.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

/**
 * The dispatcher (issue 7 §1): windows wait in the ledger, only as many hold a queue job as there
 * are free export slots, a freed slot starts the next window at once, and a killed worker's
 * windows are still loaded exactly once.
 */

const DAY = 86_400_000;
const D0 = Math.floor(Date.now() / DAY) * DAY - 40 * DAY;

const getEnv = useTestEnv({ fake: { export: { latencyMs: 300 } } });
const children = useCliProcesses();
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

/** A launcher that only records what it was asked to start (no queue, no timer). */
function recordingLauncher(): WindowLauncher & { started: WindowKey[] } {
  const started: WindowKey[] = [];
  return { started, start: async (keys) => void started.push(...keys) };
}

describe('dispatcher', () => {
  it('starts only as many windows as there are free slots, newest first; a freed slot starts the next window at once', async () => {
    const plan = await planReportExports(env.ctx, {
      mode: 'backfill',
      range: { start: D0, end: D0 + 7 * DAY },
      datasetIds: ['conversation'],
    });
    expect(plan.windows).toHaveLength(7);
    const session = await connectIntercom(env.ctx);
    const launcher = recordingLauncher();
    expect(await dispatchWindows(env.ctx, session, launcher)).toBe(5);
    // Newest first (the default plan order): the five most recent days.
    expect(launcher.started.map((k) => (k.window.start - D0) / DAY)).toEqual([6, 5, 4, 3, 2]);
    expect(await session.slots.free()).toBe(0);
    // Nothing more while every slot is taken.
    expect(await dispatchWindows(env.ctx, session, launcher)).toBe(0);
    expect(launcher.started).toHaveLength(5);

    // One window runs to the end by hand: the release of its slot starts day 1 there and then.
    const first = launcher.started[0]!;
    const released = recordingLauncher();
    for (let i = 0; i < 20; i++) {
      const r = await advanceExportWindow(env.ctx, first, { launcher: released }).catch((err: Error) => err);
      if (!(r instanceof Error)) {
        expect(r).toMatchObject({ outcome: 'loaded' });
        break;
      }
      expect(r.name).toBe('NotReadyError');
      await new Promise((res) => setTimeout(res, 200)); // the export is still running at the fake
    }
    expect(released.started.map((k) => (k.window.start - D0) / DAY)).toEqual([1]);
    const [w] = await env.query<{ status: string; dispatched: boolean }>(
      `SELECT status, dispatched_at IS NOT NULL AS dispatched FROM etl_export_windows WHERE window_start = $1`,
      [new Date(D0)],
    );
    expect(w).toEqual({ status: 'queued', dispatched: false }); // day 0 still waits in the ledger, without a job
  });

  it('the last windows start longest expected export first; until then newest first whatever the durations', async () => {
    // Two datasets over 8 days; days 0–1 of each were exported before: tickets took 40 s, conversations 20 s.
    const datasetIds = ['conversation', 'tickets'];
    await planReportExports(env.ctx, { mode: 'backfill', range: { start: D0, end: D0 + 8 * DAY }, datasetIds });
    await env.query(
      `UPDATE etl_export_windows SET status = 'loaded', loaded_at = now(), enqueued_at = now() - interval '1 hour',
              exported_at = now() - interval '1 hour' + CASE dataset_id WHEN 'tickets' THEN interval '40 s' ELSE interval '20 s' END
        WHERE window_start < $1`,
      [new Date(D0 + 2 * DAY)],
    );
    const label = (k: WindowKey) => `${k.datasetId}:${(k.window.start - D0) / DAY}`;
    const claimOne = async () => (await ledger.claimQueuedWindows(env.ctx.pool, 1, 10)).map(label);
    // 12, then 11 waiting: more than 10, so the plan order holds (newest day first, both datasets).
    expect(await claimOne()).toEqual(['conversation:7']);
    expect(await claimOne()).toEqual(['tickets:7']);
    // 10 waiting: the tickets windows (the longer exports) go first.
    expect(await claimOne()).toEqual(['tickets:6']);
    await ledger.returnToLedger(env.ctx.pool, [
      { datasetId: 'conversation', window: { start: D0 + 7 * DAY, end: D0 + 8 * DAY } },
      { datasetId: 'tickets', window: { start: D0 + 7 * DAY, end: D0 + 8 * DAY } },
      { datasetId: 'tickets', window: { start: D0 + 6 * DAY, end: D0 + 7 * DAY } },
    ]);

    // Through the dispatcher: 12 waiting, 5 slots.
    const session = await connectIntercom(env.ctx);
    const launcher = recordingLauncher();
    expect(await dispatchWindows(env.ctx, session, launcher)).toBe(5);
    expect(launcher.started.map(label)).toEqual(['conversation:7', 'tickets:7', 'conversation:6', 'tickets:6', 'conversation:5']);
    // 7 left (≤ 10): the tickets windows first, newest first among them; a dataset without history
    // (its export could be the longest of all) before both.
    await planReportExports(env.ctx, { mode: 'backfill', range: { start: D0, end: D0 + DAY }, datasetIds: ['conversation_state'] });
    for (const key of launcher.started) await session.slots.release(session.slots.holderOf(key));
    const tail = recordingLauncher();
    expect(await dispatchWindows(env.ctx, session, tail)).toBe(5);
    expect(tail.started.map(label)).toEqual(['conversation_state:0', 'tickets:5', 'tickets:4', 'tickets:3', 'tickets:2']);
  });

  it('never has more queue jobs than the slots plus the windows loading, and loads every window', async () => {
    const datasets = ['conversation', 'admin_status_change', 'conversation_state'];
    const plan = await planReportExports(env.ctx, { mode: 'backfill', range: { start: D0, end: D0 + 10 * DAY }, datasetIds: datasets });
    expect(plan.windows).toHaveLength(30);
    const concurrency = env.config.worker.concurrency;
    let maxJobs = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const c = await env.ctx.queues.reports.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        maxJobs = Math.max(
          maxJobs,
          Object.values(c).reduce((a, b) => a + b, 0),
        );
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const workers = startWorkers(env.ctx, ['reports']);
    try {
      const summary = await waitForWindows(env.ctx, plan, { pollMs: 100 });
      expect(summary.progress).toMatchObject({ total: 30, loaded: 30, failed: 0 });
      expect(summary.datasets.map((d) => d.windowsLoaded)).toEqual([10, 10, 10]);
    } finally {
      sampling = false;
      await sampler;
      await workers.close();
    }
    expect(maxJobs).toBeGreaterThan(0);
    // Queueing every window at once (the waiters design) had 30 jobs here.
    expect(maxJobs).toBeLessThanOrEqual(5 + concurrency);
    expect(env.fake.stats().enqueued).toBe(30);
    expect(env.fake.stats().maxUnfinishedSeen).toBeLessThanOrEqual(5);
  });

  it('a worker killed mid-export: another one finishes its windows, every window loaded once', async () => {
    env.fake.setExportLatency(1500);
    const plan = await planReportExports(env.ctx, {
      mode: 'backfill',
      range: { start: D0, end: D0 + 8 * DAY },
      datasetIds: ['conversation'],
    });
    const workerEnv = { ...env.childEnv, ETL_SCHEDULE_ENABLED: 'false', ETL_LOCK_DURATION_MS: '1500', ETL_CONCURRENCY: '8' };
    const first = startCli(['worker'], workerEnv);
    children.push(first);
    await waitFor(async () => env.fake.stats().enqueued >= 3, 30_000, 'the first worker to enqueue exports');
    first.child.kill('SIGKILL');
    await first.exited;
    const second = startCli(['worker'], workerEnv);
    children.push(second);
    const summary = await waitForWindows(env.ctx, plan, { pollMs: 200 });
    expect(summary.progress).toMatchObject({ loaded: 8, failed: 0 });
    const want = env.fake.expectedRows('conversation', D0 / 1000, (D0 + 8 * DAY) / 1000 - 1).length;
    const [row] = await env.query<{ n: string; d: string }>(
      'SELECT count(*) AS n, count(DISTINCT conversation_id) AS d FROM report_conversation',
    );
    expect(row).toEqual({ n: String(want), d: String(want) }); // no window loaded twice
    expect(env.fake.stats().maxUnfinishedSeen).toBeLessThanOrEqual(5);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 120_000);
});

describe('learned export durations', () => {
  it("keeps an export's finish time when its load resumes later (a restart polls the finished export again)", async () => {
    const plan = await planReportExports(env.ctx, { mode: 'backfill', range: { start: D0, end: D0 + DAY }, datasetIds: ['conversation'] });
    const key = plan.windows[0]!;
    await ledger.recordEnqueued(env.ctx.pool, key, 'job-resumed', 'pending');
    const finished = new Date(Date.now() - 3_600_000);
    await ledger.recordIntercomStatus(env.ctx.pool, key, 'complete', 'loading', finished);
    // The load was cut short; an hour later the window's job runs again and sees the export complete.
    await ledger.recordIntercomStatus(env.ctx.pool, key, 'complete', 'loading', new Date());
    const [row] = await env.query<{ exported_at: Date }>('SELECT exported_at FROM etl_export_windows');
    expect(row!.exported_at.getTime()).toBe(finished.getTime()); // was overwritten: an hour-long "export" learned
  });

  it('records an export as finished midway between the last poll that saw it running and the first that saw it finished', async () => {
    env.fake.setExportLatency(1500);
    const plan = await planReportExports(env.ctx, {
      mode: 'backfill',
      range: { start: D0, end: D0 + 3 * DAY },
      datasetIds: ['conversation'],
    });
    const workers = startWorkers(env.ctx);
    try {
      expect((await waitForWindows(env.ctx, plan, { pollMs: 200 })).progress).toMatchObject({ loaded: 3 });
    } finally {
      await workers.close();
    }
    const rows = await env.query<{ job: string; exported: Date }>(
      `SELECT intercom_job_id AS job, exported_at AS exported FROM etl_export_windows WHERE dataset_id = 'conversation'`,
    );
    const { exportJobs, requests } = env.fake.stats();
    for (const r of rows) {
      const finishedAt = exportJobs.find((j) => j.id === r.job)!.finishedAtMs;
      const polls = requests.filter((q) => q.method === 'GET' && q.path.includes(`/export/reporting_data/${r.job}`)).map((q) => q.at);
      const lastRunning = Math.max(...polls.filter((at) => at < finishedAt));
      const firstFinished = Math.min(...polls.filter((at) => at >= finishedAt));
      // Before: the time the finish was seen (after the poll that saw it), so every sample carried
      // the polls' lateness and the next exports were polled later and later.
      expect(r.exported.getTime()).toBeGreaterThanOrEqual(lastRunning);
      expect(r.exported.getTime()).toBeLessThan(firstFinished);
    }
    // A dataset without history starts polling no earlier than the quickest export of the others.
    const durations = await env.query<{ ms: number }>(
      `SELECT extract(epoch FROM exported_at - enqueued_at) * 1000 AS ms FROM etl_export_windows WHERE dataset_id = 'conversation'`,
    );
    const fastest = Math.min(...durations.map((d) => Number(d.ms)));
    expect(fastest).toBeGreaterThan(1000);
    expect(await coldFloorMs(env.ctx, 'ticket', DAY)).toBeCloseTo(fastest, 0);
    expect(await coldFloorMs(env.ctx, 'ticket', DAY / 2)).toBeCloseTo(fastest / 2, 0); // scaled to the window
    expect(await coldFloorMs(env.ctx, 'conversation', DAY)).toBeNull(); // only its own history: none from others
  }, 60_000);
});

describe('window launcher', () => {
  /** A worker on the reports queue that records each job it runs; the first run waits for `open()`. */
  function gatedWorker(): { runs: number[]; open: () => void; close: () => Promise<void> } {
    const runs: number[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const worker = new Worker(
      QUEUE_NAMES.reports,
      async (job) => {
        runs.push(job.timestamp);
        if (runs.length === 1) await gate;
      },
      { connection: env.ctx.redis, prefix: env.queuePrefix },
    );
    return { runs, open, close: () => worker.close() };
  }
  const key: WindowKey = { datasetId: 'conversation', window: { start: D0, end: D0 + DAY } };

  it('a window started again while its earlier job is still finishing gets a job once that one is gone', async () => {
    const launcher = windowLauncher(env.ctx);
    const worker = gatedWorker();
    try {
      await launcher.start([key]);
      await waitFor(() => worker.runs.length === 1, 10_000, 'the first job to run');
      // As when that job put its window back in the ledger (no slot) and a release dispatched the
      // window again before BullMQ had completed (and removed) the job: adding the same id is a no-op.
      const again = launcher.start([key]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      worker.open();
      await again;
      await waitFor(() => worker.runs.length === 2, 10_000, "the window's new job to run");
      expect(worker.runs[1]).toBeGreaterThan(worker.runs[0]!);
    } finally {
      worker.open();
      await worker.close();
    }
  });

  it('a finished job left in Redis is replaced; a waiting or delayed one is kept', async () => {
    const queue = env.ctx.queues.reports;
    const worker = gatedWorker();
    worker.open();
    try {
      // Left completed (no removeOnComplete), as by an older version or a failed removal.
      await queue.add('export-window', exportWindowPayload(key), { jobId: windowJobId(key) });
      await waitFor(async () => (await queue.getJobState(windowJobId(key))) === 'completed', 10_000, 'the first job to complete');
      await windowLauncher(env.ctx).start([key]);
      await waitFor(() => worker.runs.length === 2, 10_000, "the window's new job to run");
    } finally {
      await worker.close();
    }
    const later: WindowKey = { datasetId: 'conversation', window: { start: D0 + DAY, end: D0 + 2 * DAY } };
    const delayed = await queue.add('export-window', exportWindowPayload(later), { jobId: windowJobId(later), delay: 60_000 });
    await windowLauncher(env.ctx).start([later]);
    expect(await queue.getJobState(windowJobId(later))).toBe('delayed');
    expect((await queue.getJob(windowJobId(later)))?.timestamp).toBe(delayed.timestamp);
  });
});
