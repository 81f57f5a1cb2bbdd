import { Worker, type Job } from 'bullmq';
import type { AppContext, QueueName } from '../context.js';
import { QUEUE_NAMES } from '../context.js';
import { startDispatchTicker } from './dispatch-tick.js';
import { exportWindowJob } from './export-window.js';
import { getWindow } from '../pipeline/export-ledger.js';
import { windowLogFields } from '../pipeline/window-log.js';
import { JOB_DEFINITIONS } from './index.js';

/** See the `limiter` option below: far more jobs than a worker starts in a second, but below BullMQ's "paused" value. */
export const RATE_LIMIT_SWITCH = { max: 1_000_000, duration: 1_000 } as const;

export interface WorkerSet {
  workers: Worker[];
  /**
   * Stops taking jobs and aborts the running ones' signals at once (their in-flight Intercom
   * requests and downloads end, and export windows go back to the delayed set to resume from the
   * ledger); waits for them up to `timeoutMs` (default ETL_SHUTDOWN_TIMEOUT_MS), then forces,
   * waiting at most FORCE_CLOSE_MS more (a Redis that is down never answers).
   * `finishRunning: true` (a backfill or sync whose own work is done) lets running jobs finish
   * instead: one may be another process's companies run, and cancelling it would leave its scroll
   * open at Intercom for the retry to wait out.
   */
  close(timeoutMs?: number, options?: { finishRunning?: boolean }): Promise<void>;
}

/**
 * Starts one BullMQ worker per queue, dispatching jobs by name to their definition. Concurrency
 * is per process; the Intercom-side limit (5 unfinished exports) is held by ExportSlots, across
 * all processes.
 */
export function startWorkers(ctx: AppContext, queues: QueueName[] = Object.values(QUEUE_NAMES)): WorkerSet {
  const workers = queues.map((queueName) => {
    const definitions = new Map<string, (typeof JOB_DEFINITIONS)[number]>(
      JOB_DEFINITIONS.filter((d) => d.queue === queueName).map((d) => [d.name, d]),
    );
    const worker = new Worker(
      queueName,
      // Three parameters: BullMQ passes a cancellation signal only to processors that declare it.
      async (job, token, signal) => {
        const def = definitions.get(job.name);
        if (!def) throw new Error(`No job type named ${JSON.stringify(job.name)} on queue ${queueName}.`);
        return def.process(ctx, job, token, def.parse(job.data), signal);
      },
      {
        connection: ctx.redis,
        prefix: ctx.config.queuePrefix,
        // control: one nightly run at a time; entities: companies and tickets side by side (each holds its own lock).
        concurrency: queueName === QUEUE_NAMES.control ? 1 : queueName === QUEUE_NAMES.entities ? 2 : ctx.config.worker.concurrency,
        lockDuration: ctx.config.worker.lockDurationMs,
        stalledInterval: ctx.config.worker.lockDurationMs,
        // A killed worker's job comes back once per stall; allow a few before BullMQ gives up on it.
        maxStalledCount: 3,
        // Not a limit (it never binds): without a `limiter` BullMQ's moveToActive ignores the queue's
        // rate-limit key, so the per-10-second 429's queue.rateLimit would only stop the worker that
        // got it. With one, every worker process of the queue pauses until the key expires.
        limiter: RATE_LIMIT_SWITCH,
      },
    );
    worker.on('failed', (job, err) => void logFailedAttempt(ctx, queueName, job, err));
    worker.on('error', (err) => ctx.log.error({ queue: queueName, err: err.message }, 'worker error'));
    return worker;
  });
  // A process that runs export windows also starts them into free export slots (dispatch-tick.ts).
  const ticker = queues.includes(QUEUE_NAMES.reports) ? startDispatchTicker(ctx) : null;
  return {
    workers,
    async close(timeoutMs = ctx.config.worker.shutdownTimeoutMs, options: { finishRunning?: boolean } = {}) {
      ticker?.stop();
      // close() first: a job that ends now must not make its worker fetch the next one.
      const graceful = Promise.all(workers.map((w) => w.close()));
      // Cancel running jobs at once: a companies/tickets run is all-or-nothing and may need many
      // minutes, and an export window resumes its Intercom job; both go back to the queue unharmed.
      if (!options.finishRunning) for (const w of workers) w.cancelAllJobs('worker shutting down');
      if ((await within(graceful, timeoutMs)) === 'timeout') {
        ctx.log.warn({ timeoutMs }, 'workers did not stop in time; forcing (their jobs will be retried)');
        if ((await within(Promise.all(workers.map((w) => w.close(true))), FORCE_CLOSE_MS)) === 'timeout') {
          ctx.log.warn({ waitedMs: FORCE_CLOSE_MS }, 'workers did not close (is Redis down?); leaving them');
        }
      }
    },
  };
}

/**
 * One line per failed attempt. An export window's carries the window's log fields, with its
 * Intercom job when the ledger has one (README, Logs).
 */
async function logFailedAttempt(ctx: AppContext, queue: QueueName, job: Job | undefined, err: Error): Promise<void> {
  let window = {};
  if (job?.name === exportWindowJob.name) {
    try {
      const key = exportWindowJob.parse(job.data);
      window = windowLogFields(key, (await getWindow(ctx.pool, key).catch(() => null))?.intercomJobId);
    } catch {
      // A malformed payload: its attempt failed for that, and says so in `err`.
    }
  }
  ctx.log.warn({ queue, jobId: job?.id, job: job?.name, ...window, err: err.message }, 'job attempt failed');
}

/** How long a forced close may take before the caller moves on anyway. */
const FORCE_CLOSE_MS = 1_000;

/** `promise`'s outcome, or 'timeout' after `ms` (the promise is left to settle on its own). */
async function within(promise: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([
      promise.then(
        () => 'done' as const,
        () => 'done' as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
