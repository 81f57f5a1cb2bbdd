import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from '../context.js';
import * as ledger from './export-ledger.js';
import { formatWindow } from './time-windows.js';

export interface WindowProgress {
  total: number;
  loaded: number;
  failed: number;
  exporting: number;
  loading: number;
  queued: number;
  /** Rows loaded so far by the loaded windows. */
  rows?: number;
  /** Compressed bytes downloaded so far by the loaded windows. */
  bytes?: number;
}

export interface DatasetSummary {
  datasetId: string;
  windowsLoaded: number;
  windowsFailed: number;
  rows: number;
  bytes: number;
}

export interface RunSummary {
  progress: WindowProgress;
  datasets: DatasetSummary[];
  failures: Array<{ datasetId: string; window: string; error: string }>;
  ms: number;
}

export interface WaitOptions {
  onProgress?: (p: WindowProgress) => void;
  /** How often the ledger's counts are read, ms. Default 1000. */
  pollMs?: number;
  signal?: AbortSignal;
}

/** What to wait for: a plan (counted by its id), or windows named one by one. */
export type WaitTarget = ledger.WindowKey[] | { planId: string; windows: ledger.WindowKey[]; inFlight?: ledger.WindowKey[] };

/**
 * Waits until every window is `loaded` or `failed` in the ledger (whichever process does the
 * work), reporting progress as it changes. A plan's progress is one aggregate query by its id (and
 * one by key for the few windows another plan had started), whatever the number of windows; no
 * window is re-read and no job re-added here: lost jobs are the reconciler's.
 */
export async function waitForWindows(ctx: AppContext, target: WaitTarget, options: WaitOptions = {}): Promise<RunSummary> {
  const started = Date.now();
  const pollMs = options.pollMs ?? 1000;
  const total = Array.isArray(target) ? target.length : target.windows.length;
  let lastReported = '';
  for (;;) {
    const counts = await countTarget(ctx, target);
    const progress = toProgress(counts, total);
    const fingerprint = JSON.stringify(progress);
    if (fingerprint !== lastReported) {
      lastReported = fingerprint;
      options.onProgress?.(progress);
    }
    if (progress.loaded + progress.failed >= total) return summarize(ctx, target, counts, progress, Date.now() - started);
    if (options.signal?.aborted) throw new Error('Interrupted while waiting for the windows to finish; the work goes on in the workers.');
    await sleep(pollMs);
  }
}

async function countTarget(ctx: AppContext, target: WaitTarget): Promise<ledger.StatusCount[]> {
  if (Array.isArray(target)) return ledger.countWindows(ctx.pool, target);
  const [mine, others] = await Promise.all([
    ledger.countPlanWindows(ctx.pool, target.planId),
    ledger.countWindows(ctx.pool, target.inFlight ?? []),
  ]);
  return [...mine, ...others];
}

function toProgress(counts: ledger.StatusCount[], total: number): WindowProgress {
  const p: WindowProgress = { total, loaded: 0, failed: 0, exporting: 0, loading: 0, queued: 0, rows: 0, bytes: 0 };
  for (const c of counts) {
    p[c.status] += c.windows;
    if (c.status === 'loaded') {
      p.rows! += c.rows;
      p.bytes! += c.bytes;
    }
  }
  // A window of the plan that a later plan reset was finished first (only finished windows are
  // reset): it is done as far as this run goes.
  const seen = p.loaded + p.failed + p.exporting + p.loading + p.queued;
  if (seen < total) p.loaded += total - seen;
  return p;
}

async function summarize(
  ctx: AppContext,
  target: WaitTarget,
  counts: ledger.StatusCount[],
  progress: WindowProgress,
  ms: number,
): Promise<RunSummary> {
  const byDataset = new Map<string, DatasetSummary>();
  for (const c of counts) {
    const s = byDataset.get(c.datasetId) ?? { datasetId: c.datasetId, windowsLoaded: 0, windowsFailed: 0, rows: 0, bytes: 0 };
    if (c.status === 'loaded') {
      s.windowsLoaded += c.windows;
      s.rows += c.rows;
      s.bytes += c.bytes;
    } else if (c.status === 'failed') {
      s.windowsFailed += c.windows;
    }
    byDataset.set(c.datasetId, s);
  }
  const failed =
    progress.failed === 0
      ? []
      : Array.isArray(target)
        ? await ledger.failedWindows(ctx.pool, null, target)
        : await ledger.failedWindows(ctx.pool, target.planId, target.inFlight ?? []);
  const failures = failed.map((f) => ({ datasetId: f.datasetId, window: formatWindow(f.window), error: f.error ?? 'unknown error' }));
  return { progress, datasets: [...byDataset.values()].sort((a, b) => a.datasetId.localeCompare(b.datasetId)), failures, ms };
}

/** One summary of several waits (a probe phase, then the rest). */
export function mergeSummaries(parts: RunSummary[]): RunSummary {
  const progress: WindowProgress = { total: 0, loaded: 0, failed: 0, exporting: 0, loading: 0, queued: 0 };
  const byDataset = new Map<string, DatasetSummary>();
  for (const part of parts) {
    for (const k of ['total', 'loaded', 'failed', 'exporting', 'loading', 'queued'] as const) progress[k] += part.progress[k];
    if (part.progress.rows !== undefined) progress.rows = (progress.rows ?? 0) + part.progress.rows;
    if (part.progress.bytes !== undefined) progress.bytes = (progress.bytes ?? 0) + part.progress.bytes;
    for (const d of part.datasets) {
      const s = byDataset.get(d.datasetId) ?? { datasetId: d.datasetId, windowsLoaded: 0, windowsFailed: 0, rows: 0, bytes: 0 };
      s.windowsLoaded += d.windowsLoaded;
      s.windowsFailed += d.windowsFailed;
      s.rows += d.rows;
      s.bytes += d.bytes;
      byDataset.set(d.datasetId, s);
    }
  }
  return {
    progress,
    datasets: [...byDataset.values()].sort((a, b) => a.datasetId.localeCompare(b.datasetId)),
    failures: parts.flatMap((p) => p.failures),
    ms: parts.reduce((sum, p) => sum + p.ms, 0),
  };
}
