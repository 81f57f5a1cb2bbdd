import { setTimeout as sleep } from 'node:timers/promises';
import type { JobsOptions } from 'bullmq';
import type { AppContext } from '../context.js';
import { FatalError } from '../errors.js';
import { advanceExportWindow, failExportWindow } from '../pipeline/advance-export.js';
import type { WindowLauncher } from '../pipeline/dispatch-windows.js';
import * as ledger from '../pipeline/export-ledger.js';
import type { JobDefinition } from './job-definition.js';
import { runJob } from './job-outcome.js';

import type { ExportWindowPayload } from './job-payloads.js';

export type { ExportWindowPayload };

export function exportWindowPayload(key: ledger.WindowKey): ExportWindowPayload {
  return {
    datasetId: key.datasetId,
    windowStart: new Date(key.window.start).toISOString(),
    windowEnd: new Date(key.window.end).toISOString(),
  };
}

/**
 * Finished jobs are removed so that re-running a range can queue the same job id again; the
 * ledger keeps the history (rows, errors, timings).
 */
export function exportWindowJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 5_000, jitter: 0.5 },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** How long a launch waits for a window's earlier job to go, and how often it looks (see below). */
const EARLIER_JOB_WAIT_MS = 2_000;
const EARLIER_JOB_STEP_MS = 50;

/**
 * The queue side of the dispatcher: one job per window it started (deterministic id). Adding a job
 * whose id is taken is a no-op in BullMQ, so after the add each id is checked (the job's
 * `timestamp` is this launch's): a waiting or delayed earlier job keeps the window (it runs it); a
 * finished one left in Redis is removed and the job added again; an active one is finishing — it
 * put its window back in the ledger (no slot for it) or loaded it just before a new plan reset it —
 * so the launch waits for it to go (up to EARLIER_JOB_WAIT_MS) and adds the job then. Without this
 * the window would sit dispatched, holding a slot, with no job until the reconciler noticed.
 */
export function windowLauncher(ctx: AppContext): WindowLauncher {
  const queue = ctx.queues.reports;
  const opts = exportWindowJobOptions(ctx.config.worker.attempts);
  const add = (keys: ledger.WindowKey[], timestamp: number) =>
    queue.addBulk(
      keys.map((k) => ({
        name: exportWindowJob.name,
        data: exportWindowPayload(k),
        opts: { ...opts, jobId: ledger.windowJobId(k), timestamp },
      })),
    );
  return {
    async start(keys) {
      for (let i = 0; i < keys.length; i += 500) {
        let pending = keys.slice(i, i + 500);
        for (let waited = 0; ; waited += EARLIER_JOB_STEP_MS) {
          const stamp = Date.now();
          await add(pending, stamp);
          const { again, active } = await earlierJobs(ctx, pending, stamp);
          for (const k of again) await queue.remove(ledger.windowJobId(k)); // a no-op for an id already gone
          pending = [...again, ...active];
          if (pending.length === 0) break;
          if (waited >= EARLIER_JOB_WAIT_MS) {
            ctx.log.warn(
              { windows: pending.slice(0, 10).map((k) => ledger.windowJobId(k)), waitedMs: waited },
              'an earlier job of these windows is still there; the reconciler will queue them once it is gone',
            );
            break;
          }
          await sleep(EARLIER_JOB_STEP_MS);
        }
      }
    },
  };
}

/** Of windows just launched with `stamp`: those to add again (their id was held by a finished job, or is free now), and those whose id an active job holds. */
async function earlierJobs(
  ctx: AppContext,
  keys: ledger.WindowKey[],
  stamp: number,
): Promise<{ again: ledger.WindowKey[]; active: ledger.WindowKey[] }> {
  const queue = ctx.queues.reports;
  const pipeline = ctx.redis.pipeline();
  for (const k of keys) {
    const jobKey = queue.toKey(ledger.windowJobId(k));
    pipeline.hmget(jobKey, 'timestamp', 'finishedOn').exists(`${jobKey}:lock`);
  }
  const results = (await pipeline.exec()) ?? [];
  const again: ledger.WindowKey[] = [];
  const active: ledger.WindowKey[] = [];
  keys.forEach((k, i) => {
    const [fieldsErr, fields] = results[2 * i] ?? [null, null];
    const [lockErr, locked] = results[2 * i + 1] ?? [null, 0];
    if (fieldsErr) throw fieldsErr;
    if (lockErr) throw lockErr;
    const [timestamp, finishedOn] = (fields as Array<string | null> | null) ?? [null, null];
    if (Number(timestamp) === stamp) return; // ours
    // Gone (an earlier job ended between the add and this look: ours was never added; a job of ours
    // cannot have run to its end within one round trip) or finished and left: add it again.
    if (timestamp === null || finishedOn !== null) again.push(k);
    else if (locked === 1) active.push(k);
    // else: an earlier job waits or sleeps in the delayed set; it runs the window.
  });
  return { again, active };
}

export const exportWindowJob: JobDefinition<ledger.WindowKey> = {
  name: 'export-window',
  queue: 'reports',
  parse(data) {
    const d = data as Partial<ExportWindowPayload>;
    const start = Date.parse(d.windowStart ?? '');
    const end = Date.parse(d.windowEnd ?? '');
    if (typeof d.datasetId !== 'string' || Number.isNaN(start) || Number.isNaN(end) || end <= start) {
      throw new FatalError(`export-window job has a malformed payload: ${JSON.stringify(data)}`);
    }
    return { datasetId: d.datasetId, window: { start, end } };
  },
  async process(ctx, job, token, key, signal) {
    return runJob(
      job,
      token,
      ctx.queues.reports,
      () => advanceExportWindow(ctx, key, { ...(signal ? { signal } : {}), launcher: windowLauncher(ctx) }),
      // Records why and gives the window's export slot back (or keeps it for a still-running Intercom job).
      (message) => failExportWindow(ctx, key, message, windowLauncher(ctx)),
    );
  },
};
