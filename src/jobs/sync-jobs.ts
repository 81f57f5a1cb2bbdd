import type { AppContext } from '../context.js';
import type { SyncJobs } from '../pipeline/run-sync.js';
import type { SyncRunResult } from '../pipeline/sync-runs.js';
import { reconcileWindows } from './reconcile-windows.js';
import { queueEntitySyncs } from './sync-entity.js';
import { startWorkers } from './workers.js';

/** The job layer's side of a backfill or sync run (src/pipeline/run-sync.ts), on BullMQ. */
export function syncJobs(ctx: AppContext): SyncJobs {
  return {
    queueEntitySyncs: (streams, options) => queueEntitySyncs(ctx, streams, options),
    startWorkers: () => {
      const running = startWorkers(ctx);
      return { close: (options) => running.close(undefined, options) };
    },
    reconcile: () => reconcileWindows(ctx),
    async entityJobState(jobId) {
      const job = await ctx.queues.entities.getJob(jobId);
      if (!job) return { state: 'missing' };
      const state = await job.getState();
      if (state === 'completed') return { state, result: job.returnvalue as SyncRunResult };
      // Read again: `job` was fetched before getState(), possibly while it was still active.
      if (state === 'failed')
        return { state, error: (await ctx.queues.entities.getJob(jobId))?.failedReason ?? job.failedReason ?? 'unknown error' };
      return { state: 'pending', jobState: state };
    },
  };
}
