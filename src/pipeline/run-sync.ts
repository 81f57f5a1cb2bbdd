import { setTimeout as sleep } from 'node:timers/promises';
import { connectIntercom, type AppContext } from '../context.js';
import { describeError } from '../errors.js';
import type { Me } from '../intercom/types.js';
import { planReportExports, type Plan, type PlanRequest } from './plan-exports.js';
import type { EntityStream, SyncRunResult } from './sync-runs.js';
import { migrateWarehouse } from '../sinks/bi-views.js';
import { updateDailyRollups, type RollupUpdate } from './update-rollups.js';
import { mergeSummaries, waitForWindows, type RunSummary, type WaitOptions, type WindowProgress } from './wait-for-windows.js';

/**
 * The orchestration of a backfill or sync: plan, dispatch, wait, summarise. What needs the job
 * layer (queueing entity runs, running workers in this process, healing lost window jobs, reading
 * an entity job's outcome) is done through `SyncJobs`, which src/jobs implements: this module knows
 * neither BullMQ nor the jobs. What it tells the operator goes through `SyncEvents` (the CLI prints).
 */

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

/** Where an entity job stands, as the job layer reads it. */
export type EntityJobState =
  | { state: 'completed'; result: SyncRunResult }
  | { state: 'failed'; error: string }
  | { state: 'missing' }
  /** Waiting, delayed or active: BullMQ's word for it. */
  | { state: 'pending'; jobState: string };

/** What the orchestration needs done by the job layer (src/jobs/sync-jobs.ts). */
export interface SyncJobs {
  /** Queues one run of each stream; returns their job ids. */
  queueEntitySyncs(
    streams: EntityStream[],
    options: { allowMassDelete?: boolean },
  ): Promise<Array<{ stream: EntityStream; jobId: string }>>;
  entityJobState(jobId: string): Promise<EntityJobState>;
  /**
   * Runs workers in this process until `close()`. `finishRunning`: let running jobs end (they may be
   * another process's) rather than cancel them; still bounded by the drain time.
   */
  startWorkers(): { close(options?: { finishRunning?: boolean }): Promise<void> };
  /** Gives every window the ledger says is unfinished a live job again (the reconciler). */
  reconcile(): Promise<unknown>;
}

/** What the orchestration reports while it runs; every callback is optional. */
export interface SyncEvents {
  connected?(workspace: Me): void;
  /** A plan was recorded: `probeOf` is the dataset whose probe window sized it (null: the run's own plan). */
  planned?(plan: Plan, request: PlanRequest, probeOf: string | null): void;
  progress?(p: WindowProgress): void;
  /** An entity run's progress changed (`companies: 1200 fetched`). */
  entityProgress?(stream: EntityStream, line: string): void;
  /** The run's one refresh of the daily rollups, after all its windows are in. */
  rollupsUpdated?(update: RollupUpdate): void;
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
  jobs: SyncJobs,
  events: SyncEvents = {},
  signal?: AbortSignal,
): Promise<SyncSummary> {
  await migrateWarehouse(ctx.pool, ctx.config);
  const { workspace } = await connectIntercom(ctx);
  events.connected?.(workspace);
  const entityJobs = await jobs.queueEntitySyncs(request.entities, request.allowMassDelete ? { allowMassDelete: true } : {});
  const plan = request.reports ? await planReportExports(ctx, request.reports) : null;
  if (plan) events.planned?.(plan, request.reports!, null);
  const workers = jobs.startWorkers();
  // A backfill with no `worker` running must heal too: a window whose job was lost (its process
  // killed more often than BullMQ tolerates stalls) would otherwise wait forever.
  const healer = setInterval(() => void jobs.reconcile().catch(() => {}), ctx.config.worker.reconcileIntervalMs);
  let summary: SyncSummary;
  try {
    const waitOptions: WaitOptions = { ...(events.progress ? { onProgress: events.progress } : {}), ...(signal ? { signal } : {}) };
    const [reports, entities] = await Promise.all([
      plan ? waitForWindowsAndProbes(ctx, request.reports!, plan, events, waitOptions) : null,
      Promise.all(entityJobs.map((j) => waitForEntityJob(ctx, jobs, j.stream, j.jobId, events, signal))),
    ]);
    summary = { reports, entities };
  } finally {
    clearInterval(healer);
    // Done or failed on its own: jobs it picked up for other processes finish (bounded by the drain
    // time). Interrupted (SIGTERM): they are cancelled and retried elsewhere.
    await workers.close({ finishRunning: signal?.aborted !== true });
  }
  // One refresh per run, after every window of it is in (not one per window). A failed refresh
  // does not fail the run: the rows are loaded, and the workers' refresh-rollups tries again.
  if (plan && plan.windows.length > 0) {
    const datasetIds = [...new Set(plan.windows.map((w) => w.datasetId))];
    try {
      events.rollupsUpdated?.(await updateDailyRollups(ctx, { datasetIds }));
    } catch (err) {
      ctx.log.warn({ err: describeError(err) }, 'daily rollups not refreshed; the workers will try again');
    }
  }
  return summary;
}

/**
 * Waits for the planned windows; then, for each dataset that exported a probe window first (auto
 * window sizes without history), plans the rest of its range — now sized from the probe's rows —
 * and waits for that too.
 */
async function waitForWindowsAndProbes(
  ctx: AppContext,
  request: PlanRequest,
  plan: Plan,
  events: SyncEvents,
  options: WaitOptions,
): Promise<RunSummary> {
  const summaries = [await waitForWindows(ctx, plan, options)];
  for (const probe of plan.probes) {
    const rest: PlanRequest = { ...request, mode: 'backfill', datasetIds: [probe.datasetId], range: probe.rest };
    const next = await planReportExports(ctx, rest);
    events.planned?.(next, rest, probe.datasetId);
    summaries.push(await waitForWindows(ctx, next, options));
  }
  return mergeSummaries(summaries);
}

/** How often an entity job's state is read while waiting, ms. */
const ENTITY_POLL_MS = 500;

async function waitForEntityJob(
  ctx: AppContext,
  jobs: SyncJobs,
  stream: EntityStream,
  jobId: string,
  events: SyncEvents,
  signal?: AbortSignal,
): Promise<EntityOutcome> {
  let lastProgress = '';
  for (;;) {
    const s = await jobs.entityJobState(jobId);
    if (s.state === 'completed') return { stream, result: s.result };
    if (s.state === 'failed') return { stream, error: s.error };
    if (s.state === 'missing') return { stream, error: 'its job disappeared from Redis before finishing' };
    const { rows } = await ctx.pool.query<{ rows_fetched: string }>(
      `SELECT rows_fetched FROM etl_sync_runs WHERE stream = $1 AND status = 'running' ORDER BY started_at DESC LIMIT 1`,
      [stream],
    );
    const progress = rows[0] ? `${stream}: ${rows[0].rows_fetched} fetched` : `${stream}: ${s.jobState}`;
    if (progress !== lastProgress) events.entityProgress?.(stream, (lastProgress = progress));
    if (signal?.aborted) throw new Error('Interrupted while waiting; the work goes on in the workers.');
    await sleep(ENTITY_POLL_MS);
  }
}

export function syncFailed(s: SyncSummary): boolean {
  return (s.reports?.progress.failed ?? 0) > 0 || s.entities.some((e) => !e.result);
}

/**
 * The numbers of a run for its `run finished` log line: windows loaded and failed, rows loaded,
 * and the companies and tickets fetched (or the error of a stream that failed).
 */
export function runSummaryFields(s: SyncSummary): Record<string, number | string> {
  const fields: Record<string, number | string> = {};
  if (s.reports) {
    fields.windowsLoaded = s.reports.progress.loaded;
    fields.windowsFailed = s.reports.progress.failed;
    fields.rows = s.reports.datasets.reduce((n, d) => n + d.rows, 0);
    fields.bytes = s.reports.datasets.reduce((n, d) => n + d.bytes, 0);
  }
  for (const e of s.entities) {
    if (e.result) fields[e.stream] = e.result.fetched;
    else fields[`${e.stream}Error`] = e.error ?? 'unknown error';
  }
  return fields;
}
