import type { AppContext } from '../context.js';
import * as ledger from './export-ledger.js';

/** Longest pause between two status polls of one export. */
const MAX_POLL_DELAY_MS = 60_000;
/** A dataset's learned durations are read from the ledger again after this long (per process). */
const REFRESH_MS = 30_000;
/** …and this soon while it has no history yet (its first exports are finishing). */
const REFRESH_EMPTY_MS = 2_000;
/** Shortest step between polls once an export runs past its expected finish. */
const MIN_STEP_MS = 250;

interface Learned {
  readAt: number;
  /** Recent export durations of the dataset, ms per ms of window, sorted ascending. */
  perWindowMs: number[];
}

/** Per context: learned durations of each dataset (a cache of the ledger, not state). */
const cache = new WeakMap<AppContext, Map<string, Learned>>();

/**
 * How long an export of `window` of `datasetId` will likely take at Intercom, ms; null without
 * history. Learned from the ledger (enqueued_at → exported_at of the dataset's recent loaded
 * windows), scaled by window length. The low quartile, not the mean: `exported_at` is when we saw
 * the export finished, so every sample is the true duration plus up to one poll step of lateness.
 */
export async function expectedExportMs(ctx: AppContext, datasetId: string, windowMs: number): Promise<number | null> {
  let perDataset = cache.get(ctx);
  if (!perDataset) cache.set(ctx, (perDataset = new Map()));
  let learned = perDataset.get(datasetId);
  if (!learned || Date.now() - learned.readAt > (learned.perWindowMs.length === 0 ? REFRESH_EMPTY_MS : REFRESH_MS)) {
    const samples = await ledger.recentExportDurations(ctx.pool, datasetId);
    learned = { readAt: Date.now(), perWindowMs: samples.map((s) => s.ms / s.windowMs).sort((a, b) => a - b) };
    perDataset.set(datasetId, learned);
  }
  if (learned.perWindowMs.length === 0) return null;
  return learned.perWindowMs[Math.floor((learned.perWindowMs.length - 1) / 4)]! * windowMs;
}

/**
 * When to look at an export again, `runningForMs` after its enqueue. Without history: at the poll
 * interval, then half the time waited so far (capped at 60 s). With an expected duration:
 * at that time, then in short steps growing by half each poll — the sooner a finished export is
 * seen, the sooner its slot starts the next window, and few polls are spent before it.
 */
export function nextPollDelay(runningForMs: number, expectedMs: number | null, baseMs: number): number {
  if (expectedMs === null) return jitter(Math.min(MAX_POLL_DELAY_MS, Math.max(baseMs, runningForMs / 2)));
  // First look a little before the expectation: an export seen finished earlier than expected
  // lowers the next expectation, so a late start (the first polls had no history) corrects itself.
  const firstAt = expectedMs * 0.95;
  if (runningForMs < firstAt) return Math.max(MIN_STEP_MS, Math.round(firstAt - runningForMs));
  // Then steps of 5 % of it, growing with the time already past it. (Simulated over ±5 % export
  // jitter: ~2.4 polls per export, ~4 % of an export's time lost between its finish and the poll.)
  const late = Math.max(0, runningForMs - expectedMs);
  const step = Math.max(MIN_STEP_MS, expectedMs * 0.05 + late * 0.5);
  return Math.round(Math.min(MAX_POLL_DELAY_MS, step));
}

export function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}
