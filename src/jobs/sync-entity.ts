import type { JobsOptions } from 'bullmq';
import { syncCompanies } from '../pipeline/sync-companies.js';
import { syncTickets } from '../pipeline/sync-tickets.js';
import type { EntityStream } from '../pipeline/sync-runs.js';
import type { AppContext } from '../context.js';
import type { JobDefinition } from './job-definition.js';
import { runJob } from './job-outcome.js';

import type { SyncEntityPayload } from './job-payloads.js';

export type { SyncEntityPayload };

export interface EntitySyncOptions {
  allowMassDelete?: boolean;
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

type RunSync = (ctx: AppContext, payload: SyncEntityPayload, signal: AbortSignal | undefined) => Promise<unknown>;

function defineSyncJob(stream: EntityStream, run: RunSync): JobDefinition<SyncEntityPayload> {
  return {
    name: `sync-${stream}`,
    queue: 'entities',
    parse: (data) => {
      const d = data as Partial<SyncEntityPayload>;
      return { requestedAt: String(d.requestedAt ?? ''), ...(d.allowMassDelete === true ? { allowMassDelete: true } : {}) };
    },
    process: (ctx, job, token, payload, signal) =>
      runJob(
        job,
        token,
        ctx.queues.entities,
        () => run(ctx, payload, signal),
        async (message) => {
          ctx.log.error({ stream, err: message }, `${stream} sync failed`);
        },
        signal,
      ),
  };
}

export const syncCompaniesJob = defineSyncJob('companies', (ctx, payload, signal) =>
  syncCompanies(ctx, { ...(payload.allowMassDelete ? { allowMassDelete: true } : {}), ...(signal ? { signal } : {}) }),
);
export const syncTicketsJob = defineSyncJob('tickets', (ctx, _payload, signal) => syncTickets(ctx, Date.now, signal));

/** Queues one run of each stream; returns the job ids. */
export async function queueEntitySyncs(
  ctx: AppContext,
  streams: EntityStream[],
  options: EntitySyncOptions = {},
): Promise<Array<{ stream: EntityStream; jobId: string }>> {
  const requestedAt = new Date();
  const out: Array<{ stream: EntityStream; jobId: string }> = [];
  for (const stream of streams) {
    const jobId = syncEntityJobId(stream, requestedAt);
    const payload: SyncEntityPayload = { requestedAt: requestedAt.toISOString() };
    if (stream === 'companies' && options.allowMassDelete) payload.allowMassDelete = true;
    await ctx.queues.entities.add(`sync-${stream}`, payload, { ...SYNC_ENTITY_JOB_OPTIONS, jobId });
    out.push({ stream, jobId });
  }
  return out;
}
