import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from '../context.js';
import * as ledger from './export-ledger.js';
import { queueWindowJobs } from './plan-exports.js';
import { formatWindow } from './time-windows.js';

export interface WindowProgress {
  total: number;
  loaded: number;
  failed: number;
  exporting: number;
  loading: number;
  queued: number;
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
  /** How often the ledger is read, ms. Default 500. */
  pollMs?: number;
  /** How often jobs of unfinished windows are re-added in case one was lost, ms. Default 10000. */
  healEveryMs?: number;
  signal?: AbortSignal;
}

/**
 * Waits until every window is `loaded` or `failed` in the ledger (whichever process does the
 * work), reporting progress as it changes. Windows whose job vanished (a race with a finishing
 * job of the same id, a Redis flush) get their job back: adding an existing job id is a no-op.
 */
export async function waitForWindows(ctx: AppContext, keys: ledger.WindowKey[], options: WaitOptions = {}): Promise<RunSummary> {
  const started = Date.now();
  const pollMs = options.pollMs ?? 500;
  const healEveryMs = options.healEveryMs ?? 10_000;
  let lastHeal = Date.now();
  let lastReported = '';
  for (;;) {
    const rows = await ledger.getWindows(ctx.pool, keys);
    const progress = countProgress(rows, keys.length);
    const fingerprint = JSON.stringify(progress);
    if (fingerprint !== lastReported) {
      lastReported = fingerprint;
      options.onProgress?.(progress);
    }
    if (progress.loaded + progress.failed >= keys.length) return summarize(rows, progress, Date.now() - started);
    if (Date.now() - lastHeal >= healEveryMs) {
      lastHeal = Date.now();
      await queueWindowJobs(
        ctx,
        rows.filter((r) => !ledger.TERMINAL_STATUSES.includes(r.status)),
      );
    }
    if (options.signal?.aborted) throw new Error('Interrupted while waiting for the windows to finish; the work goes on in the workers.');
    await sleep(pollMs);
  }
}

function countProgress(rows: ledger.LedgerRow[], total: number): WindowProgress {
  const p: WindowProgress = { total, loaded: 0, failed: 0, exporting: 0, loading: 0, queued: 0 };
  for (const r of rows) p[r.status] += 1;
  return p;
}

function summarize(rows: ledger.LedgerRow[], progress: WindowProgress, ms: number): RunSummary {
  const byDataset = new Map<string, DatasetSummary>();
  const failures: RunSummary['failures'] = [];
  for (const r of rows) {
    const s = byDataset.get(r.datasetId) ?? { datasetId: r.datasetId, windowsLoaded: 0, windowsFailed: 0, rows: 0, bytes: 0 };
    if (r.status === 'loaded') {
      s.windowsLoaded += 1;
      s.rows += r.rowsLoaded ?? 0;
      s.bytes += r.bytesDownloaded ?? 0;
    } else if (r.status === 'failed') {
      s.windowsFailed += 1;
      failures.push({ datasetId: r.datasetId, window: formatWindow(r.window), error: r.error ?? 'unknown error' });
    }
    byDataset.set(r.datasetId, s);
  }
  return { progress, datasets: [...byDataset.values()].sort((a, b) => a.datasetId.localeCompare(b.datasetId)), failures, ms };
}

/** One summary of several waits (a probe phase, then the rest). */
export function mergeSummaries(parts: RunSummary[]): RunSummary {
  const progress: WindowProgress = { total: 0, loaded: 0, failed: 0, exporting: 0, loading: 0, queued: 0 };
  const byDataset = new Map<string, DatasetSummary>();
  for (const part of parts) {
    for (const k of Object.keys(progress) as Array<keyof WindowProgress>) progress[k] += part.progress[k];
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
