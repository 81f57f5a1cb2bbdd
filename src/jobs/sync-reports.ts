import { planReportExports } from '../pipeline/plan-exports.js';
import type { JobDefinition } from './job-definition.js';
import { runJob } from './job-outcome.js';

/**
 * The nightly run: refresh the dataset catalogue, then queue the lookback windows of every dataset
 * (catching up missed nights). The windows are separate jobs, so this one finishes in seconds.
 */
export const syncReportsJob: JobDefinition<Record<string, never>> = {
  name: 'sync-reports',
  queue: 'control',
  parse: () => ({}),
  async process(ctx, job, token) {
    return runJob(
      job,
      token,
      ctx.queues.control,
      async () => {
        const plan = await planReportExports(ctx, { mode: 'nightly' });
        ctx.log.info({ windows: plan.windows.length, warnings: plan.warnings.length }, 'nightly reporting windows queued');
        return { windows: plan.windows.length };
      },
      async (message) => {
        ctx.log.error({ err: message }, 'nightly sync failed');
      },
    );
  },
};
