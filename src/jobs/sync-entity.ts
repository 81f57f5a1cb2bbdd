import type { JobsOptions } from 'bullmq';
import { syncCompanies } from '../pipeline/sync-companies.js';
import { syncTickets } from '../pipeline/sync-tickets.js';
import type { EntityStream } from '../pipeline/sync-runs.js';
import type { AppContext } from '../context.js';
import type { JobDefinition } from './job-definition.js';
import { runJob } from './job-outcome.js';

/** Payload: when the run was asked for (also its job id). No state: runs are recorded in etl_sync_runs. */
export interface SyncEntityPayload {
  requestedAt: string;
}

/**
 * Each request is its own job (`sync-companies-<ms>`): two requests at once run one after the other
 * — the stream's Redis lock makes the second wait (delayed, no worker held) — instead of merging.
 * Finished jobs are kept an hour so the requester can read the result.
 */
export function syncEntityJobId(stream: EntityStream, requestedAt: Date): string {
  return `sync-${stream}-${requestedAt.getTime()}-${Math.floor(Math.random() * 1e6)}`;
}

export const SYNC_ENTITY_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 30_000, jitter: 0.5 },
  removeOnComplete: { age: 3600 },
  removeOnFail: { age: 86_400 },
};

function defineSyncJob(stream: EntityStream, run: (ctx: AppContext) => Promise<unknown>): JobDefinition<SyncEntityPayload> {
  return {
    name: `sync-${stream}`,
    queue: 'entities',
    parse: (data) => ({ requestedAt: String((data as Partial<SyncEntityPayload>).requestedAt ?? '') }),
    process: (ctx, job, token) =>
      runJob(
        job,
        token,
        ctx.queues.entities,
        () => run(ctx),
        async (message) => {
          ctx.log.error({ stream, err: message }, `${stream} sync failed`);
        },
      ),
  };
}

export const syncCompaniesJob = defineSyncJob('companies', syncCompanies);
export const syncTicketsJob = defineSyncJob('tickets', (ctx) => syncTickets(ctx));

/** Queues one run of each stream; returns the job ids. */
export async function queueEntitySyncs(ctx: AppContext, streams: EntityStream[]): Promise<Array<{ stream: EntityStream; jobId: string }>> {
  const requestedAt = new Date();
  const out: Array<{ stream: EntityStream; jobId: string }> = [];
  for (const stream of streams) {
    const jobId = syncEntityJobId(stream, requestedAt);
    await ctx.queues.entities.add(`sync-${stream}`, { requestedAt: requestedAt.toISOString() }, { ...SYNC_ENTITY_JOB_OPTIONS, jobId });
    out.push({ stream, jobId });
  }
  return out;
}
