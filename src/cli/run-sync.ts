import { setTimeout as sleep } from 'node:timers/promises';
import { connectIntercom, type AppContext } from '../context.js';
import { migrateWarehouse } from '../sinks/bi-views.js';
import { queueEntitySyncs } from '../jobs/sync-entity.js';
import { reconcileWindows } from '../jobs/reconcile-windows.js';
import { startWorkers } from '../jobs/workers.js';
import { planReportExports, type Plan, type PlanRequest } from '../pipeline/plan-exports.js';
import type { EntityStream, SyncRunResult } from '../pipeline/sync-runs.js';
import { mergeSummaries, waitForWindows, type RunSummary, type WaitOptions, type WindowProgress } from '../pipeline/wait-for-windows.js';
import { isoDay } from '../pipeline/time-windows.js';
import type { WindowKey } from '../pipeline/export-ledger.js';
import { describeSizing, formatProgress, formatSummary } from './format.js';
import { progressPrinter } from './progress-printer.js';

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
  /** Where the progress line goes (redrawn on a terminal, every 10 s otherwise); default: `say`, a line per change. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean },
): Promise<SyncSummary> {
  await migrateWarehouse(ctx.pool, ctx.config);
  const { workspace: me } = await connectIntercom(ctx);
  say(`Workspace ${me.workspaceId} (${me.workspaceName}, region ${me.region}); schema "${ctx.config.pgSchema}".`);
  const jobs = await queueEntitySyncs(ctx, request.entities, request.allowMassDelete ? { allowMassDelete: true } : {});
  const plan = request.reports ? await planReportExports(ctx, request.reports) : null;
  if (plan) {
    for (const w of plan.warnings) say(`warning: ${w}`);
    for (const w of plan.widened) say(`note: ${w}`);
    const datasetCount = new Set(plan.windows.map((w) => w.datasetId)).size;
    say(resolvedRange(request.reports!, plan.windows));
    say(
      `Queued ${plan.windows.length} window(s) of ${datasetCount} dataset(s)${plan.skipped ? `; ${plan.skipped} already loaded, skipped` : ''}.`,
    );
    for (const d of plan.perDataset) say(`  ${describeSizing(d)}`);
  }
  const workers = startWorkers(ctx);
  // A backfill with no `worker` running must heal too: a window whose job was lost (its process
  // killed more often than BullMQ tolerates stalls) would otherwise wait forever.
  const healer = setInterval(() => void reconcileWindows(ctx).catch(() => {}), ctx.config.worker.reconcileIntervalMs);
  // A terminal or log stream gets the redrawn/periodic progress line; a caller's `say` gets a line per change.
  const printer = progressStream ? progressPrinter({ stream: progressStream, slots: ctx.config.reports.maxUnfinishedExports }) : null;
  try {
    const onProgress = (p: WindowProgress): void => (printer ? printer.update(p) : say(formatProgress(p)));
    const waitOptions = { onProgress, ...(signal ? { signal } : {}) };
    const [reports, entities] = await Promise.all([
      plan ? waitForWindowsAndProbes(ctx, request.reports!, plan, say, waitOptions) : null,
      Promise.all(jobs.map((j) => waitForEntityJob(ctx, j.stream, j.jobId, say, signal))),
    ]);
    return { reports, entities };
  } finally {
    clearInterval(healer);
    printer?.done();
    await workers.close();
  }
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
  say: (line: string) => void,
  options: WaitOptions,
): Promise<RunSummary> {
  const summaries = [await waitForWindows(ctx, plan, options)];
  for (const probe of plan.probes) {
    const next = await planReportExports(ctx, { ...request, mode: 'backfill', datasetIds: [probe.datasetId], range: probe.rest });
    for (const d of next.perDataset) say(`  ${describeSizing(d)}`);
    say(`Queued ${next.windows.length} more window(s) of ${probe.datasetId}, sized from its probe window.`);
    summaries.push(await waitForWindows(ctx, next, options));
  }
  return mergeSummaries(summaries);
}

/**
 * The days the run covers, as resolved (a nightly run's range depends on what each dataset has
 * loaded, a backfill's on --from/--to): what the operator should check before trusting a summary.
 */
function resolvedRange(request: PlanRequest, windows: WindowKey[]): string {
  const range =
    request.mode === 'backfill' && request.range
      ? request.range
      : windows.length > 0
        ? windows.reduce((r, w) => ({ start: Math.min(r.start, w.window.start), end: Math.max(r.end, w.window.end) }), windows[0]!.window)
        : null;
  if (!range) return 'Range: nothing to export (every dataset is loaded up to the end of yesterday, UTC).';
  const days = Math.round((range.end - range.start) / 86_400_000);
  return `Range: ${isoDay(range.start)} .. ${isoDay(range.end - 1)} (UTC, both days inclusive; ${days} day(s)).`;
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
    // Read again: `job` was fetched before getState(), possibly while it was still active.
    if (state === 'failed') return { stream, error: (await ctx.queues.entities.getJob(jobId))?.failedReason ?? job.failedReason };
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
