import type { AppContext } from '../context.js';
import * as ledger from './export-ledger.js';

/** Longest pause between two status polls of one export. */
const MAX_POLL_DELAY_MS = 60_000;
/** A dataset's learned durations are read from the ledger again after this long (per process). */
const REFRESH_MS = 30_000;
/** …and this soon while it has too little history (its first exports are finishing). */
const REFRESH_EMPTY_MS = 2_000;
/** Shortest step between polls once an export runs past its expected finish. */
const MIN_STEP_MS = 250;
/** Samples needed before the spread of a dataset's durations is trusted (fewer: one expectation). */
const MIN_SAMPLES_FOR_SPREAD = 4;
/** The 10th/90th percentile lies this many median absolute deviations from the median (even spread: 1.6). */
const MAD_TO_P10_P90 = 1.6;
/** The spread is taken as at least this share of the typical duration (steps never collapse to 0). */
const MIN_SPREAD_SHARE = 0.02;
/** Polls looking at the spread: a step is the spread divided by this. */
const POLLS_IN_SPREAD = 2.5;
/** The first poll comes this share of the spread before the usual earliest finish. */
const FIRST_POLL_MARGIN = 0.1;
/** Without history, the step between polls is this share of the time waited so far (a geometric schedule). */
const COLD_STEP_SHARE = 0.25;
/** …and the first poll comes no earlier than this share of the quickest recent export of another dataset. */
const COLD_FLOOR_SHARE = 0.8;
/** Exports of this process last seen running, by Intercom job id (see `noteRunning`); bounded. */
const MAX_RUNNING_NOTES = 1_000;

/**
 * What is known of a dataset's export durations for one window: the usual earliest (`lowMs`, the
 * 10th percentile) and latest (`highMs`, the 90th) finish. Equal when there are few samples.
 */
export interface ExpectedDuration {
  lowMs: number;
  highMs: number;
}

interface Learned {
  readAt: number;
  /** Recent export durations of the dataset, ms per ms of window, sorted ascending. */
  perWindowMs: number[];
}

/** Per context: learned durations of each dataset (a cache of the ledger, not state). */
const cache = new WeakMap<AppContext, Map<string, Learned>>();
/** Per context: the quickest recent export of another dataset, by dataset (ms per ms of window). */
const quickestCache = new WeakMap<AppContext, Map<string, { readAt: number; perWindowMs: number | null }>>();
/** Per context: when this process last saw an export still running (a hint for `finishedAtEstimate`). */
const lastSeenRunning = new WeakMap<AppContext, Map<string, number>>();

/**
 * How long an export of `window` of `datasetId` will likely take at Intercom; null without
 * history. Learned from the ledger (enqueued_at → exported_at of the dataset's recent loaded
 * windows, where `exported_at` is the finish as bracketed by the polls: see `finishedAtEstimate`),
 * scaled by window length.
 */
export async function expectedExportMs(ctx: AppContext, datasetId: string, windowMs: number): Promise<ExpectedDuration | null> {
  let perDataset = cache.get(ctx);
  if (!perDataset) cache.set(ctx, (perDataset = new Map()));
  let learned = perDataset.get(datasetId);
  const refreshMs = (learned?.perWindowMs.length ?? 0) < MIN_SAMPLES_FOR_SPREAD ? REFRESH_EMPTY_MS : REFRESH_MS;
  if (!learned || Date.now() - learned.readAt > refreshMs) {
    const samples = await ledger.recentExportDurations(ctx.pool, datasetId);
    learned = { readAt: Date.now(), perWindowMs: samples.map((s) => s.ms / s.windowMs).sort((a, b) => a - b) };
    perDataset.set(datasetId, learned);
  }
  return durationFromSamples(learned.perWindowMs, windowMs);
}

/**
 * For a dataset without history: how long its export of `window` takes at the least, as far as the
 * ledger tells — the quickest recent export of any other dataset, scaled to the window — or null.
 * Datasets differ (a bigger one is slower), so this only keeps the first polls from coming too early.
 */
export async function coldFloorMs(ctx: AppContext, datasetId: string, windowMs: number): Promise<number | null> {
  let perDataset = quickestCache.get(ctx);
  if (!perDataset) quickestCache.set(ctx, (perDataset = new Map()));
  let known = perDataset.get(datasetId);
  if (!known || Date.now() - known.readAt > REFRESH_EMPTY_MS) {
    known = { readAt: Date.now(), perWindowMs: await ledger.quickestOtherExport(ctx.pool, datasetId) };
    perDataset.set(datasetId, known);
  }
  return known.perWindowMs === null ? null : known.perWindowMs * windowMs;
}

/** The expectation from sorted samples (ms per ms of window); exported for tests. */
export function durationFromSamples(sorted: number[], windowMs: number): ExpectedDuration | null {
  const n = sorted.length;
  if (n === 0) return null;
  if (n < MIN_SAMPLES_FOR_SPREAD) {
    // Few samples: around the smallest (the others may carry the lateness of polls made without history).
    const ms = sorted[0]! * windowMs;
    return { lowMs: ms * 0.95, highMs: ms * 1.05 };
  }
  // The 10th and 90th percentiles, estimated as median ∓ 1.6 × the median absolute deviation
  // (exact for an even spread such as ±5 %): a few samples from polls made with little history
  // (their finish bracketed coarsely) do not stretch the spread, as they did the plain percentiles.
  const median = medianOf(sorted);
  const mad = medianOf(sorted.map((x) => Math.abs(x - median)).sort((a, b) => a - b));
  return { lowMs: (median - MAD_TO_P10_P90 * mad) * windowMs, highMs: (median + MAD_TO_P10_P90 * mad) * windowMs };
}

function medianOf(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * When to look at an export again, `runningForMs` after its enqueue. Without history: at the poll
 * interval, then half the time waited so far (capped at 60 s). With history: first just before the
 * usual earliest finish, then in steps of the spread / 2.5 up to the usual latest, then in steps growing
 * by half the time past it. An export found finished at the first poll records that poll's time;
 * later ones the middle between the last poll that saw them running and the first that saw them
 * finished — so the samples are not inflated by the polls' lateness and the schedule does not
 * drift later and later. (On the fake's ±5 % export jitter: ~2.7 polls per export, the slot idle
 * ~1.6 % of an export's time between its finish and the poll that sees it.)
 */
export function nextPollDelay(
  runningForMs: number,
  expected: ExpectedDuration | null,
  baseMs: number,
  coldFloor: number | null = null,
): number {
  if (expected === null) {
    const firstAt = coldFloor === null ? 0 : coldFloor * COLD_FLOOR_SHARE;
    if (runningForMs < firstAt - baseMs) return jitter(Math.round(firstAt - runningForMs));
    return jitter(Math.min(MAX_POLL_DELAY_MS, Math.max(baseMs, runningForMs * COLD_STEP_SHARE)));
  }
  const { lowMs, highMs } = expected;
  const spread = Math.max(highMs - lowMs, ((lowMs + highMs) / 2) * MIN_SPREAD_SHARE);
  // The first look a little before the usual earliest finish: an export found finished there records
  // that poll's time (nothing brackets it), so without the margin the samples would creep later.
  const firstAt = lowMs - spread * FIRST_POLL_MARGIN;
  if (runningForMs < firstAt - MIN_STEP_MS) return Math.round(firstAt - runningForMs);
  const late = Math.max(0, runningForMs - highMs);
  const step = Math.max(MIN_STEP_MS, spread / POLLS_IN_SPREAD + late * 0.5);
  return Math.round(Math.min(MAX_POLL_DELAY_MS, step));
}

/** Records that a poll just saw Intercom job `intercomJobId` still running (for `finishedAtEstimate`). */
export function noteRunning(ctx: AppContext, intercomJobId: string, at = Date.now()): void {
  let notes = lastSeenRunning.get(ctx);
  if (!notes) lastSeenRunning.set(ctx, (notes = new Map()));
  notes.delete(intercomJobId); // re-inserted last: the oldest notes (finished elsewhere, failed) go first
  notes.set(intercomJobId, at);
  if (notes.size > MAX_RUNNING_NOTES) notes.delete(notes.keys().next().value!);
}

/**
 * When Intercom job `intercomJobId`, seen finished at `seenAt`, most likely finished: midway since the
 * last poll of this process that saw it running; `seenAt` when there was none (the first poll, or
 * another process polled it before).
 */
export function finishedAtEstimate(ctx: AppContext, intercomJobId: string, seenAt: number): number {
  const notes = lastSeenRunning.get(ctx);
  const running = notes?.get(intercomJobId);
  notes?.delete(intercomJobId);
  return running === undefined || running > seenAt ? seenAt : Math.round((running + seenAt) / 2);
}

export function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}
