import { setTimeout as sleep } from 'node:timers/promises';
import { connectIntercom, type AppContext } from '../context.js';
import { migrate } from '../db/migrate.js';
import { queueEntitySyncs } from '../jobs/sync-entity.js';
import { startWorkers } from '../jobs/workers.js';
import { planReportExports, type PlanRequest } from '../pipeline/plan-exports.js';
import type { EntityStream, SyncRunResult } from '../pipeline/sync-runs.js';
import { waitForWindows, type RunSummary } from '../pipeline/wait-for-windows.js';
import { formatProgress, formatSummary } from './format.js';

export const STREAMS = ['reports', 'companies', 'tickets'] as const;
export type Stream = (typeof STREAMS)[number];

export interface EntityOutcome {
  stream: EntityStream;
  result?: SyncRunResult;
  error?: string;
}

export interface SyncSummary {
  reports: RunSummary | null;
  entities: EntityOutcome[];
}

export interface SyncRequest {
  /** Reporting windows to plan (nightly or a backfill range); null: no reports. */
  reports: PlanRequest | null;
  entities: EntityStream[];
  /** Companies: accept a scroll that would mark most live companies deleted (`--allow-mass-delete`). */
  allowMassDelete?: boolean;
}

/** The streams of `sync [streams]` as a request: reports the nightly way, plus the entity streams. */
export function syncRequest(streams: Stream[], options: { allowMassDelete?: boolean } = {}): SyncRequest {
  return {
    reports: streams.includes('reports') ? { mode: 'nightly' } : null,
    entities: streams.filter((s): s is EntityStream => s !== 'reports'),
    ...(options.allowMassDelete ? { allowMassDelete: true } : {}),
  };
}

/**
 * sync, backfill and the demo: migrate, check the token, queue the work (reporting windows,
 * companies and tickets runs), run workers in-process until all of it is finished — other worker
 * processes on the same Redis may share it — and return what happened.
 */
export async function runSync(
  ctx: AppContext,
  request: SyncRequest,
  say: (line: string) => void,
  signal?: AbortSignal,
): Promise<SyncSummary> {
  await migrate(ctx.pool, ctx.config.pgSchema);
  const { workspace: me } = await connectIntercom(ctx);
  say(`Workspace ${me.workspaceId} (${me.workspaceName}, region ${me.region}); schema "${ctx.config.pgSchema}".`);
  const jobs = await queueEntitySyncs(ctx, request.entities, request.allowMassDelete ? { allowMassDelete: true } : {});
  const plan = request.reports ? await planReportExports(ctx, request.reports) : null;
  if (plan) {
    for (const w of plan.warnings) say(`warning: ${w}`);
    for (const w of plan.widened) say(`note: ${w}`);
    const datasetCount = new Set(plan.windows.map((w) => w.datasetId)).size;
    say(
      `Queued ${plan.windows.length} window(s) of ${datasetCount} dataset(s)${plan.skipped ? `; ${plan.skipped} already loaded, skipped` : ''}.`,
    );
  }
  const workers = startWorkers(ctx);
  try {
    const [reports, entities] = await Promise.all([
      plan ? waitForWindows(ctx, plan, { onProgress: (p) => say(formatProgress(p)), ...(signal ? { signal } : {}) }) : null,
      Promise.all(jobs.map((j) => waitForEntityJob(ctx, j.stream, j.jobId, say, signal))),
    ]);
    return { reports, entities };
  } finally {
    await workers.close();
  }
}

async function waitForEntityJob(
  ctx: AppContext,
  stream: EntityStream,
  jobId: string,
  say: (l: string) => void,
  signal?: AbortSignal,
): Promise<EntityOutcome> {
  let lastProgress = '';
  for (;;) {
    const job = await ctx.queues.entities.getJob(jobId);
    if (!job) return { stream, error: 'its job disappeared from Redis before finishing' };
    const state = await job.getState();
    if (state === 'completed') return { stream, result: job.returnvalue as SyncRunResult };
    if (state === 'failed') return { stream, error: job.failedReason };
    const { rows } = await ctx.pool.query<{ pages: number; rows_fetched: string }>(
      `SELECT pages, rows_fetched FROM etl_sync_runs WHERE stream = $1 AND status = 'running' ORDER BY started_at DESC LIMIT 1`,
      [stream],
    );
    const progress = rows[0] ? `${stream}: ${rows[0].rows_fetched} fetched` : `${stream}: ${state}`;
    if (progress !== lastProgress) say((lastProgress = progress));
    if (signal?.aborted) throw new Error('Interrupted while waiting; the work goes on in the workers.');
    await sleep(500);
  }
}

export function formatSyncSummary(s: SyncSummary): string {
  const parts: string[] = [];
  if (s.reports) parts.push(formatSummary(s.reports));
  for (const e of s.entities) {
    if (e.result) {
      const r = e.result;
      const extra = r.stream === 'companies' ? `, ${r.deleted} marked deleted` : `, watermark now ${r.watermark}`;
      parts.push(
        `${e.stream}: ${r.fetched} fetched in ${r.pages} page(s), ${r.upserted} upserted${extra}${r.restarts ? `, ${r.restarts} restart(s)` : ''}.`,
      );
    } else {
      parts.push(`${e.stream}: FAILED: ${e.error}`);
    }
  }
  return parts.join('\n');
}

export function syncFailed(s: SyncSummary): boolean {
  return (s.reports?.progress.failed ?? 0) > 0 || s.entities.some((e) => !e.result);
}
