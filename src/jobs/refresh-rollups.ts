import type { AppContext } from '../context.js';
import { updateDailyRollups, type RollupUpdate } from '../pipeline/update-rollups.js';
import type { JobDefinition } from './job-definition.js';
import { runJob } from './job-outcome.js';

/**
 * The workers' batched rollup refresh, produced by the Job Scheduler `refresh-rollups` every
 * ETL_ROLLUP_REFRESH_INTERVAL_MS: the views of datasets loaded since their last refresh (by any
 * process: nightly runs, backfills) are refreshed once, however many windows loaded meanwhile.
 * A dataset that fails is recorded (etl_rollups.last_error) and tried again next time.
 */
export async function refreshRollups(ctx: AppContext, signal?: AbortSignal): Promise<RollupUpdate> {
  return updateDailyRollups(ctx, signal ? { signal } : {});
}

export const refreshRollupsJob: JobDefinition<Record<string, never>> = {
  name: 'refresh-rollups',
  queue: 'control',
  parse: () => ({}),
  async process(ctx, job, token, _payload, signal) {
    return runJob(
      job,
      token,
      ctx.queues.control,
      () => refreshRollups(ctx, signal),
      async (message) => {
        ctx.log.error({ err: message }, 'rollup refresh run failed');
      },
    );
  },
};
