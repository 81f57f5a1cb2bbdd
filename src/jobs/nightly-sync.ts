import type { Job, JobsOptions } from 'bullmq';
import type { AppContext } from '../context.js';
import { withRun } from '../log.js';
import { describeError, isEtlError } from '../errors.js';
import { finishNightlyRun, recordNightlyQuietly, startNightlyAttempt } from '../pipeline/nightly-runs.js';
import { connectIntercom } from '../context.js';
import { dispatchWindows } from '../pipeline/dispatch-windows.js';
import { planReportExports } from '../pipeline/plan-exports.js';
import { windowLauncher } from './export-window.js';
import type { JobDefinition } from './job-definition.js';
import { runJob } from './job-outcome.js';
import { queueEntitySyncs } from './sync-entity.js';

/**
 * Options of every nightly job the scheduler produces: a transient failure (Intercom or Postgres
 * away for a while) is retried with backoff — 1, 2, 4, 8 … minutes — instead of losing the night.
 */
export function nightlySyncJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 60_000, jitter: 0.2 },
    removeOnComplete: 100,
    removeOnFail: 100,
  };
}

/**
 * The nightly run, produced by the Job Scheduler: refresh the reporting catalogue and queue the
 * lookback windows of every dataset (catching up missed nights), and queue a companies and a
 * tickets run. Everything it queues is a job of its own, so this one finishes in seconds. Each
 * attempt is recorded in `etl_nightly_runs` (shown by `status`) and is a run in the logs: its job
 * id is the `runId` of every line it logs, between a `run started` and a `run finished` line
 * (outcome `succeeded`, `retrying` or `failed`; windows queued, entity jobs, duration).
 */
export const nightlySyncJob: JobDefinition<Record<string, never>> = {
  name: 'nightly-sync',
  queue: 'control',
  parse: () => ({}),
  async process(ctx, job, token) {
    const runId = String(job.id);
    return withRun(runId, () => nightlyAttempt(ctx, job, token, runId));
  },
};

async function nightlyAttempt(ctx: AppContext, job: Job, token: string | undefined, runId: string): Promise<unknown> {
  const attempt = job.attemptsMade + 1;
  const attempts = job.opts.attempts ?? 1;
  const started = Date.now();
  const finished = (outcome: string, fields: Record<string, unknown>): Record<string, unknown> => ({
    command: 'nightly-sync',
    outcome,
    attempt,
    attempts,
    ...fields,
    durationMs: Date.now() - started,
  });
  ctx.log.info({ command: 'nightly-sync', attempt, attempts }, 'run started');
  return runJob(
    job,
    token,
    ctx.queues.control,
    async () => {
      await recordNightlyQuietly(ctx.log, () => startNightlyAttempt(ctx.pool, runId));
      try {
        const plan = await planReportExports(ctx, { mode: 'nightly' });
        // Start the first windows now; the releasing jobs and the dispatcher tick start the rest.
        await dispatchWindows(ctx, await connectIntercom(ctx), windowLauncher(ctx));
        const entities = await queueEntitySyncs(ctx, ['companies', 'tickets']);
        await finishNightlyRun(ctx.pool, runId, { status: 'completed', windowsQueued: plan.windows.length, entityJobs: entities.length });
        ctx.log.info(
          finished('succeeded', {
            windowsQueued: plan.windows.length,
            warnings: plan.warnings.length,
            entityJobs: entities.map((e) => e.jobId),
          }),
          'run finished',
        );
        return { windows: plan.windows.length, entities: entities.length };
      } catch (err) {
        // Only plain failures are retried (job-outcome.ts); fatal ones end in onFinalFailure below.
        if (attempt < attempts && (!isEtlError(err) || err.kind === 'retriable')) {
          const error = describeError(err);
          ctx.log.warn(finished('retrying', { error }), 'run finished');
          await recordNightlyQuietly(ctx.log, () => finishNightlyRun(ctx.pool, runId, { status: 'retrying', error }));
        }
        throw err;
      }
    },
    async (message) => {
      ctx.log.error(finished('failed', { error: message }), 'run finished');
      await recordNightlyQuietly(ctx.log, () => finishNightlyRun(ctx.pool, runId, { status: 'failed', error: message }));
    },
  );
}
