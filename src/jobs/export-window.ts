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

/**
 * The queue side of the dispatcher: one job per window it started. A window that still has a job
 * (same deterministic id) keeps it: adding it again is a no-op.
 */
export function windowLauncher(ctx: AppContext): WindowLauncher {
  return {
    async start(keys) {
      const opts = exportWindowJobOptions(ctx.config.worker.attempts);
      for (let i = 0; i < keys.length; i += 500) {
        await ctx.queues.reports.addBulk(
          keys
            .slice(i, i + 500)
            .map((k) => ({ name: exportWindowJob.name, data: exportWindowPayload(k), opts: { ...opts, jobId: ledger.windowJobId(k) } })),
        );
      }
    },
  };
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
