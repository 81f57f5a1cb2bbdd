import { planReportExports } from '../pipeline/plan-exports.js';
import type { JobDefinition } from './job-definition.js';
import { runJob } from './job-outcome.js';
import { queueEntitySyncs } from './sync-entity.js';

/**
 * The nightly run, produced by the Job Scheduler: refresh the reporting catalogue and queue the
 * lookback windows of every dataset (catching up missed nights), and queue a companies and a
 * tickets run. Everything it queues is a job of its own, so this one finishes in seconds.
 */
export const nightlySyncJob: JobDefinition<Record<string, never>> = {
  name: 'nightly-sync',
  queue: 'control',
  parse: () => ({}),
  async process(ctx, job, token) {
    return runJob(
      job,
      token,
      ctx.queues.control,
      async () => {
        const plan = await planReportExports(ctx, { mode: 'nightly' });
        const entities = await queueEntitySyncs(ctx, ['companies', 'tickets']);
        ctx.log.info(
          { windows: plan.windows.length, warnings: plan.warnings.length, entities: entities.map((e) => e.jobId) },
          'nightly sync queued',
        );
        return { windows: plan.windows.length, entities: entities.length };
      },
      async (message) => {
        ctx.log.error({ err: message }, 'nightly sync failed');
      },
    );
  },
};
